"""GLM-4.1V / GLM-4.5V video without torchvision.

transformers' Glm4vVideoProcessor resizes frames with torchvision, which cannot be installed here; the rest of what
it does is plain Python and torch, and is called here as it is, on a real Glm4vVideoProcessor (its constructor and
these methods need no torchvision):

1. frames: `sample_frames` — FPS frames a second of video (its `fps`, 2), over at most `max_duration` (300 s),
   duplicates dropped, an odd count made even by repeating the last frame (`frame_sampler`);
2. size: `smart_resize` — one size for every frame, a multiple of patch_size x merge_size, within the video
   processor's [shortest_edge, longest_edge] pixel budget counted over all the frames (VIDEO_MIN_PIXELS /
   VIDEO_MAX_PIXELS override it). The resize itself is the only part written here: PIL bicubic through the
   family's PIL image processor backend, where the video processor uses torchvision's antialiased bicubic — the
   same sizes and token counts, pixel values that differ by interpolation rounding (as for Qwen-VL,
   qwen_vl_video.py); rescale and normalisation with the video processor's own mean and std;
3. patches: `patchify` -> pixel_values_videos [grid_t x grid_h x grid_w, C x 2 x 14 x 14] and video_grid_thw;
4. text: Glm4vProcessor.replace_video_token (swift's Glm4vImageProcessor derives from it): per temporal patch
   `<|begin_of_image|>` + `<|image|>` x (grid_h x grid_w / merge²) + `<|end_of_image|>` + the integer second of its
   first frame, from the frames' VideoMetadata; mm_token_type_ids 2 on the `<|image|>` tokens inside
   `<|begin_of_video|>…<|end_of_video|>` (Glm4vProcessor.create_mm_token_type_ids).
"""
from typing import Any, Callable, Dict, List, Sequence, Tuple


def frame_sampler(video_processor, fps=None) -> Callable[[int, float], List[int]]:
    """(total frames, the video's frame rate) -> the indices Glm4vVideoProcessor.sample_frames keeps (FPS overrides
    its rate); the duration is total / rate, as transformers' video decoders report it."""
    from transformers.video_utils import VideoMetadata

    def sample(total: int, rate: float) -> List[int]:
        metadata = VideoMetadata(total_num_frames=total, fps=rate, duration=total / rate if rate else None)
        return [int(i) for i in video_processor.sample_frames(metadata, fps=fps)]
    return sample


def _frames_tensor(image_processor, video_processor, frames: Sequence[Any], options: Dict[str, Any]):
    """[1, frames, 3, H, W] float32: every frame resized to smart_resize's size, rescaled and normalised."""
    import numpy as np
    import torch
    from transformers.image_processing_backends import PilBackend
    from transformers.image_utils import SizeDict
    from transformers.models.glm4v.video_processing_glm4v import smart_resize
    size = video_processor.size
    height, width = frames[0].height, frames[0].width
    resized = smart_resize(len(frames), height, width, temporal_factor=video_processor.temporal_patch_size,
                           factor=video_processor.patch_size * video_processor.merge_size,
                           min_pixels=options.get('video_min_pixels') or size.shortest_edge,
                           max_pixels=options.get('video_max_pixels') or size.longest_edge)
    out = []
    for frame in frames:
        array = np.moveaxis(np.asarray(frame.convert('RGB')), -1, 0)
        array = PilBackend.resize(image_processor, array, size=SizeDict(height=resized[0], width=resized[1]),
                                  resample=video_processor.resample)
        array = image_processor.rescale(array, video_processor.rescale_factor)
        array = image_processor.normalize(array, video_processor.image_mean, video_processor.image_std)
        out.append(np.asarray(array, dtype=np.float32))
    return torch.from_numpy(np.stack(out))[None]


def process_videos(processor, videos: Sequence[Tuple[List[Any], Dict[str, Any]]],
                   options: Dict[str, Any]) -> Dict[str, Any]:
    """pixel_values_videos, video_grid_thw and each video's VideoMetadata (what replace_video_token reads) for PIL
    frames sampled by frame_sampler, with their metadata from swift.utils.media.load_video."""
    import torch
    from transformers.video_utils import VideoMetadata
    video_processor = processor.video_processor
    patches, grids, metadata = [], [], []
    for frames, meta in videos:
        stacked = _frames_tensor(processor.image_processor, video_processor, frames, options)
        flat, grid_t, grid_h, grid_w = video_processor.patchify(
            stacked, patch_size=video_processor.patch_size, merge_size=video_processor.merge_size,
            temporal_patch_size=video_processor.temporal_patch_size)
        patches.append(flat[0])
        grids.append([grid_t, grid_h, grid_w])
        metadata.append(VideoMetadata(total_num_frames=meta['total_frames'], fps=meta['video_fps'],
                                      frames_indices=list(meta['frames_indices'])))
    return {'pixel_values_videos': torch.cat(patches), 'video_grid_thw': torch.tensor(grids),
            'video_metadata': metadata}
