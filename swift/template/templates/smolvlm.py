"""SmolVLM (Idefics3): `<|im_start|>User:<image>What is it?<end_of_utterance>\nAssistant: A cat.<end_of_utterance>\n`.

The official template (HuggingFaceTB/SmolVLM-Instruct, also SmolVLM2) writes `<|im_start|>` once, then each message
as its capitalised role, ':' when the message starts with an image and ': ' otherwise, the content, and
`<end_of_utterance>\n`; the generation prompt is `Assistant:` (the answer's leading space is the model's).
Each `<image>` expands to the processor's `<fake_token_around_image><global-img><image>…<fake_token_around_image>`
(with `<row_i_col_j>` tiles when the processor splits images).
"""
from typing import Any, List

from ..base import Chat, Rendering, TemplateMeta
from ..media import MediaPlugin, MultimodalTemplate
from ..registry import register_template

IMAGE = '<image>'
END = '<end_of_utterance>'


class Idefics3Plugin(MediaPlugin):
    placeholders = {'images': IMAGE}
    image_kwargs = {'return_row_col_info': True}  # rows/cols of the tiles: replace_image_token reads them
    drop_keys = ('rows', 'cols')
    media_options = {}  # a fixed longest edge (the processor's `size`), no pixel budget: MAX_PIXELS etc. refused

    def process_images(self, processor, images: List[Any], options):
        return super().process_images(processor, [images], options)  # one sample holding all of the row's images

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
        description='SmolVLM / SmolVLM2 (Idefics3 architecture), images'))
