"""MiniCPM-V 4.6 and 4.7 on tiny random models (tests/helpers/tiny_vlm_families.py::build_minicpmv4_6: the real
MiniCPMV4_6 / MiniCPMV4_7ForConditionalGeneration with a Qwen3.5 LM of one Gated DeltaNet and one full-attention
layer): swift's loader, the template, the encoding against transformers' own processor __call__, a training step,
and (4.6) the engine against `model.generate`. MiniCPM-V 2.6 (remote code): the refusals and the argument building.
"""
import pytest
import torch
from PIL import Image

from swift.model.loader import get_model_tokenizer
from swift.template import get_template
from swift.utils import SwiftError

from tests.helpers.generate_reference import engine_beside_text
from tests.helpers.tiny_vlm_families import build_minicpmv4_6

pytestmark = pytest.mark.xdist_group('minicpmv4_6')


@pytest.fixture(scope='module')
def built(tmp_path_factory, smollm_dir):
    """version → (model directory, (model, tokenizer) loaded through swift's loader), built once for the module."""
    cache = {}

    def build(version):
        if version not in cache:
            out = build_minicpmv4_6(smollm_dir, tmp_path_factory.mktemp(f'minicpmv{version}') / 'model', version)
            cache[version] = out, get_model_tokenizer(str(out), torch_dtype='float32')
        return cache[version]
    return build


@pytest.fixture(scope='module')
def model_dir(built):
    return built('4_6')[0]


@pytest.fixture(scope='module')
def loaded(built):
    return built('4_6')[1]


@pytest.fixture(scope='module', params=['4_6', '4_7'])
def family(request, built):
    """(model type, model, tokenizer) of each MiniCPM-V version transformers implements."""
    return ('minicpmv' + request.param, *built(request.param)[1])


def _images():
    # a wide image (cut into 2 slices beside its overview) and a small one (no slices); noise, not a flat colour
    return [Image.effect_noise((200, 120), 60).convert('RGB'), Image.effect_noise((40, 30), 60).convert('RGB')]


def _row():
    return {'messages': [{'role': 'user', 'content': '<image>Compare<image>'},
                         {'role': 'assistant', 'content': 'noise'}], 'images': _images()}


def test_loads_as_its_family_with_its_parts_named(family):
    model_type, model, tokenizer = family
    info = tokenizer.model_info
    version = model_type[len('minicpmv'):]
    assert (info.model_type, info.template, type(info.processor).__name__, type(model).__name__) == (
        model_type, model_type, f'MiniCPMV{version.replace("_", "")}ImageProcessor',
        f'MiniCPMV{version}ForConditionalGeneration')
    from swift.model.registry import get_model_meta
    arch = get_model_meta(model_type).model_arch
    # the prefixes --freeze_vit / --freeze_aligner / --freeze_llm act on are the real modules
    assert type(model.get_submodule(arch.vision_tower[0])).__name__ == f'MiniCPMV{version}VisionModel'
    assert type(model.get_submodule(arch.aligner[0])).__name__ == f'MiniCPMV{version}Merger'
    assert type(model.get_submodule(arch.language_model[0])).__name__ == 'Qwen3_5TextModel'


def test_the_part_flags_freeze_the_parts_they_name(loaded):
    """--freeze_llm / --freeze_vit / --freeze_aligner through swift's tuner code on MiniCPM-V 4.6's prefixes: each
    combination leaves exactly the named parts trainable (the lm_head goes with the language model)."""
    from types import SimpleNamespace

    from swift.tuners.multimodal import apply_part_freezing
    model = loaded[0]
    parts = {'model.vision_tower.': 'vit', 'model.merger.': 'aligner', 'model.language_model.': 'llm',
             'lm_head.': 'llm'}

    def trainable(**flags):
        for param in model.parameters():
            param.requires_grad_(True)
        apply_part_freezing(model, SimpleNamespace(**flags))
        found = {part for name, p in model.named_parameters() if p.requires_grad
                 for prefix, part in parts.items() if name.startswith(prefix)}
        assert all(any(n.startswith(prefix) for prefix in parts) for n, _ in model.named_parameters())
        return found
    try:
        assert trainable(freeze_llm=False, freeze_vit=True, freeze_aligner=True) == {'llm'}  # ms-swift's default
        assert trainable(freeze_llm=True, freeze_vit=False, freeze_aligner=True) == {'vit'}
        assert trainable(freeze_llm=True, freeze_vit=True, freeze_aligner=False) == {'aligner'}
    finally:
        for param in model.parameters():
            param.requires_grad_(True)


def test_template_renders_chatml_with_images_and_qwen3_think_blocks(loaded):
    """ms-swift's minicpmv4_6 rendering: `<|image_pad|>\\n` in place of each image, Qwen3's think blocks."""
    template = get_template('minicpmv4_6', tokenizer=loaded[1])
    messages = [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': '<image>What?'},
                {'role': 'assistant', 'content': 'A cat.'}, {'role': 'user', 'content': 'And <image>this?'}]
    assert template.render(messages, add_generation_prompt=True, enable_thinking=False) == (
        '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n<|image_pad|>\nWhat?<|im_end|>\n'
        '<|im_start|>assistant\nA cat.<|im_end|>\n<|im_start|>user\nAnd <|image_pad|>\nthis?<|im_end|>\n'
        '<|im_start|>assistant\n<think>\n\n</think>\n\n')
    assert template.render(_row()['messages']) == (
        '<|im_start|>user\n<|image_pad|>\nCompare<|image_pad|>\n<|im_end|>\n'
        '<|im_start|>assistant\n<think>\n\n</think>\n\nnoise<|im_end|>\n')
    parts = [{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': 'Compare'}, {'type': 'image'}]}]
    assert template.render(parts) == template.render([{'role': 'user', 'content': '<image>Compare<image>'}])


def test_encoding_equals_the_transformers_processor(family):
    """MiniCPMV4_6Processor / MiniCPMV4_7Processor.__call__ (transformers' code, run on swift's torchvision-free
    instance of it) on our rendered texts gives the batch's ids (left padding, as it pads), NaViT-packed pixel values
    and target sizes, and 4.7's mm_token_type_ids."""
    model_type, _, tokenizer = family
    template = get_template(model_type, tokenizer=tokenizer)
    rows = [_row(), {'messages': [{'role': 'user', 'content': 'Only <image>one'}], 'images': _images()[1:]}]
    encoded = [template.encode(row) for row in rows]
    assert all(set(e['labels'][s:t]) == {-100} for e in encoded for s, t in e['media_spans'])
    length = max(len(e['input_ids']) for e in encoded)
    ids = torch.tensor([[tokenizer.pad_token_id] * (length - len(e['input_ids'])) + e['input_ids'] for e in encoded])
    ours = template.collate_media(encoded, input_ids=ids)
    processor = tokenizer.model_info.processor
    reference = processor(text=[template.render(row['messages']) for row in rows],
                          images=[image for row in rows for image in row['images']], add_special_tokens=False,
                          return_tensors='pt')
    assert torch.equal(reference['input_ids'], ids)
    assert torch.equal(reference['target_sizes'], ours['target_sizes'])
    assert torch.allclose(reference['pixel_values'], ours['pixel_values'])
    assert ('mm_token_type_ids' in ours) == (model_type == 'minicpmv4_7')
    if 'mm_token_type_ids' in ours:
        assert torch.equal(reference['mm_token_type_ids'], ours['mm_token_type_ids'])
    assert len(ours['target_sizes']) == 5  # the wide image's overview and 2 slices, 1 for each small image


def test_max_slice_nums_controls_the_slices_and_pixel_bounds_are_refused(loaded, monkeypatch):
    _, tokenizer = loaded
    row = {'messages': [{'role': 'user', 'content': '<image>'}], 'images': _images()[:1]}
    monkeypatch.setenv('MAX_SLICE_NUMS', '1')
    assert len(get_template('minicpmv4_6', tokenizer=tokenizer).encode(row)['target_sizes']) == 1
    monkeypatch.delenv('MAX_SLICE_NUMS')
    monkeypatch.setenv('MAX_PIXELS', '50000')
    with pytest.raises(SwiftError, match='MAX_PIXELS .*controls it takes: MAX_SLICE_NUMS'):
        get_template('minicpmv4_6', tokenizer=tokenizer)


def test_one_training_step_changes_the_vision_tower(family):
    model_type, model, tokenizer = family
    template = get_template(model_type, tokenizer=tokenizer)
    encoded = template.encode(_row())
    ids = torch.tensor([encoded['input_ids']])
    batch = {'input_ids': ids, 'labels': torch.tensor([encoded['labels']]),
             'attention_mask': torch.tensor([encoded['attention_mask']]),
             **template.collate_media([encoded], input_ids=ids)}
    tower = model.model.vision_tower
    before = [p.detach().clone() for p in tower.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    loss = model(**batch).loss  # the forward checks the image tokens against the merger's features
    assert torch.isfinite(loss)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    model.eval()
    assert sum(not torch.equal(b, p) for b, p in zip(before, tower.parameters())) > len(before) // 2


def test_the_engine_refuses_the_gated_deltanet_layers_by_name(loaded):
    """The released checkpoints' Qwen3.5 LM mixes Gated DeltaNet (linear-attention) layers with attention layers,
    whose recurrent state TransformersEngine's batch cache does not hold: it says so instead of decoding wrongly."""
    from swift.infer.transformers_engine import TransformersEngine
    with pytest.raises(SwiftError, match='linear_attention layers. Use --infer_backend vllm'):
        TransformersEngine(*loaded)


def test_the_engine_answers_an_image_request_like_generate(model_dir, loaded):
    """With attention layers only (the same tiny architecture otherwise, built in memory), TransformersEngine
    decodes an image request batched with a text-only one with `model.generate`'s greedy tokens."""
    from transformers import AutoConfig, MiniCPMV4_6ForConditionalGeneration

    from swift.infer.protocol import InferRequest
    tokenizer = loaded[1]
    config = AutoConfig.from_pretrained(str(model_dir))
    config.text_config.layer_types = ['full_attention'] * config.text_config.num_hidden_layers
    torch.manual_seed(0)
    model = MiniCPMV4_6ForConditionalGeneration(config).eval()
    model.model_info = tokenizer.model_info
    request = InferRequest(messages=[{'role': 'user', 'content': '<image>What?'}], images=_images()[:1])
    choice, (tokens, _) = engine_beside_text(model, tokenizer, request, 5,
                                             tokenizer.convert_tokens_to_ids('<|video_pad|>'))
    assert choice.message.content == tokenizer.decode(tokens, skip_special_tokens=True)


# ---- MiniCPM-V 2.6: remote code (verified: no; no checkpoint with its code is available here) ----

def _minicpmv2_6_dir(path, auto_map):
    import json
    path.mkdir()
    config = {'architectures': ['MiniCPMV'], 'model_type': 'minicpmv', **({'auto_map': auto_map} if auto_map else {})}
    (path / 'config.json').write_text(json.dumps(config))
    return path


def test_minicpmv2_6_without_its_code_or_without_trust_is_refused_saying_what_to_do(tmp_path):
    bare = _minicpmv2_6_dir(tmp_path / 'bare', None)
    with pytest.raises(SwiftError, match='names none \\(no auto_map AutoModel entry\\).*minicpmv4_6'):
        get_model_tokenizer(str(bare), model_type='minicpmv2_6', load_model=False)
    shipped = _minicpmv2_6_dir(tmp_path / 'shipped', {'AutoModel': 'modeling_minicpmv.MiniCPMV'})
    with pytest.raises(SwiftError, match='lacks modeling_minicpmv.py'):
        get_model_tokenizer(str(shipped), model_type='minicpmv2_6', load_model=False)
    (shipped / 'modeling_minicpmv.py').write_text('# the repository code would be here\n')
    with pytest.raises(SwiftError, match='modeling_minicpmv.MiniCPMV.*--trust_remote_code true'):
        get_model_tokenizer(str(shipped), model_type='minicpmv2_6', load_model=False)


def test_minicpmv2_6_renders_its_image_tag_and_refuses_a_processor_without_its_api(loaded):
    """The template writes `(<image>./</image>)\\n` per image (its model card's format); encoding needs the remote
    MiniCPMVImageProcessor's API (get_slice_image_placeholder), and another processor is refused by name."""
    tokenizer = loaded[1]
    template = get_template('minicpmv2_6', tokenizer=tokenizer)  # its processor: MiniCPM-V 4.6's
    assert template.render([{'role': 'user', 'content': '<image>What?'}], add_generation_prompt=True) == (
        '<|im_start|>user\n(<image>./</image>)\nWhat?<|im_end|>\n<|im_start|>assistant\n')
    with pytest.raises(SwiftError, match='MiniCPMVImageProcessor, remote code.*--trust_remote_code true'):
        template.encode({'messages': [{'role': 'user', 'content': '<image>What?'}], 'images': _images()[1:]})


def test_minicpmv2_6_batch_arguments_follow_the_remote_model(loaded):
    """MiniCPMV.get_vllm_embedding reads pixel_values / tgt_sizes / image_bound per row (an empty entry for a row
    without images) and scatters the queries into image_bound's `<unk>` runs, as ms-swift builds them."""
    from swift.template.templates.minicpmv import MiniCPMV26Plugin, unk_runs
    plugin = MiniCPMV26Plugin()
    slices = [torch.zeros(3, 14, 28), torch.zeros(3, 14, 14)]
    assert plugin.collate('pixel_values', [[slices], None]) == [slices, []]
    sizes = plugin.collate('tgt_sizes', [None, [torch.tensor([[1, 2], [1, 1]])]])
    assert sizes[0] == [] and torch.equal(sizes[1], torch.tensor([[1, 2], [1, 1]]))
    assert plugin.collate('pixel_values', [None, None]) is None
    assert unk_runs([5, 0, 0, 7, 0, 9, 0, 0, 0], unk=0).tolist() == [[1, 3], [4, 5], [6, 9]]
    assert unk_runs([5, 7], unk=0).shape == (0, 2)
