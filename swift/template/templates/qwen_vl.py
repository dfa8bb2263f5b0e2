"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL / Qwen2-Audio / Qwen2.5-Omni: ChatML with vision (and audio) markers.

Each image is written `<|vision_start|><|image_pad|><|vision_end|>` where the row has it, each video
`<|vision_start|><|video_pad|><|vision_end|>`; the processor expands the pad token to one per merged patch
(`image_grid_thw.prod() // merge_size**2`). Qwen2-VL and Qwen2.5-VL ship the same official template (with the
default system prompt "You are a helpful assistant."); Qwen3-VL's writes a system block only when given one.
"""
from typing import Dict

from swift.utils import SwiftError

from ..grounding import QWEN2_5_VL, QWEN2_VL
from ..media import ROW_TAGS, MediaPlugin
from ..registry import register_template
from .chatml import chatml_meta
from .vlm_common import TaggedTemplate

QWEN_STOP_WORDS = ['<|im_end|>', '<|endoftext|>']


class QwenVLPlugin(MediaPlugin):
    """Images through Qwen2-VL's image processor (the PIL backend, swift/model/qwen_vl_processor.py): each image is
    resized by smart_resize to a multiple of patch_size x merge_size within [min_pixels, max_pixels], cut into
    patches (pixel_values [patches, 3 x temporal_patch x patch²]) with its grid (image_grid_thw: 1, h, w), and stands
    for grid.prod() / merge_size² `<|image_pad|>` tokens. The media controls set the pixel bounds: MAX_PIXELS,
    MIN_PIXELS, and IMAGE_MAX_TOKEN_NUM (max_pixels = tokens x (patch_size x merge_size)², as qwen_vl_utils does;
    with MAX_PIXELS too, the smaller bound wins).

    Videos without torchvision (swift/model/qwen_vl_video.py): frames decoded by PyAV and sampled by qwen_vl_utils'
    rule (FPS, FPS_MIN_FRAMES, FPS_MAX_FRAMES), resized within VIDEO_MIN_PIXELS / VIDEO_MAX_PIXELS /
    VIDEO_TOTAL_PIXELS, patched as Qwen2VLVideoProcessor does (pixel_values_videos, video_grid_thw); each video
    stands for video_grid_thw.prod() / merge_size² `<|video_pad|>` tokens."""
    placeholders = {'images': '<|image_pad|>', 'videos': '<|video_pad|>'}
    media_options = {'max_pixels': 'max_pixels', 'min_pixels': 'min_pixels',
                     'image_max_token_num': 'image_max_token_num', 'video_max_pixels': 'video_max_pixels',
                     'video_min_pixels': 'video_min_pixels', 'video_total_pixels': 'video_total_pixels',
                     'fps_min_frames': 'fps_min_frames'}
    drop_keys = ('video_fps', 'video_timestamps')  # what the replacements need, not the model
    # the model encodes the batch's images (videos) in order, each with its own grid row, and scatters them over the
    # image (video) tokens in order; a packed row's samples get their own M-RoPE positions from the model's
    # get_rope_index while packed training runs (swift/model/mrope_packing.py)
    # (pack_media: pixel_values [patches_i, dim], image_grid_thw [n_i, 3], videos alike, joined along dimension 0)
    packing_refusal = None

    def process_images(self, processor, images, options):
        image_processor = processor.image_processor
        size = pixel_bounds(image_processor, options)
        return dict(image_processor(images, size=size, return_tensors='pt'))

    def load_video(self, item, options, processor=None):
        from functools import partial

        from swift.model.qwen_vl_video import frame_indices
        from swift.utils.media import load_video
        sampler = partial(frame_indices, fps=options.get('fps'), min_frames=options.get('fps_min_frames'),
                          max_frames=options.get('fps_max_frames'))
        return load_video(item, sampler=sampler)

    def process_videos(self, processor, videos, options):
        from swift.model.qwen_vl_video import process_videos
        return process_videos(processor.image_processor, videos, options)

    def video_replacement(self, processor, processed, index):
        """Qwen2VLProcessor.replace_video_token: grid.prod() / merge_size² pads."""
        count = int(processed['video_grid_thw'][index].prod()) // processor.image_processor.merge_size**2
        return processor.video_token * count

    def token_inputs(self, processor, input_ids, media=None):
        """mm_token_type_ids (1 on image tokens, 2 on video tokens), as Qwen2VLProcessor returns them: the model's
        get_rope_index reads them to give image tokens their (temporal, height, width) rotary positions."""
        import torch
        types = (input_ids == processor.image_token_id).to(torch.int32)
        if getattr(processor, 'video_token_id', None) is not None:
            types = types + 2 * (input_ids == processor.video_token_id).to(torch.int32)
        return {'mm_token_type_ids': types}


def pixel_bounds(image_processor, options) -> Dict[str, int]:
    """The image processor's size ({'shortest_edge': min_pixels, 'longest_edge': max_pixels}) with the media
    controls applied."""
    size = image_processor.size
    bounds = {'shortest_edge': size.shortest_edge, 'longest_edge': size.longest_edge}
    if options.get('min_pixels') is not None:
        bounds['shortest_edge'] = int(options['min_pixels'])
    if options.get('max_pixels') is not None:
        bounds['longest_edge'] = int(options['max_pixels'])
    if options.get('image_max_token_num') is not None:
        factor = image_processor.patch_size * image_processor.merge_size
        by_tokens = int(options['image_max_token_num']) * factor**2
        bounds['longest_edge'] = min(by_tokens, int(options['max_pixels'])) if options.get('max_pixels') else by_tokens
    if bounds['shortest_edge'] > bounds['longest_edge']:
        raise SwiftError(f'media controls: min_pixels {bounds["shortest_edge"]} is above max_pixels '
                         f'{bounds["longest_edge"]} (MIN_PIXELS / MAX_PIXELS / IMAGE_MAX_TOKEN_NUM)')
    return bounds


class QwenVLTemplate(TaggedTemplate):
    plugin = QwenVLPlugin()
    render_tags = {'images': '<|vision_start|><|image_pad|><|vision_end|>',
                   'videos': '<|vision_start|><|video_pad|><|vision_end|>'}
    grounding = QWEN2_VL  # boxes on a 0..1000 grid


class Qwen25VLPlugin(QwenVLPlugin):
    """Qwen2.5-VL videos also give the model second_per_grid_ts (seconds per temporal patch: its rotary time axis
    counts tokens_per_second x seconds; Qwen2_5_VLProcessor's temporal_patch_size / sampled fps)."""

    def process_videos(self, processor, videos, options):
        from swift.model.qwen_vl_video import second_per_grid_ts
        processed = super().process_videos(processor, videos, options)
        processed['second_per_grid_ts'] = second_per_grid_ts(processor.image_processor, processed['video_fps'])
        return processed


class Qwen3VLPlugin(QwenVLPlugin):
    """Qwen3-VL writes each temporal patch of a video as `<t.t seconds><|vision_start|>` pads `<|vision_end|>`
    (Qwen3VLProcessor.replace_video_token; t from the frames' indices and the video's frame rate)."""

    def process_videos(self, processor, videos, options):
        from swift.model.qwen_vl_video import patch_timestamps
        processed = super().process_videos(processor, videos, options)
        temporal = processor.image_processor.temporal_patch_size
        processed['video_timestamps'] = [patch_timestamps(meta['frames_indices'], meta['video_fps'], temporal)
                                         for _, meta in videos]
        return processed

    def video_replacement(self, processor, processed, index):
        grid = processed['video_grid_thw'][index]
        per_frame = int(grid[1:].prod()) // processor.image_processor.merge_size**2
        frame = '<|vision_start|>' + processor.video_token * per_frame + '<|vision_end|>'
        return ''.join(f'<{t:.1f} seconds>' + frame for t in processed['video_timestamps'][index][:int(grid[0])])


class Qwen25VLTemplate(QwenVLTemplate):
    """Qwen2.5-VL renders as Qwen2-VL (same official template) but grounds in absolute pixels of the image after
    the processor's resize (ms-swift's norm_bbox 'none')."""
    grounding = QWEN2_5_VL
    plugin = Qwen25VLPlugin()


class Qwen3VLTemplate(QwenVLTemplate):
    plugin = Qwen3VLPlugin()


class QwenAudioPlugin(MediaPlugin):
    """Qwen2-Audio: a Whisper feature extractor (log-mel, padded to its window), one `<|AUDIO|>` per encoder
    output position after the encoder's two stride-2 steps (Qwen2AudioProcessor's count)."""
    placeholders = {'audios': '<|AUDIO|>'}
    drop_keys = ('num_audio_tokens', )

    def process_audios(self, processor, audios, sampling_rate, options):
        extractor = processor.feature_extractor
        for i, samples in enumerate(audios):
            if len(samples) > extractor.n_samples:  # the extractor would cut it silently
                raise SwiftError(f'audios[{i}]: {len(samples) / sampling_rate:.1f} s is longer than the model\'s '
                                 f'{extractor.n_samples / extractor.sampling_rate:.0f} s audio window; cut the file')
        try:
            out = extractor(audios, sampling_rate=sampling_rate, return_attention_mask=True, padding='max_length',
                            return_tensors='pt', **options)
        except ValueError as e:  # e.g. SAMPLING_RATE differs from the rate the extractor was built for
            raise SwiftError(f'audio features: {e}') from None
        out = dict(out)
        out['feature_attention_mask'] = out.pop('attention_mask')
        lengths = out['feature_attention_mask'].sum(-1).tolist()
        out['num_audio_tokens'] = [(((n - 1) // 2 + 1) - 2) // 2 + 1 for n in lengths]
        return out


class QwenAudioTemplate(TaggedTemplate):
    """Qwen2-Audio-Instruct: each audio is `Audio N: <|audio_bos|><|AUDIO|><|audio_eos|>\\n`, N counting through the
    conversation (Qwen2AudioProcessor.default_chat_template, the released model's template; ms-swift writes the
    same)."""
    plugin = QwenAudioPlugin()
    render_tags = {'audios': '<|audio_bos|><|AUDIO|><|audio_eos|>\n'}

    def render_segments(self, messages, add_generation_prompt=False, tools=None, enable_thinking=None, **options):
        numbered, count = [], 0
        for message in messages:
            message = self._tagged(message)
            content = message.get('content') if isinstance(message, dict) else None
            if isinstance(content, str) and ROW_TAGS['audios'] in content:
                pieces = content.split(ROW_TAGS['audios'])
                text = pieces[0]
                for piece in pieces[1:]:
                    count += 1
                    text += f'Audio {count}: ' + self.render_tags['audios'] + piece
                message = {**message, 'content': text}
            numbered.append(message)
        return super().render_segments(numbered, add_generation_prompt, tools, enable_thinking, **options)


class QwenOmniPlugin(QwenVLPlugin):
    """Qwen2.5-Omni's thinker (swift/model/qwen_omni_processor.py): images as Qwen2-VL's (one `<|IMAGE|>` per merged
    patch, the same pixel controls), audio as Qwen2-Audio's (one `<|AUDIO|>` per encoder output position of the
    Whisper features). The thinker finds its media in input_ids itself (get_rope_index): no mm_token_type_ids."""
    placeholders = {'images': '<|IMAGE|>', 'videos': '<|VIDEO|>', 'audios': '<|AUDIO|>'}
    drop_keys = QwenAudioPlugin.drop_keys
    packing_refusal = MediaPlugin.packing_refusal  # the thinker's audio positions in packed rows: not tried

    def process_audios(self, processor, audios, sampling_rate, options):
        # this family's media controls are the image ones (pixels): the feature extractor takes none of them
        return QwenAudioPlugin.process_audios(self, processor, audios, sampling_rate, {})

    def token_inputs(self, processor, input_ids, media=None):
        return {}


class QwenOmniTemplate(TaggedTemplate):
    plugin = QwenOmniPlugin()
    render_tags = {'images': '<|vision_bos|><|IMAGE|><|vision_eos|>', 'videos': '<|vision_bos|><|VIDEO|><|vision_eos|>',
                   'audios': '<|audio_bos|><|AUDIO|><|audio_eos|>'}


register_template(chatml_meta('qwen2_vl', default_system='You are a helpful assistant.', stop_words=QWEN_STOP_WORDS,
                              template_cls=QwenVLTemplate, description='Qwen2-VL / Qwen2.5-VL, images and videos'))
register_template(chatml_meta('qwen2_5_vl', default_system='You are a helpful assistant.',
                              stop_words=QWEN_STOP_WORDS, template_cls=Qwen25VLTemplate,
                              description='Qwen2.5-VL, images and videos (grounding in resized-image pixels)'))
register_template(chatml_meta('qwen3_vl', stop_words=QWEN_STOP_WORDS, template_cls=Qwen3VLTemplate,
                              description='Qwen3-VL instruct, images and videos (no tool format here)'))
register_template(chatml_meta('qwen2_audio', default_system='You are a helpful assistant.',
                              stop_words=QWEN_STOP_WORDS, template_cls=QwenAudioTemplate,
                              description='Qwen2-Audio-Instruct, audio'))
register_template(chatml_meta(
    'qwen2_5_omni', stop_words=QWEN_STOP_WORDS, template_cls=QwenOmniTemplate,
    default_system=('You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of perceiving '
                    'auditory and visual inputs, as well as generating text and speech.'),
    description='Qwen2.5-Omni (thinker), images, videos and audio'))
