"""Gemma 1/2 and Gemma 3: <start_of_turn>user|model, contents trimmed."""
from typing import Optional

from ..base import Template, TemplateMeta
from ..registry import register_template


class GemmaTemplate(Template):
    """The system prompt opens the first user turn, untrimmed, before the trimmed user text (Gemma 3's layout).

    Gemma 1/2's official template refuses a system message; we use Gemma 3's layout for it instead.
    """

    def _query_text(self, content: str, system: Optional[str]) -> str:
        return (system + '\n\n' if system is not None else '') + content.strip()


def gemma_meta(name: str, description: str) -> TemplateMeta:
    return TemplateMeta(
        name=name,
        prefix='<bos>',
        system_in_user='{{SYSTEM}}',  # merged by GemmaTemplate._query_text
        prompt='<start_of_turn>user\n{{QUERY}}<end_of_turn>\n',
        response='<start_of_turn>model\n{{RESPONSE}}<end_of_turn>',
        chat_sep='\n',
        strip_content=True,
        stop_words=['<end_of_turn>', '<eos>'],
        template_cls=GemmaTemplate,
        description=description)


register_template(gemma_meta('gemma', 'Gemma and Gemma 2 instruct'))
register_template(gemma_meta('gemma3', 'Gemma 3 instruct (text)'))
