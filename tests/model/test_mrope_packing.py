"""--packing / --padding_free on rows of M-RoPE models (swift/model/mrope_packing.py): in a packed row each sample gets
the 3-D rotary positions it has alone, so each sample's logits in the packed row equal its logits alone — for
Qwen2-VL, Qwen2.5-VL (a video sample: seconds per temporal patch), Qwen3-VL (per-frame video timestamps) and GLM-4.1V
(images; videos), images of different sizes, a text-only sample in the middle; without the per-sample positions
they do not. `swift sft --padding_free` logs the unpacked batch's loss on qwen2-vl-tiny."""
import pytest
import torch

from swift.model.mrope_packing import attach_packed_mrope
from swift.template import get_template
from swift.training.collator import MediaCollator, PackedCollator, PackedMediaCollator, PaddingCollator
from swift.training.packed_attention import PACKED_SDPA, register_packed_sdpa

from tests.helpers.av_media import colour_video
from tests.helpers.shapes import noise_image

ALIASES = {'qwen2_vl': 'qwen2-vl-tiny', 'qwen2_5_vl': 'qwen2.5-vl-tiny', 'qwen3_vl': 'qwen3-vl-tiny'}


# images of different sizes (different grids, different 3-D extents): 1 / 2 / 0 images, a video, 1 image; GLM-4V's
# forward takes no batch mixing images and videos, so its packs hold images or videos (and text-only samples)
MIXED = [([(56, 56)], False), ([(56, 84), (28, 56)], False), ([], False), ([], True), ([(84, 56)], False)]
ROWS = {'glm4v': [row if not row[1] else ([], False) for row in MIXED],
        'glm4v-video': [([], True), ([], False), ([], True)]}


@pytest.fixture(scope='module')
def glm4v_dir(tmp_path_factory, smollm_dir):
    """GLM-4.1V: the tests' tiny random model (tests/helpers/tiny_vlm_families.py)."""
    from tests.helpers.tiny_vlm_families import build_glm4v
    return build_glm4v(smollm_dir, tmp_path_factory.mktemp('glm4v') / 'model')


@pytest.fixture(scope='module', params=sorted(ALIASES) + sorted(ROWS))
def family(request, tmp_path_factory, glm4v_dir):
    from swift.model.loader import load_tokenizer
    from swift.model.tiny_vlm import built_model_dir
    model_dir = glm4v_dir if request.param.startswith('glm4v') else built_model_dir(ALIASES[request.param])
    tokenizer = load_tokenizer(str(model_dir))
    template = get_template(tokenizer.model_info.template, tokenizer=tokenizer)
    video = colour_video(tmp_path_factory.mktemp('video') / 'v.mp4', [(255, 0, 0), (0, 0, 255)], frames_each=2)
    rows = ROWS.get(request.param, MIXED)
    samples = []
    for k, (sizes, with_video) in enumerate(rows):
        tags = '<image>' * len(sizes) + ('<video>' if with_video else '')
        row = {'messages': [{'role': 'user', 'content': f'{tags}Which one is number {k}?'},
                            {'role': 'assistant', 'content': f'The answer is {k * 7} and {k} more words'}],
               'images': [noise_image(10 * k + i, size) for i, size in enumerate(sizes)]}
        if with_video:
            row['videos'] = [str(video)]
        samples.append(template.encode(row))
    return request.param, model_dir, template, samples


def _model(model_dir, attn='sdpa'):
    from transformers import AutoModelForImageTextToText
    if attn == PACKED_SDPA:
        register_packed_sdpa()
    return AutoModelForImageTextToText.from_pretrained(str(model_dir), attn_implementation=attn).eval()


@torch.no_grad()
def _alone(model, template, samples):
    """Each sample's logits through the ordinary (unpacked) batch of one."""
    return [model(**{k: v for k, v in MediaCollator(PaddingCollator(template.tokenizer.pad_token_id), template)(
        [sample]).items() if k != 'labels'}).logits[0] for sample in samples]


@torch.no_grad()
def _packed(model, batch):
    return model(**{k: v for k, v in batch.items() if k != 'labels'}).logits


def _split(logits, samples):
    out, start = [], 0
    for sample in samples:
        out.append(logits[start:start + len(sample['input_ids'])])
        start += len(sample['input_ids'])
    return out


@pytest.mark.parametrize('attn', ['sdpa', PACKED_SDPA])
def test_padding_free_row_gives_each_sample_its_logits_alone(family, attn):
    name, model_dir, template, samples = family
    model = _model(model_dir, attn)
    expected = _alone(model, template, samples)
    batch = PackedMediaCollator(PackedCollator(template.tokenizer.pad_token_id, padding_free=True), template)(samples)
    assert batch['input_ids'].shape[0] == 1 and 'mm_token_type_ids' in batch
    handle = attach_packed_mrope(model)
    assert handle is not None
    try:
        packed = _packed(model, batch)[0]
    finally:
        handle.remove()
    for i, (got, want) in enumerate(zip(_split(packed, samples), expected)):
        assert torch.allclose(got, want, atol=1e-5), f'{name} sample {i}: {(got - want).abs().max()}'
    if 'image_grid_thw' in batch:
        # the same row without per-sample M-RoPE positions: image tokens get 1-D positions. (Not for the GLM-4V
        # video pack: its tiny video processor makes each frame one merged token, whose 3-D position is its 1-D one.)
        unhooked = _split(_packed(model, batch)[0], samples)
        assert max((got - want).abs().max().item() for got, want in zip(unhooked, expected)) > 1e-3


def test_each_sample_gets_the_positions_it_has_alone(family):
    """Exactly (integers): the packed row's M-RoPE positions, sample by sample, are get_rope_index's for the sample
    alone (numbering the row as one sequence would shift every later sample's, which the logits barely show)."""
    from swift.model.mrope_packing import _rope_owner, packed_mrope_positions
    name, model_dir, template, samples = family
    owner = _rope_owner(_model(model_dir))
    batch = PackedMediaCollator(PackedCollator(template.tokenizer.pad_token_id, padding_free=True), template)(samples)
    extra = {k: batch[k] for k in ('second_per_grid_ts', ) if k in batch}
    packed = packed_mrope_positions(owner.get_rope_index, batch['input_ids'], batch['position_ids'],
                                    batch['mm_token_type_ids'], batch.get('image_grid_thw'),
                                    batch.get('video_grid_thw'), **extra)
    assert packed.shape == (4, *batch['input_ids'].shape)
    assert torch.equal(packed[0], batch['position_ids'])
    start = 0
    for i, sample in enumerate(samples):
        alone = MediaCollator(PaddingCollator(template.tokenizer.pad_token_id), template)([sample])
        if 'mm_token_type_ids' in alone and ('image_grid_thw' in alone or 'video_grid_thw' in alone):
            want, _ = owner.get_rope_index(alone['input_ids'], alone['mm_token_type_ids'],
                                           alone.get('image_grid_thw'), alone.get('video_grid_thw'),
                                           **{k: alone[k] for k in extra if k in alone})
        else:  # a text-only sample: 1-D positions on every axis
            want = torch.arange(len(sample['input_ids'])).expand(3, 1, -1)
        end = start + len(sample['input_ids'])
        assert torch.equal(packed[1:, 0, start:end], want[:, 0]), f'{name} sample {i}'
        start = end
    assert start == batch['input_ids'].shape[1]


def test_padded_packs_give_each_sample_its_logits_alone(family):
    """Two packed rows (the second padded): the media of both rows are laid out row after row."""
    name, model_dir, template, samples = family
    model = _model(model_dir)
    expected = _alone(model, template, samples)
    packs = [samples[:2], samples[2:]]
    batch = PackedMediaCollator(PackedCollator(template.tokenizer.pad_token_id), template)(packs)
    handle = attach_packed_mrope(model)
    try:
        logits = _packed(model, batch)
    finally:
        handle.remove()
    got = _split(logits[0], packs[0]) + _split(logits[1], packs[1])
    for i, (g, want) in enumerate(zip(got, expected)):
        assert torch.allclose(g, want, atol=1e-5), f'{name} sample {i}: {(g - want).abs().max()}'


def test_no_hook_for_a_model_without_mrope(tiny_vlm_dir):
    assert attach_packed_mrope(_model(tiny_vlm_dir)) is None


def test_sft_trains_packed_and_padding_free_qwen_vl_rows(tmp_path):
    """`swift sft --padding_free` logs the first step's loss of the same batch unpacked (the hook is attached for the
    run: with 1-D positions on the image tokens the loss differs); `--packing` trains a step."""
    from swift.training.sft import sft_main

    from tests.helpers.shapes import make_rows, write_jsonl
    rows = make_rows(tmp_path, 6, seed=5, kinds=('colour', ))
    data = str(write_jsonl(tmp_path / 'train.jsonl', rows))
    losses = {}
    for flag in ('padded', 'packing', 'padding_free'):
        result = sft_main(model='qwen2-vl-tiny', dataset=[data], **({flag: True} if flag != 'padded' else {}),
                          max_length=512, max_steps=1, per_device_train_batch_size=2,
                          output_dir=str(tmp_path / flag), save_steps=10000, save_only_model=True, logging_steps=1,
                          report_to=[], seed=0)
        losses[flag] = result.log_history[0]['loss']
    assert losses['packing'] > 0
    # equal here to the last bit; with 1-D positions on the image tokens 3.4e-5 apart on this tiny model
    assert losses['padding_free'] == pytest.approx(losses['padded'], abs=5e-6)
