"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL images: `<|image_pad|>` expanded to image_grid_thw.prod() / merge_size² tokens
(Qwen2VLProcessor's count), the media size controls (MAX_PIXELS, MIN_PIXELS, IMAGE_MAX_TOKEN_NUM, --model_kwargs)
setting the image processor's pixel bounds, and mm_token_type_ids for the model's 3-D rotary positions, laid out
like the padded batch on either padding side."""
import pytest
from PIL import Image

from swift.template import get_template
from swift.utils import SwiftError


@pytest.fixture(scope='module')
def tokenizer():
    from swift.model.loader import get_model_tokenizer
    from swift.model.tiny_qwen_vl import ensure_qwen2_vl_tiny
    ensure_qwen2_vl_tiny()
    return get_model_tokenizer('qwen2-vl-tiny', load_model=False)[1]


def _row(*sizes):
    return {'messages': [{'role': 'user', 'content': '<image>' * len(sizes) + 'What is it?'},
                         {'role': 'assistant', 'content': 'a dot'}],
            'images': [Image.new('RGB', size, (200, 10, 10)) for size in sizes]}


def _expected_tokens(image_processor, size, min_pixels=None, max_pixels=None):
    """Qwen2VLProcessor._get_num_multimodal_tokens: the image processor's patch count / merge_size²."""
    kwargs = {key: value for key, value in (('min_pixels', min_pixels), ('max_pixels', max_pixels)) if value}
    width, height = size
    return image_processor.get_number_of_image_patches(height, width, kwargs) // image_processor.merge_size**2


@pytest.mark.parametrize('sizes', [[(128, 128)], [(200, 60)], [(30, 30), (90, 400)]])
def test_image_pads_match_the_processor_count(tokenizer, sizes):
    template = get_template('qwen2_vl', tokenizer=tokenizer)
    encoded = template.encode(_row(*sizes))
    image_processor = template.processor.image_processor
    pad = tokenizer.convert_tokens_to_ids('<|image_pad|>')
    counts = [end - start for start, end in encoded['media_spans']]
    assert counts == [_expected_tokens(image_processor, s) for s in sizes]
    assert encoded['input_ids'].count(pad) == sum(counts)
    assert [int(g.prod()) // 4 for g in encoded['image_grid_thw']] == counts
    assert encoded['pixel_values'].shape == (int(encoded['image_grid_thw'].prod(-1).sum()), 3 * 2 * 14 * 14)
    assert all(label == -100 for i, label in enumerate(encoded['labels']) if encoded['input_ids'][i] == pad)
    text = tokenizer.decode(encoded['input_ids'])
    assert text.count('<|vision_start|>') == len(sizes) and '<|vision_start|><|image_pad|>' in text


def test_media_controls_set_the_pixel_bounds(tokenizer, monkeypatch):
    size = (400, 400)
    image_processor = get_template('qwen2_vl', tokenizer=tokenizer).processor.image_processor

    def count(**media_kwargs):
        template = get_template('qwen2_vl', tokenizer=tokenizer, media_kwargs=media_kwargs or None)
        span = template.encode(_row(size))['media_spans'][0]
        return span[1] - span[0]

    assert count() == _expected_tokens(image_processor, size) == 4  # the tiny model's own bound: 56x56 pixels
    assert count(max_pixels=112 * 112) == _expected_tokens(image_processor, size, max_pixels=112 * 112) == 16
    assert count(image_max_token_num=9) == 9  # max_pixels = 9 x 28²
    assert count(image_max_token_num=64, max_pixels=112 * 112) == 16  # the smaller bound wins
    monkeypatch.setenv('MAX_PIXELS', str(84 * 84))
    assert count() == 9
    assert count(max_pixels=112 * 112) == 16  # --model_kwargs wins over the environment
    monkeypatch.setenv('MIN_PIXELS', str(200 * 200))
    with pytest.raises(SwiftError, match='min_pixels 40000 is above max_pixels 7056'):
        count()


def test_qwen3_vl_patch_16(tokenizer):
    """Qwen3-VL's image processor has 16-pixel patches (factor 32): the same expansion rule."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from swift.model.qwen_vl_processor import QwenVLImageProcessor
    image_processor = Qwen2VLImageProcessorPil(patch_size=16, min_pixels=32 * 32, max_pixels=96 * 96)
    template = get_template('qwen3_vl', tokenizer=tokenizer)
    template.processor = QwenVLImageProcessor(image_processor, tokenizer)
    encoded = template.encode(_row((300, 150)))
    grid = encoded['image_grid_thw'][0].tolist()
    assert grid[1] * 16 * grid[2] * 16 <= 96 * 96 and encoded['pixel_values'].shape[1] == 3 * 2 * 16 * 16
    assert encoded['media_spans'][0][1] - encoded['media_spans'][0][0] == grid[1] * grid[2] // 4 \
        == _expected_tokens(image_processor, (300, 150))


@pytest.mark.parametrize('side', ['right', 'left'])
def test_mm_token_type_ids_follow_the_padding(tokenizer, side):
    """The collated batch's mm_token_type_ids mark exactly the image pads, wherever padding puts them, so the
    model's get_rope_index gives each row the same 3-D positions as when it is alone."""
    import torch
    from transformers import Qwen2VLConfig
    from transformers.models.qwen2_vl.modeling_qwen2_vl import Qwen2VLModel

    from swift.model.tiny_qwen_vl import ensure_qwen2_vl_tiny
    from swift.training.collator import MediaCollator, PaddingCollator
    template = get_template('qwen2_vl', tokenizer=tokenizer)
    rows = [template.encode(_row((56, 56))), template.encode(_row((200, 60), (60, 60)))]
    batch = MediaCollator(PaddingCollator(tokenizer.pad_token_id, padding_side=side), template)(rows)
    pad = tokenizer.convert_tokens_to_ids('<|image_pad|>')
    assert torch.equal(batch['mm_token_type_ids'].bool(), batch['input_ids'] == pad)
    assert torch.equal(batch['mm_token_type_ids'] * batch['attention_mask'], batch['mm_token_type_ids'])
    # transformers' own get_rope_index, on the tiny model's config (no weights needed)
    methods = {name: Qwen2VLModel.__dict__[name] for name in ('get_rope_index', 'get_vision_position_ids')}
    rope = type('Rope', (), {'config': Qwen2VLConfig.from_pretrained(str(ensure_qwen2_vl_tiny())), **methods})()
    rope = rope.get_rope_index
    positions, _ = rope(batch['input_ids'], batch['mm_token_type_ids'], batch['image_grid_thw'],
                        attention_mask=batch['attention_mask'])
    grids = iter(batch['image_grid_thw'])
    for i, row in enumerate(rows):
        ids = torch.tensor([row['input_ids']])
        alone, _ = rope(ids, template.token_inputs(ids)['mm_token_type_ids'],
                        torch.stack([next(grids) for _ in row['media_spans']]))
        real = batch['attention_mask'][i].bool()
        assert torch.equal(positions[:, i, real], alone[:, 0])
