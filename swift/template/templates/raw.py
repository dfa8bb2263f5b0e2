"""`raw`: plain text with no chat format, for pre-training (`swift pt`, or `--use_chat_template false`).

Each message's content is written as it is, one after another (as ms-swift does without a chat
template); the tokenizer's BOS opens the text when the tokenizer adds one, and its EOS closes it,
so the model learns where a document ends. With loss_scale 'all' (swift pt's default) every
token, EOS included, is trained.
"""
from typing import Any, Dict, List

from ..base import Chat, Rendering, Segment, Template, TemplateMeta
from ..registry import register_template


class RawTextTemplate(Template):

    def _render(self, chat: Chat, out: Rendering) -> None:
        bos = getattr(self.tokenizer, 'bos_token', None)
        if bos and getattr(self.tokenizer, 'add_bos_token', False):
            out.prompt(bos)
        for index, message in enumerate(chat.messages):
            content = message.get('content') or ''
            if message['role'] == 'assistant':
                out.answer(content, index)
            else:
                out.prompt(content)

    def render_segments(self, messages, add_generation_prompt: bool = False, tools=None, enable_thinking=None,
                        **options: Any) -> List[Segment]:
        segments = super().render_segments(messages, add_generation_prompt, tools, enable_thinking, **options)
        eos = getattr(self.tokenizer, 'eos_token', None)
        if eos and not add_generation_prompt:
            last = next((s.answer_of for s in reversed(segments) if s.answer_of is not None), None)
            segments.append(Segment(eos, last if last is not None else len(messages) - 1))
        return segments


register_template(
    TemplateMeta(name='raw', template_cls=RawTextTemplate,
                 description='plain text, no chat format (pre-training); EOS from the tokenizer closes each text'))
