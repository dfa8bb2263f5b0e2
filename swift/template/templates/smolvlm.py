"""SmolVLM (Idefics3): `<|im_start|>User:<image>What is it?<end_of_utterance>\nAssistant: A cat.<end_of_utterance>\n`.

The official template (HuggingFaceTB/SmolVLM-Instruct, also SmolVLM2) writes `<|im_start|>` once, then each message
as its capitalised role, ':' when the message starts with an image and ': ' otherwise, the content, and
`<end_of_utterance>\n`; the generation prompt is `Assistant:` (the answer's leading space is the model's).
Each `<image>` expands to the processor's `<fake_token_around_image><global-img><image>…<fake_token_around_image>`
(with `<row_i_col_j>` tiles when the processor splits images).
"""
from datetime import timedelta
from typing import Any, List

from ..base import Chat, Rendering, TemplateMeta
from ..media import MediaPlugin, MultimodalTemplate
from ..registry import register_template

IMAGE = '<image>'
VIDEO = '<video>'
END = '<end_of_utterance>'
VIDEO_INTRO = 'You are provided the following series of {frame_count} frames from a {video_duration} [H:MM:SS] video.\n'
_ONES = ('zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen '
         'seventeen eighteen nineteen').split()
_TENS = 'twenty thirty forty fifty sixty seventy eighty ninety'.split()


def number_words(n: int) -> str:
    """English words for a frame count, as num2words writes them (SmolVLM's processor uses num2words):
    21 → 'twenty-one', 105 → 'one hundred and five'; digits from 1000 on."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10 - 2] + ('' if n % 10 == 0 else '-' + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + ' hundred' + ('' if n % 100 == 0 else ' and ' + number_words(n % 100))
    return str(n)


class Idefics3Plugin(MediaPlugin):
    """Images as the Idefics3 processor tiles them; a video as its sampled frames, each one image (not split
    into tiles), written as SmolVLM2's processor writes a video: an intro naming the frame count and duration,
    then `\\nFrame from MM:SS:` and the frame's image tokens per frame, then a blank line
    (transformers' SmolVLMProcessor.replace_video_token; its own video processor needs torchvision, so the
    frames go through the image processor here)."""
    placeholders = {'images': IMAGE, 'videos': VIDEO}
    image_kwargs = {'return_row_col_info': True}  # rows/cols of the tiles: replace_image_token reads them
    drop_keys = ('rows', 'cols', 'video_frames', 'video_metadata')
    media_options = {}  # a fixed longest edge (the processor's `size`), no pixel budget: MAX_PIXELS etc. refused

    def process_images(self, processor, images: List[Any], options):
        return super().process_images(processor, [images], options)  # one sample holding all of the row's images

    def process_videos(self, processor, videos, options):
        frames = [frame for video_frames, _ in videos for frame in video_frames]
        processed = dict(processor.image_processor([frames], return_tensors='pt', do_image_splitting=False,
                                                   **self.image_kwargs, **options))
        processed['video_frames'] = [len(video_frames) for video_frames, _ in videos]
        processed['video_metadata'] = [metadata for _, metadata in videos]
        return processed

    def video_replacement(self, processor, processed, index: int) -> str:
        first = sum(processed['video_frames'][:index])
        metadata = processed['video_metadata'][index]
        count = processed['video_frames'][index]
        text = VIDEO_INTRO.format(frame_count=number_words(count),
                                  video_duration=str(timedelta(seconds=int(metadata['duration']))))
        for offset, second in enumerate(metadata['timestamps']):
            text += f'\nFrame from {int(second // 60):02d}:{int(second % 60):02d}:'
            text += processor.replace_image_token(processed, image_idx=first + offset)  # no tiles: one image
        return text + '\n\n'

    def collate(self, key: str, values: List[Any]):
        """pixel_values [1, n, 3, H, W] per row → [batch, max n, 3, H, W]; missing images are all-zero, which
        Idefics3 skips (it keeps only images with a non-zero pixel), pixel_attention_mask likewise."""
        import torch
        present = [v for v in values if v is not None]
        if not present:
            return None
        shape = list(present[0].shape)
        shape[1] = max(v.shape[1] for v in present)
        if any(list(v.shape[2:]) != shape[2:] for v in present):
            raise ValueError(f'{key}: images of different sizes in one batch ({[tuple(v.shape) for v in present]})')
        batch = torch.zeros([len(values)] + shape[1:], dtype=present[0].dtype)
        for row, value in enumerate(values):
            if value is not None:
                batch[row, :value.shape[1]] = value[0]
        return batch


    packing_refusal = None  # Idefics3 takes a row's images in order and scatters them over its image tokens in order

    def pack_media(self, key: str, values: List[Any]):
        """pixel_values [1, n_i, 3, H, W] of a pack's samples → [1, sum n_i, 3, H, W], in the samples' order
        (Idefics3 fills the row's image tokens with its images in order); pixel_attention_mask likewise."""
        import torch
        present = [v for v in values if v is not None]
        if not present:
            return None
        if any(list(v.shape[2:]) != list(present[0].shape[2:]) for v in present):
            raise ValueError(f'{key}: images of different sizes in one packed row '
                             f'({[tuple(v.shape) for v in present]})')
        return torch.cat(present, dim=1)


class SmolVLMTemplate(MultimodalTemplate):
    plugin = Idefics3Plugin()

    def _render(self, chat: Chat, out: Rendering) -> None:
        out.prompt('<|im_start|>')
        if chat.messages[0]['role'] != 'system' and self.default_system:
            out.prompt(f'System: {self.default_system}{END}\n')
        for index, message in enumerate(chat.messages):
            content = message.get('content') or ''
            separator = ':' if content.startswith(IMAGE) else ': '
            if message['role'] == 'assistant':
                if message.get('tool_calls'):
                    raise self._no_tools(index)
                self._emit_answer(chat, out, 'Assistant', f'{separator}{content}{END}\n', index)
            else:
                out.prompt(f'{message["role"].capitalize()}{separator}{content}{END}\n')
        if chat.add_generation_prompt:
            out.prompt(self.meta.generation_prompt)

    def _no_tools(self, index: int):
        from swift.utils import SwiftError
        return SwiftError(f'template {self.name!r} has no tool-call format: message {index} has "tool_calls"')


register_template(
    TemplateMeta(
        'smolvlm',
        prefix='<|im_start|>',
        prompt='User: {{QUERY}}' + END + '\n',
        response='Assistant: {{RESPONSE}}' + END + '\n',
        generation_prompt='Assistant:',
        stop_words=[END],
        template_cls=SmolVLMTemplate,
        description='SmolVLM / SmolVLM2 (Idefics3 architecture), images and videos (as frames)'))
