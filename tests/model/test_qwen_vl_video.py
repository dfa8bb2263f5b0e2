"""Qwen-VL video without torchvision (swift/model/qwen_vl_video.py) against transformers' and qwen_vl_utils' rules.

transformers' Qwen2VLVideoProcessor cannot be imported here (its module imports torchvision), so the references are
- its own `patchify` (and Qwen3VLVideoProcessor's): the method's source, read from the installed transformers file
  and compiled alone (ast), applied to the same frames;
- for the resize and normalisation: a hand computation (transformers' smart_resize with qwen_vl_utils' video bounds,
  PIL bicubic, / 255, (x - mean) / std), and transformers' Qwen2VLImageProcessorPil on a one-frame video (an image
  is a one-frame video: the processor pads a video by repeating its last frame as it repeats an image);
- for frame sampling: qwen_vl_utils.smart_nframes's results, worked out by hand for each case.
"""
import ast
import math

import numpy as np
import pytest
import torch
from PIL import Image

from swift.model import qwen_vl_video as qv
from swift.utils.media import MediaError


def _transformers_patchify(module: str, cls: str):
    """The video processor's `patchify` method, compiled from transformers' installed source (without the module's
    torchvision import); called with self=None (it uses no attribute)."""
    import importlib.util
    path = importlib.util.find_spec(f'transformers.models.{module}').submodule_search_locations[0]
    source = open(f'{path}/video_processing_{module}.py').read()
    node = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef) and n.name == cls)
    method = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == 'patchify')
    namespace = {'torch': torch}
    exec(compile(ast.Module(body=[method], type_ignores=[]), f'{cls}.patchify', 'exec'), namespace)
    return lambda frames, *args: namespace['patchify'](None, frames[None], *args)


@pytest.fixture(scope='module')
def image_processor():
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    return Qwen2VLImageProcessorPil()


@pytest.mark.parametrize('module,cls,patch', [('qwen2_vl', 'Qwen2VLVideoProcessor', 14),
                                              ('qwen3_vl', 'Qwen3VLVideoProcessor', 16)])
@pytest.mark.parametrize('frames,height,width', [(1, 2, 2), (3, 2, 4), (4, 6, 2)])
def test_patchify_equals_the_video_processors(module, cls, patch, frames, height, width):
    reference = _transformers_patchify(module, cls)
    video = torch.randn(frames, 3, height * patch, width * patch)
    expected, *grid = reference(video, patch, 2, 2)
    got, got_grid = qv.patchify(video, patch, 2, 2)
    assert list(got_grid) == grid == [math.ceil(frames / 2), height, width]
    assert torch.equal(got, expected[0])


def _by_hand(frames, factor, min_pixels, max_pixels):
    """Resize (transformers' smart_resize, PIL bicubic), / 255, CLIP mean / std: [T, 3, H, W]."""
    from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
    width, height = frames[0].size
    new_height, new_width = smart_resize(height, width, factor, min_pixels, max_pixels)
    arrays = [np.asarray(f.resize((new_width, new_height), Image.BICUBIC), dtype=np.float32) / 255 for f in frames]
    normalised = [(a - np.array(OPENAI_CLIP_MEAN, np.float32)) / np.array(OPENAI_CLIP_STD, np.float32)
                  for a in arrays]
    return torch.from_numpy(np.stack(normalised).transpose(0, 3, 1, 2).copy())


def _noise_video(count, size, seed):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(count)]


@pytest.mark.parametrize('count,size,controls', [
    (3, (90, 50), {'video_min_pixels': 28 * 28, 'video_max_pixels': 56 * 56}),  # odd count: last frame repeated
    (4, (60, 130), {'video_min_pixels': 84 * 84, 'video_max_pixels': 112 * 112}),  # upscaled to the minimum
    (2, (200, 100), {'video_min_pixels': 28 * 28, 'video_total_pixels': 56 * 56}),  # the total budget caps frames
])
def test_pixel_values_videos_equal_the_reference(image_processor, count, size, controls):
    frames = _noise_video(count, size, seed=count)
    out = qv.process_videos(image_processor, [(frames, {'fps': 2.0})], controls)
    low, high = qv.frame_bounds(image_processor, count, controls)
    expected, *grid = _transformers_patchify('qwen2_vl', 'Qwen2VLVideoProcessor')(
        _by_hand(frames, 28, low, high), 14, 2, 2)
    assert out['video_grid_thw'].tolist() == [grid]
    assert torch.allclose(out['pixel_values_videos'], expected[0], atol=1e-5)
    if 'video_total_pixels' in controls:  # min(VIDEO_MAX_PIXELS, total / 2 frames x 2) = 56² px: 28 x 56
        assert high == 56 * 56 and grid[1:] == [2, 4]


def test_a_one_frame_video_is_the_image_processors_image(image_processor):
    frame = _noise_video(1, (150, 100), seed=7)
    out = qv.process_videos(image_processor, [(frame, {'fps': 2.0})], {})
    low, high = qv.frame_bounds(image_processor, 1, {})
    image = image_processor(frame, size={'shortest_edge': low, 'longest_edge': int(high)}, return_tensors='pt')
    assert torch.equal(out['video_grid_thw'], image['image_grid_thw'])
    assert torch.allclose(out['pixel_values_videos'], image['pixel_values'], atol=1e-6)


# qwen_vl_utils.smart_nframes(total_frames, video_fps, FPS, FPS_MIN_FRAMES, FPS_MAX_FRAMES) then
# torch.linspace(0, total - 1, n).round(), worked out by hand
@pytest.mark.parametrize('total,rate,kwargs,expected', [
    (8, 4.0, {}, [0, 2, 5, 7]),  # 2 s x FPS 2 = 4
    (8, 4.0, {'fps': 1.0}, [0, 2, 5, 7]),  # 2 frames, raised to FPS_MIN_FRAMES 4
    (300, 30.0, {'max_frames': 7}, [0, 60, 120, 179, 239, 299]),  # 20, capped by FPS_MAX_FRAMES 7 -> even 6
    (30, 30.0, {'min_frames': 3}, [0, 10, 19, 29]),  # 1 s: 2 frames, FPS_MIN_FRAMES 3 -> even 4
    (100, 25.0, {'fps': 1.5}, [0, 20, 40, 59, 79, 99]),  # 4 s x 1.5 = 6
    (3, 30.0, {}, [0, 2]),  # at most the frame count, even
])
def test_frame_indices_follow_qwen_vl_utils(total, rate, kwargs, expected):
    assert qv.frame_indices(total, rate, **kwargs) == expected


def test_a_one_frame_video_is_refused():
    with pytest.raises(MediaError, match='at least 2 frames; this one has 1'):
        qv.frame_indices(1, 25.0)


def test_frame_bounds_are_qwen_vl_utils_defaults(image_processor):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    assert qv.frame_bounds(image_processor, 4, {}) == (128 * 28 * 28, 768 * 28 * 28)
    # 1000 frames share 0.9 x 128000 tokens: 2 x 90316800 / 1000 pixels each
    assert qv.frame_bounds(image_processor, 1000, {}) == (128 * 28 * 28, 128000 * 28 * 28 * 0.9 / 1000 * 2)
    qwen3 = Qwen2VLImageProcessorPil(patch_size=16)
    assert qv.frame_bounds(qwen3, 4, {}) == (128 * 32 * 32, 768 * 32 * 32)
    with pytest.raises(Exception, match='video_min_pixels 5000 is above video_max_pixels 4000'):
        qv.frame_bounds(image_processor, 4, {'video_min_pixels': 5000, 'video_max_pixels': 4000})


def test_qwen3_timestamps_are_the_processors():
    """Qwen3VLProcessor._calculate_timestamps (transformers' own function) on the same indices."""
    from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor
    for indices, rate in (([0, 2, 5, 7], 4.0), ([0, 10, 19], 30.0), ([3, 9, 15, 21, 27, 33], 24.0)):
        expected = Qwen3VLProcessor._calculate_timestamps(None, list(indices), rate, 2)
        assert qv.patch_timestamps(indices, rate, 2) == expected


def test_the_decoder_keeps_the_sampled_frames(tmp_path):
    """PyAV frames at the sampler's indices: an 8-frame, 4 fps video of red then blue gives frames 0, 2 (red),
    5, 7 (blue), and qwen_vl_utils' sampled fps (4 / 8 x 4 = 2)."""
    from swift.utils.media import load_video
    from tests.helpers.av_media import colour_video
    path = colour_video(tmp_path / 'v.mp4', [(230, 30, 30), (30, 30, 230)], fps=4, frames_each=4)
    frames, meta = load_video(str(path), sampler=lambda total, rate: qv.frame_indices(total, rate))
    assert (meta['total_frames'], meta['video_fps'], meta['frames_indices'], meta['fps']) == (8, 4.0, [0, 2, 5, 7], 2.0)
    reds = [np.asarray(f)[..., 0].mean() > np.asarray(f)[..., 2].mean() for f in frames]
    assert reds == [True, True, False, False]
    assert meta['timestamps'] == [0.0, 0.5, 1.25, 1.75]


@pytest.mark.parametrize('family', ['qwen2_5_vl', 'qwen3_vl'])
def test_qwen2_5_and_qwen3_models_take_the_videos(family, tmp_path):
    """On the registered tiny Qwen2.5-VL / Qwen3-VL models (qwen2.5-vl-tiny, qwen3-vl-tiny): a left-padded batch of a
    video row and an image row trains (second_per_grid_ts, Qwen3-VL's per-frame grids and timestamps), and the
    engine decodes a video request as model.generate does."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from swift.infer.protocol import InferRequest
    from swift.model.loader import get_model_tokenizer
    from swift.model.qwen_vl_processor import QwenVLImageProcessor
    from swift.model.tiny_qwen_vl import FAMILIES, ensure_qwen2_5_vl_tiny, ensure_qwen3_vl_tiny
    from swift.template import get_template
    from swift.training.collator import MediaCollator, PaddingCollator
    from tests.helpers.av_media import COLOURS, colour_video
    from tests.helpers.generate_reference import engine_beside_text
    model_dir = {'qwen2_5_vl': ensure_qwen2_5_vl_tiny, 'qwen3_vl': ensure_qwen3_vl_tiny}[family]()
    model, tokenizer = get_model_tokenizer(str(model_dir), torch_dtype='float32')
    patch = FAMILIES[family].patch_size
    side = 2 * patch * 2  # 2 x 2 merged tokens per temporal patch
    template = get_template(family, tokenizer=tokenizer, media_kwargs={'video_min_pixels': side**2,
                                                                        'video_max_pixels': side**2})
    template.processor = QwenVLImageProcessor(
        Qwen2VLImageProcessorPil(patch_size=patch, min_pixels=(2 * patch)**2, max_pixels=(2 * patch)**2), tokenizer)
    video = str(colour_video(tmp_path / 'v.mp4', [COLOURS['red'], COLOURS['blue']], fps=4, frames_each=4))
    rows = [{'messages': [{'role': 'user', 'content': '<video>Which?'}, {'role': 'assistant', 'content': 'red'}],
             'videos': [video]},
            {'messages': [{'role': 'user', 'content': '<image>What?'}, {'role': 'assistant', 'content': 'red'}],
             'images': [Image.new('RGB', (60, 60), (200, 0, 0))]}]
    encoded = [template.encode(r) for r in rows]
    assert encoded[0]['video_grid_thw'].tolist() == [[2, 4, 4]]
    batch = MediaCollator(PaddingCollator(tokenizer.pad_token_id, padding_side='left'), template)(encoded)
    assert ('second_per_grid_ts' in batch) == (family == 'qwen2_5_vl')
    model.train()
    loss = model(**batch).loss
    loss.backward()
    assert torch.isfinite(loss)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters() if 'visual' in n)

    model.eval()
    request = InferRequest(messages=[{'role': 'user', 'content': 'Which?'}], videos=[video])
    choice, (_, logprobs) = engine_beside_text(model, tokenizer, request, 4,
                                               tokenizer.convert_tokens_to_ids('<|image_pad|>'), template)
    assert [e.logprob for e in choice.logprobs.content] == pytest.approx(logprobs, abs=1e-4)
