"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL videos in the template: `<|video_pad|>` expanded to video_grid_thw.prod() /
merge_size² tokens (Qwen2VLProcessor.replace_video_token's count), the video controls (FPS, FPS_MAX_FRAMES,
FPS_MIN_FRAMES, VIDEO_MIN_PIXELS, VIDEO_MAX_PIXELS; --model_kwargs wins over the environment), Qwen2.5-VL's
second_per_grid_ts, Qwen3-VL's timestamped frames (transformers' Qwen3VLProcessor.replace_video_token), and
mm_token_type_ids 2 on video tokens giving transformers' get_rope_index the same positions in a padded batch."""
import pytest

from swift.template import get_template

from tests.helpers.av_media import COLOURS, colour_video

SMALL = {'video_min_pixels': 28 * 28, 'video_max_pixels': 28 * 28}  # 28 x 28 frames: one token per 2 frames


@pytest.fixture(scope='module')
def tokenizer():
    from swift.model.loader import get_model_tokenizer
    from swift.model.tiny_qwen_vl import ensure_qwen2_vl_tiny
    ensure_qwen2_vl_tiny()
    return get_model_tokenizer('qwen2-vl-tiny', load_model=False)[1]


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    """3 s at 4 fps, 64 px: red, green, blue for a second each (12 frames)."""
    path = tmp_path_factory.mktemp('qwen-video') / 'rgb.mp4'
    return str(colour_video(path, [COLOURS['red'], COLOURS['green'], COLOURS['blue']], fps=4, frames_each=4, size=64))


def _row(video, question='Which colour comes first?'):
    return {'messages': [{'role': 'user', 'content': '<video>' + question}, {'role': 'assistant', 'content': 'red'}],
            'videos': [video]}


def _encode(tokenizer, video, name='qwen2_vl', **media_kwargs):
    return get_template(name, tokenizer=tokenizer, media_kwargs=media_kwargs or None).encode(_row(video))


def test_video_pads_match_the_grid(tokenizer, video):
    template = get_template('qwen2_vl', tokenizer=tokenizer, media_kwargs={'video_max_pixels': 56 * 56,
                                                                           'video_min_pixels': 28 * 28})
    encoded = template.encode(_row(video))
    pad = tokenizer.convert_tokens_to_ids('<|video_pad|>')
    grid = encoded['video_grid_thw'].tolist()
    assert grid == [[3, 4, 4]]  # 6 frames (3 s x FPS 2) in pairs; 64 px -> 56 px: 4 x 4 patches
    [(start, end)] = encoded['media_spans']
    assert end - start == encoded['input_ids'].count(pad) == 3 * 4 * 4 // 4
    assert encoded['pixel_values_videos'].shape == (3 * 4 * 4, 3 * 2 * 14 * 14)
    assert all(encoded['labels'][i] == -100 for i in range(start, end))
    text = tokenizer.decode(encoded['input_ids'])
    assert '<|vision_start|>' + '<|video_pad|>' * 12 + '<|vision_end|>Which colour comes first?' in text
    import torch
    ids = torch.tensor([encoded['input_ids']])
    types = template.token_inputs(ids)['mm_token_type_ids']
    assert torch.equal(types == 2, ids == pad) and not (types == 1).any()


def test_video_controls(tokenizer, video, monkeypatch):
    def grid(**media_kwargs):
        return _encode(tokenizer, video, **{**SMALL, **media_kwargs})['video_grid_thw'].tolist()[0]

    assert grid() == [3, 2, 2]
    assert grid(fps=4.0) == [6, 2, 2]  # all 12 frames
    assert grid(fps_max_frames=5) == [2, 2, 2]  # 4 frames (even)
    assert grid(fps=1.0) == [2, 2, 2]  # 3 frames, raised to FPS_MIN_FRAMES 4
    assert grid(fps=1.0, fps_min_frames=2) == [1, 2, 2]  # 3 frames -> even 2
    assert grid(video_max_pixels=56 * 56) == [3, 4, 4]
    monkeypatch.setenv('FPS_MAX_FRAMES', '4')
    monkeypatch.setenv('VIDEO_MAX_PIXELS', str(56 * 56))
    assert _encode(tokenizer, video, video_min_pixels=28 * 28)['video_grid_thw'].tolist() == [[2, 4, 4]]
    assert grid() == [2, 2, 2]  # --model_kwargs wins over the environment
    monkeypatch.setenv('VIDEO_MIN_PIXELS', str(84 * 84))
    monkeypatch.delenv('VIDEO_MAX_PIXELS')
    assert _encode(tokenizer, video)['video_grid_thw'].tolist() == [[2, 6, 6]]  # upscaled to 84 px


def test_qwen2_5_vl_seconds_per_grid(tokenizer, video):
    """temporal_patch_size / sampled fps: 6 of 12 frames at 4 fps -> 2 fps -> 1 s a patch; all 12 -> 0.5 s."""
    assert _encode(tokenizer, video, 'qwen2_5_vl', **SMALL)['second_per_grid_ts'].tolist() == [1.0]
    assert _encode(tokenizer, video, 'qwen2_5_vl', fps=4.0, **SMALL)['second_per_grid_ts'].tolist() == [0.5]
    assert 'second_per_grid_ts' not in _encode(tokenizer, video, **SMALL)  # Qwen2-VL's forward does not take it


def test_qwen3_vl_writes_timestamped_frames(tokenizer, video):
    """The expansion is transformers' Qwen3VLProcessor.replace_video_token on the same grid and frames."""
    from functools import partial
    from types import SimpleNamespace

    from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor
    from transformers.video_utils import VideoMetadata
    encoded = _encode(tokenizer, video, 'qwen3_vl', **SMALL)
    processor = SimpleNamespace(video_processor=SimpleNamespace(merge_size=2, temporal_patch_size=2),
                                video_token='<|video_pad|>', vision_start_token='<|vision_start|>',
                                vision_end_token='<|vision_end|>',
                                _calculate_timestamps=partial(Qwen3VLProcessor._calculate_timestamps, None))
    # 12 frames at 4 fps, FPS 2: 6 frames at linspace(0, 11, 6).round()
    metadata = VideoMetadata(total_num_frames=12, fps=4.0, frames_indices=[0, 2, 4, 7, 9, 11])
    expected = Qwen3VLProcessor.replace_video_token(processor, {'video_grid_thw': encoded['video_grid_thw'],
                                                                'video_metadata': [metadata]}, 0)
    assert expected.startswith('<0.2 seconds><|vision_start|><|video_pad|><|vision_end|><1.4 seconds>')
    text = tokenizer.decode(encoded['input_ids'])
    assert '<|im_start|>user\n<|vision_start|>' + expected + '<|vision_end|>Which colour' in text


@pytest.mark.parametrize('side', ['right', 'left'])
def test_video_rows_get_their_own_positions_in_a_padded_batch(tokenizer, video, side):
    """transformers' get_rope_index on a collated batch (a video row, an image row, a row with both) gives each
    row the positions it has alone: mm_token_type_ids and video_grid_thw travel with the padding."""
    import torch
    from PIL import Image
    from transformers import Qwen2VLConfig
    from transformers.models.qwen2_vl.modeling_qwen2_vl import Qwen2VLModel

    from swift.model.tiny_qwen_vl import ensure_qwen2_vl_tiny
    from swift.training.collator import MediaCollator, PaddingCollator
    template = get_template('qwen2_vl', tokenizer=tokenizer, media_kwargs={**SMALL, 'video_max_pixels': 56 * 56})
    image = Image.new('RGB', (56, 56), (200, 10, 10))
    both = {'messages': [{'role': 'user', 'content': '<image><video>Which?'}, {'role': 'assistant', 'content': 'a'}],
            'images': [image], 'videos': [video]}
    image_row = {'messages': [{'role': 'user', 'content': '<image>What is it?'},
                              {'role': 'assistant', 'content': 'a dot'}], 'images': [image]}
    rows = [template.encode(_row(video, 'Q?')), template.encode(image_row), template.encode(both)]
    batch = MediaCollator(PaddingCollator(tokenizer.pad_token_id, padding_side=side), template)(rows)
    pad = tokenizer.convert_tokens_to_ids('<|video_pad|>')
    assert torch.equal(batch['mm_token_type_ids'] == 2, batch['input_ids'] == pad)
    methods = {name: Qwen2VLModel.__dict__[name] for name in ('get_rope_index', 'get_vision_position_ids')}
    rope = type('Rope', (), {'config': Qwen2VLConfig.from_pretrained(str(ensure_qwen2_vl_tiny())), **methods})()
    positions, _ = rope.get_rope_index(batch['input_ids'], batch['mm_token_type_ids'], batch['image_grid_thw'],
                                       batch['video_grid_thw'], attention_mask=batch['attention_mask'])
    for i, row in enumerate(rows):
        ids = torch.tensor([row['input_ids']])
        alone, _ = rope.get_rope_index(ids, template.token_inputs(ids)['mm_token_type_ids'],
                                       row.get('image_grid_thw'), row.get('video_grid_thw'))
        real = batch['attention_mask'][i].bool()
        assert torch.equal(positions[:, i, real], alone[:, 0])
    assert batch['video_grid_thw'].tolist() == [[3, 4, 4], [3, 4, 4]]
