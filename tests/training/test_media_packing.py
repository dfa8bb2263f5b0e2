"""--packing / --padding_free on image rows (SmolVLM / Idefics3, LLaVA-1.5): a packed row carries its samples' images
in order, and its loss equals the token-weighted mean of each sample's loss alone, as for text packing
(test_packing.py); for LLaVA each sample's logits in the packed row equal its logits alone."""
import pytest
import torch

from swift.model.loader import load_tokenizer
from swift.template import get_template
from swift.training.collator import MediaCollator, PackedCollator, PackedMediaCollator, PaddingCollator
from swift.training.packed_attention import PACKED_SDPA, register_packed_sdpa
from swift.training.packing import IGNORE_INDEX, pack_samples
from swift.utils import SwiftError

from tests.helpers.shapes import noise_image


@pytest.fixture(scope='module')
def template(tiny_vlm_dir):
    tokenizer = load_tokenizer(str(tiny_vlm_dir))
    return get_template(tokenizer.model_info.template, tokenizer=tokenizer)


def _row(k: int, images: int) -> dict:
    tags = '<image>' * images
    return {'messages': [{'role': 'user', 'content': f'{tags}Which one is number {k}?'},
                         {'role': 'assistant', 'content': f'The answer is {k * 7} and {k} more words'}],
            'images': [noise_image(10 * k + i) for i in range(images)]}


@pytest.fixture(scope='module')
def samples(template):
    # one, two, zero and one images: a text-only sample in the middle of a pack too
    return [template.encode(_row(k, n)) for k, n in enumerate((1, 2, 0, 1))]


def _model(tiny_vlm_dir, attn):
    from transformers import AutoModelForImageTextToText
    if attn == PACKED_SDPA:
        register_packed_sdpa()
    torch.manual_seed(0)
    return AutoModelForImageTextToText.from_pretrained(str(tiny_vlm_dir), attn_implementation=attn).eval()


@torch.no_grad()
def token_weighted_loss(model, template, samples):
    """Each sample alone through the ordinary (unpacked) multimodal batch: sum of its trained tokens' CE / count."""
    total, count = 0.0, 0
    for sample in samples:
        batch = MediaCollator(PaddingCollator(template.tokenizer.pad_token_id), template)([sample])
        labels = batch.pop('labels')
        logits = model(**batch).logits[0]
        targets = labels[0, 1:]
        total += torch.nn.functional.cross_entropy(logits[:-1].float(), targets, ignore_index=IGNORE_INDEX,
                                                   reduction='sum').item()
        count += int((targets != IGNORE_INDEX).sum())
    return total / count


@pytest.mark.parametrize('attn', ['sdpa', 'eager', PACKED_SDPA])
def test_packed_image_row_loss_equals_each_sample_alone(tiny_vlm_dir, template, samples, attn):
    model = _model(tiny_vlm_dir, attn)
    packs = pack_samples(samples, max_length=sum(len(s['input_ids']) for s in samples))
    assert len(packs) == 1
    batch = PackedMediaCollator(PackedCollator(template.tokenizer.pad_token_id), template)(packs)
    assert tuple(batch['pixel_values'].shape[:2]) == (1, 4)  # the pack's 4 images in one row
    with torch.no_grad():
        packed = model(**batch).loss.item()
    assert packed == pytest.approx(token_weighted_loss(model, template, samples), abs=1e-4)


def test_padding_free_batch_and_padded_packs_equal_each_sample_alone(tiny_vlm_dir, template, samples):
    model = _model(tiny_vlm_dir, 'sdpa')
    expected = token_weighted_loss(model, template, samples)
    pad = template.tokenizer.pad_token_id
    padding_free = PackedMediaCollator(PackedCollator(pad, padding_free=True), template)(samples)
    assert padding_free['input_ids'].shape[0] == 1 and padding_free['pixel_values'].shape[1] == 4
    two_packs = PackedMediaCollator(PackedCollator(pad), template)([samples[:2], samples[2:]])
    assert tuple(two_packs['pixel_values'].shape[:2]) == (2, 3)  # 3 and 1 images, the second row zero-padded
    with torch.no_grad():
        assert model(**padding_free).loss.item() == pytest.approx(expected, abs=1e-4)
        assert model(**two_packs).loss.item() == pytest.approx(expected, abs=1e-4)


def test_images_follow_their_samples_in_the_pack(tiny_vlm_dir, template, samples):
    """The equality above can fail: the same pack with its samples' images handed over in the wrong order gives
    a different loss (the images reach the model, and the order is what matches them to their tokens)."""
    model = _model(tiny_vlm_dir, 'sdpa')
    batch = PackedMediaCollator(PackedCollator(template.tokenizer.pad_token_id), template)([samples])
    swapped = dict(batch, pixel_values=batch['pixel_values'].flip(1))
    with torch.no_grad():
        # more than the equality tests' tolerance above (1e-4)
        assert model(**swapped).loss.item() != pytest.approx(model(**batch).loss.item(), abs=1e-4)


def test_families_not_verified_on_packed_media_are_refused(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    gemma3 = get_template('gemma3_vl', tokenizer=tokenizer)  # its image tokens attend both ways: not tried packed
    with pytest.raises(SwiftError, match=r"--packing / --padding_free with template 'gemma3_vl'.*both ways"):
        gemma3.check_packing()
    mllama = get_template('llama3_2_vision', tokenizer=tokenizer)  # cross-attention: not tried packed
    with pytest.raises(SwiftError, match=r"'llama3_2_vision'.*verified only for SmolVLM"):
        mllama.check_packing()


@pytest.fixture(scope='module')
def llava(tmp_path_factory, shared_data, smollm_dir):
    from tests.helpers.tiny_vlm_families import build_llava
    out = build_llava(shared_data / 'vlm_configs' / 'llava-hf__llava-1.5-7b-hf', smollm_dir,
                      tmp_path_factory.mktemp('packed-llava') / 'model')
    return out, get_template('llava1_5', tokenizer=load_tokenizer(str(out)))


def test_llava_padding_free_logits_equal_each_sample_alone(llava):
    """LLaVA-1.5 (tiny random, tests/helpers/tiny_vlm_families.py): the padding-free row of four samples (1, 2, 0
    and 1 images) gives each sample the logits it has alone; the same row with its images in reverse order does
    not (the order is what matches images to their samples' tokens)."""
    from transformers import AutoModelForImageTextToText
    model_dir, template = llava
    pad = template.tokenizer.pad_token_id
    model = AutoModelForImageTextToText.from_pretrained(str(model_dir), attn_implementation='sdpa').eval()
    samples = [template.encode(_row(k, n)) for k, n in enumerate((1, 2, 0, 1))]
    batch = PackedMediaCollator(PackedCollator(pad, padding_free=True), template)(samples)
    assert batch['input_ids'].shape[0] == 1 and batch['pixel_values'].shape[0] == 4
    batch.pop('labels')
    with torch.no_grad():
        packed = model(**batch).logits[0]
        start = 0
        for sample in samples:
            alone = MediaCollator(PaddingCollator(pad), template)([sample])
            alone.pop('labels')
            end = start + len(sample['input_ids'])
            torch.testing.assert_close(packed[start:end], model(**alone).logits[0], atol=1e-4, rtol=0)
            start = end
        swapped = model(**dict(batch, pixel_values=batch['pixel_values'].flip(0))).logits[0]
    assert not torch.allclose(swapped, packed, atol=1e-3)


def test_sft_trains_packed_and_padding_free_image_rows(tiny_vlm_dir, llava, tmp_path):
    """--packing on SmolVLM, --padding_free on LLaVA-1.5 (one run each: the two share PackedMediaCollator)."""
    from swift.training.sft import sft_main
    from tests.helpers.shapes import make_rows, write_jsonl
    train = write_jsonl(tmp_path / 'train.jsonl', make_rows(tmp_path, 6, seed=3, kinds=('colour', )))
    common = dict(dataset=[str(train)], tuner_type='full', max_steps=1,
                  per_device_train_batch_size=2, save_steps=10000, report_to=[], max_length=256)
    for flag, model in (('packing', tiny_vlm_dir), ('padding_free', llava[0])):
        result = sft_main(model=str(model), output_dir=str(tmp_path / flag), **{flag: True}, **common)
        assert result.last_checkpoint.endswith('checkpoint-1')
        assert all(torch.isfinite(torch.tensor(e['loss'])) for e in result.log_history if 'loss' in e)
