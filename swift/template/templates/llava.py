"""LLaVA-1.5, LLaVA-NeXT (v1.6-mistral) and LLaVA-OneVision (llava-hf formats).

Their official templates write a message's images first (`<image>\\n` each), then its text, whatever the order of
the parts; we do the same with a row's tags. The processor expands `<image>` to one token per patch feature.
LLaVA-1.5 adds a space after each text part: with one text part per message (what a tagged row has) ours is equal.
LLaVA-NeXT-mistral has no generation prompt (the prompt ends with ` [/INST]`) and ends each answer with `</s> `.
"""
from typing import Any, List

from swift.utils import SwiftError

from ..base import Chat, Rendering, TemplateMeta
from ..media import MediaPlugin, pad_images
from ..registry import register_template
from .chatml import chatml_meta
from .vlm_common import MediaFirstTemplate

IMAGE_LINE = '<image>\n'


class LlavaPlugin(MediaPlugin):
    placeholders = {'images': '<image>'}
    # LLaVA encodes every image of the batch in order and scatters the features over the image tokens in order
    # (row by row): a packed row's images joined in its samples' order land on their own samples' tokens
    packing_refusal = None  # pack_media: pixel_values [n_i, 3, H, W] joined in the samples' order


class LlavaNextPlugin(LlavaPlugin):
    """Anyres: each image is [tiles, 3, H, W] with its own tile count (its aspect ratio picks the grid); a batch pads
    the tiles with zeros to the most any image has, as LlavaNextProcessor pads within one call (the model reads
    `image_sizes` to know how many are real). A packed row's images are joined the same way (LlavaPlugin)."""

    def collate(self, key: str, values: List[Any]):
        if key == 'pixel_values':  # [n, tiles_i, 3, H, W] per row: zero tiles after each image's own
            return pad_images([v for v in values if v is not None], dim=0)
        return super().collate(key, values)


class LlavaVideoPlugin(MediaPlugin):
    """LLaVA-OneVision: videos as LlavaOnevisionVideoProcessor gives them (it needs torchvision), from PyAV's frames
    and the image processor's own PIL methods: each frame resized to the image size (no anyres tiling), rescaled and
    normalised; pixel_values_videos [videos, frames, 3, H, W]. The processor's replace_video_token counts the
    tokens (frames x pooled patches + a newline)."""
    placeholders = {'images': '<image>', 'videos': '<video>'}
    # images as LLaVA-NeXT's (anyres tiles, padded per batch), joined in the samples' order in a packed row
    packing_refusal = None

    def process_videos(self, processor, videos, options):
        size = processor.image_processor.size
        clips = [fixed_size_frames(processor.image_processor, frames, size.height, size.width) for frames, _ in videos]
        return {'pixel_values_videos': _stack_clips(clips)}

    def collate(self, key: str, values: List[Any]):
        if key == 'pixel_values_videos':
            return _stack_clips([clip for v in values if v is not None for clip in v])
        if key == 'pixel_values':
            return pad_images([v for v in values if v is not None], dim=0)
        return super().collate(key, values)


def fixed_size_frames(image_processor, frames: List[Any], height: int, width: int):
    """[frames, 3, height, width] float32: PIL frames resized, rescaled and normalised by a PIL image processor's own
    methods (what a transformers video processor does to each frame)."""
    import numpy as np
    import torch
    from transformers.image_utils import SizeDict
    out = []
    for frame in frames:
        array = np.moveaxis(np.asarray(frame.convert('RGB')), -1, 0)
        array = image_processor.resize(array, size=SizeDict(height=height, width=width),
                                       resample=image_processor.resample)
        if image_processor.do_rescale:
            array = image_processor.rescale(array, image_processor.rescale_factor)
        if image_processor.do_normalize:
            array = image_processor.normalize(array, image_processor.image_mean, image_processor.image_std)
        out.append(torch.from_numpy(np.asarray(array, dtype=np.float32)))
    return torch.stack(out)


def _stack_clips(clips: List[Any]):
    """[videos, frames, 3, H, W]: LLaVA-OneVision's forward takes one frame count per batch."""
    import torch
    counts = sorted({clip.shape[0] for clip in clips})
    if len(counts) > 1:
        raise SwiftError(f'LLaVA-OneVision takes videos of one frame count per batch, got {counts} frames; sample '
                         'them alike (FPS, FPS_MAX_FRAMES) or use batch size 1')
    return torch.stack(list(clips))


class Llava15Template(MediaFirstTemplate):
    plugin = LlavaPlugin()
    render_tags = {'images': IMAGE_LINE}

    def _render(self, chat: Chat, out: Rendering) -> None:
        for index, message in enumerate(chat.messages):
            content = message.get('content') or ''
            if message['role'] == 'assistant':
                self._emit_answer(chat, out, 'ASSISTANT:', f' {content} ', index)
            elif message['role'] == 'system':
                out.prompt(content + ' ')
            else:
                out.prompt(f'{message["role"].upper()}: {content} ')
        if chat.add_generation_prompt:
            out.prompt('ASSISTANT:')


class LlavaNextMistralTemplate(MediaFirstTemplate):
    plugin = LlavaNextPlugin()
    render_tags = {'images': IMAGE_LINE}

    def _render(self, chat: Chat, out: Rendering) -> None:
        for index, message in enumerate(chat.messages):
            content, role = message.get('content') or '', message['role']
            if role == 'system':
                out.prompt(f'<<SYS>>\n{content}\n<</SYS>>\n\n')
            elif role == 'user':
                out.prompt(f'[INST] {content} [/INST]')
            elif role == 'assistant':
                self._emit_answer(chat, out, '', f' {content}</s> ', index)
            else:
                raise SwiftError(f'template {self.name!r}: only user and assistant roles are supported, not {role!r}')


class LlavaOneVisionTemplate(MediaFirstTemplate):
    plugin = LlavaVideoPlugin()
    render_tags = {'images': IMAGE_LINE, 'videos': '<video>\n'}


register_template(TemplateMeta('llava1_5', response='ASSISTANT: {{RESPONSE}} ', generation_prompt='ASSISTANT:',
                               stop_words=['</s>'], template_cls=Llava15Template,
                               description='LLaVA-1.5 (llava-hf), images'))
register_template(TemplateMeta('llava_next_mistral', response=' {{RESPONSE}}</s> ', generation_prompt='',
                               stop_words=['</s>'], template_cls=LlavaNextMistralTemplate,
                               description='LLaVA-NeXT v1.6-mistral (llava-hf), images'))
register_template(chatml_meta('llava_onevision', stop_words=['<|im_end|>'], template_cls=LlavaOneVisionTemplate,
                              description='LLaVA-OneVision (llava-hf, Qwen2 LM), images and videos'))
