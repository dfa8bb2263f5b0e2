"""Shared pieces of the multimodal families' templates (swift/template/media.py is the hook they build on).

Rows carry `<image>` / `<video>` / `<audio>` tags (swift/dataset/media.py). Each family writes an item differently
in its prompt (Qwen2-VL `<|vision_start|><|image_pad|><|vision_end|>`, LLaVA `<image>\\n` before the text, Gemma 3
`<start_of_image>`, ...): `render_tags` is that text, `_content` places it, and the plugin's `placeholders` is the
part of it that the processor's replacement text stands for (Qwen2-VL: `<|image_pad|>` → N of them).
"""
from typing import Dict, List

from ..media import MultimodalTemplate, ROW_TAGS
from ..base import Segment


class TaggedTemplate(MultimodalTemplate):
    """A MultimodalTemplate whose prompt writes each media item as the family's own text (`render_tags`)."""
    render_tags: Dict[str, str] = {'images': '<image>'}

    def _placeholder(self, key: str) -> str:
        super()._placeholder(key)  # refuses media kinds the family does not take
        return ROW_TAGS[key]  # content parts become row tags; _content turns them into the family's text

    def render_segments(self, messages, add_generation_prompt=False, tools=None, enable_thinking=None,
                        **options) -> List[Segment]:
        retagged = []
        for message in messages:
            message = self._tagged(message)
            content = message.get('content') if isinstance(message, dict) else None
            if isinstance(content, str):
                message = {**message, 'content': self._content(content, message.get('role'))}
            retagged.append(message)
        return super().render_segments(retagged, add_generation_prompt, tools, enable_thinking, **options)

    def _content(self, content: str, role: str) -> str:
        """A message's text with its row tags written as the family writes them (in place by default)."""
        for key, tag in self.render_tags.items():
            content = content.replace(ROW_TAGS[key], tag)
        return content


class MediaFirstTemplate(TaggedTemplate):
    """Families whose official template writes all of a message's media first, then its text (LLaVA's)."""

    def _content(self, content: str, role: str) -> str:
        head = ''
        for key, tag in self.render_tags.items():
            head += tag * content.count(ROW_TAGS[key])
            content = content.replace(ROW_TAGS[key], '')
        return head + content
