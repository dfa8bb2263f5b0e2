"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL video without torchvision.

transformers' Qwen2VLVideoProcessor (and the 2.5 / 3 ones) import torchvision, which cannot be installed here, and
ms-swift reads Qwen videos with qwen_vl_utils (torchvision / decord / torchcodec). This module does what those two do
together, with swift's PyAV decoder (swift/utils/media.py) and the model's PIL image processor:

1. frames: qwen_vl_utils.smart_nframes: FPS frames a second of video (default 2), at least FPS_MIN_FRAMES (4) and
   at most FPS_MAX_FRAMES (768) and the video's frame count, rounded down to an even number (FRAME_FACTOR 2); the
   frames at torch.linspace(0, total - 1, n).round() (`frame_indices`);
2. size: every frame resized to the same smart_resize size (a multiple of patch_size x merge_size) within
   [VIDEO_MIN_PIXELS, max(min(VIDEO_MAX_PIXELS, VIDEO_TOTAL_PIXELS / n x 2), 1.05 x VIDEO_MIN_PIXELS)] pixels
   (qwen_vl_utils.fetch_video); defaults 128 and 768 tokens' worth of pixels (x (patch x merge)²) and
   0.9 x 128000 tokens' worth, as there (`frame_bounds`). The resize, rescale and normalisation are the model's
   image processor's (Qwen2VLImageProcessorPil: PIL bicubic), where qwen_vl_utils resizes with torchvision's
   antialiased bicubic: the same sizes and token counts, pixel values that differ by interpolation rounding;
3. patches: Qwen2VLVideoProcessor.patchify: frames padded to a multiple of temporal_patch_size (2) by repeating the
   last, then [grid_t x grid_h x grid_w, 3 x temporal_patch x patch²] in the processor's (t, h/m, w/m, m, m) order
   (`patchify`) -> pixel_values_videos and video_grid_thw (t, h, w);
4. Qwen2.5-VL: second_per_grid_ts = temporal_patch_size / sampled fps (Qwen2_5_VLProcessor; the sampled fps is
   qwen_vl_utils' count / total_frames x video fps); Qwen3-VL: each temporal patch's time, the mean of its first
   and last frame's index / video fps (Qwen3VLProcessor._calculate_timestamps), written `<t.t seconds>`.
"""
import math
from typing import Any, Dict, List, Sequence, Tuple

from swift.utils import SwiftError
from swift.utils.media import MediaError

FRAME_FACTOR = 2  # qwen_vl_utils: frames come in pairs (the vision tower's temporal patch)
DEFAULT_FPS = 2.0
FPS_MIN_FRAMES = 4
FPS_MAX_FRAMES = 768
VIDEO_MIN_TOKENS = 128  # VIDEO_MIN_PIXELS = 128 x (patch x merge)² (128 x 28 x 28 for Qwen2-VL)
VIDEO_MAX_TOKENS = 768  # VIDEO_MAX_PIXELS = 768 x (patch x merge)²
MODEL_SEQ_LEN = 128000  # VIDEO_TOTAL_PIXELS = 0.9 x 128000 x (patch x merge)²


def frame_indices(total_frames: int, video_fps: float, fps=None, min_frames=None, max_frames=None) -> List[int]:
    """The indices of the frames to keep (qwen_vl_utils.smart_nframes, then linspace over the frames)."""
    import torch
    fps = fps or DEFAULT_FPS
    low = math.ceil((min_frames or FPS_MIN_FRAMES) / FRAME_FACTOR) * FRAME_FACTOR
    high = math.floor(min(max_frames or FPS_MAX_FRAMES, total_frames) / FRAME_FACTOR) * FRAME_FACTOR
    count = min(max(total_frames / video_fps * fps, low), high, total_frames)
    count = math.floor(count / FRAME_FACTOR) * FRAME_FACTOR
    if not FRAME_FACTOR <= count <= total_frames:
        raise MediaError(f'a Qwen-VL video needs at least {FRAME_FACTOR} frames; this one has {total_frames} '
                         f'(FPS_MAX_FRAMES {max_frames or FPS_MAX_FRAMES}); give a still as an image instead')
    return torch.linspace(0, total_frames - 1, count).round().long().tolist()


def frame_bounds(image_processor, frame_count: int, options: Dict[str, Any]) -> Tuple[int, float]:
    """(min_pixels, max_pixels) of each frame: the media controls over qwen_vl_utils' defaults."""
    factor = image_processor.patch_size * image_processor.merge_size
    min_pixels = options.get('video_min_pixels') or VIDEO_MIN_TOKENS * factor**2
    max_pixels = options.get('video_max_pixels') or VIDEO_MAX_TOKENS * factor**2
    total_pixels = options.get('video_total_pixels') or MODEL_SEQ_LEN * factor**2 * 0.9
    if min_pixels > max_pixels:
        raise SwiftError(f'media controls: video_min_pixels {min_pixels} is above video_max_pixels {max_pixels} '
                         '(VIDEO_MIN_PIXELS / VIDEO_MAX_PIXELS)')
    return min_pixels, max(min(max_pixels, total_pixels / frame_count * FRAME_FACTOR), int(min_pixels * 1.05))


def normalized_frames(image_processor, frames: Sequence[Any], min_pixels: int, max_pixels: float):
    """[frames, 3, H, W] float32: each PIL frame resized, rescaled and normalised by the image processor's own
    methods (what it does to an image), all to one smart_resize size."""
    import numpy as np
    from transformers.image_utils import SizeDict
    size = SizeDict(shortest_edge=min_pixels, longest_edge=max_pixels)
    factor = image_processor.patch_size * image_processor.merge_size
    out = []
    for frame in frames:
        array = np.moveaxis(np.asarray(frame.convert('RGB')), -1, 0)
        array = image_processor.resize(array, size=size, resample=image_processor.resample, factor=factor)
        if image_processor.do_rescale:
            array = image_processor.rescale(array, image_processor.rescale_factor)
        if image_processor.do_normalize:
            array = image_processor.normalize(array, image_processor.image_mean, image_processor.image_std)
        out.append(np.asarray(array, dtype=np.float32))
    if len({a.shape for a in out}) != 1:
        raise SwiftError(f'a video\'s frames differ in size ({sorted({a.shape[1:] for a in out})})')
    return np.stack(out)


def patchify(frames, patch_size: int, merge_size: int, temporal_patch_size: int):
    """(patches [grid_t x grid_h x grid_w, C x temporal x patch²], (grid_t, grid_h, grid_w)) of [T, C, H, W] frames,
    in Qwen2VLVideoProcessor.patchify's layout."""
    import torch
    frames = torch.as_tensor(frames)
    count, channels, height, width = frames.shape
    pad = -count % temporal_patch_size
    if pad:  # the processor repeats the last frame
        frames = torch.cat([frames, frames[-1:].expand(pad, -1, -1, -1)])
    grid_t, grid_h, grid_w = (count + pad) // temporal_patch_size, height // patch_size, width // patch_size
    patches = frames.reshape(grid_t, temporal_patch_size, channels, grid_h // merge_size, merge_size, patch_size,
                             grid_w // merge_size, merge_size, patch_size)
    patches = patches.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return patches.reshape(grid_t * grid_h * grid_w, channels * temporal_patch_size * patch_size**2), \
        (grid_t, grid_h, grid_w)


def process_videos(image_processor, videos: Sequence[Tuple[List[Any], Dict[str, Any]]],
                   options: Dict[str, Any]) -> Dict[str, Any]:
    """pixel_values_videos, video_grid_thw and the sampled fps of each video (PIL frames sampled by frame_indices,
    their metadata from swift.utils.media.load_video)."""
    import torch
    all_patches, grids, rates = [], [], []
    for frames, metadata in videos:
        low, high = frame_bounds(image_processor, len(frames), options)
        stacked = normalized_frames(image_processor, frames, low, high)
        patches, grid = patchify(stacked, image_processor.patch_size, image_processor.merge_size,
                                 image_processor.temporal_patch_size)
        all_patches.append(patches)
        grids.append(grid)
        rates.append(float(metadata['fps']))
    return {'pixel_values_videos': torch.cat(all_patches), 'video_grid_thw': torch.tensor(grids),
            'video_fps': rates}


def second_per_grid_ts(image_processor, rates: Sequence[float]):
    """Qwen2.5-VL: seconds per temporal patch of each video (Qwen2_5_VLProcessor: temporal_patch_size / fps)."""
    import torch
    return torch.tensor([image_processor.temporal_patch_size / rate for rate in rates], dtype=torch.float32)


def patch_timestamps(indices: Sequence[int], video_fps: float, temporal_patch_size: int) -> List[float]:
    """Qwen3-VL: each temporal patch's time (s): the mean of its first and last frame's times, the index list padded
    by repeating the last as the frames are (Qwen3VLProcessor._calculate_timestamps)."""
    indices = list(indices)
    indices += [indices[-1]] * (-len(indices) % temporal_patch_size)
    times = [index / video_fps for index in indices]
    return [(times[i] + times[i + temporal_patch_size - 1]) / 2 for i in range(0, len(times), temporal_patch_size)]
