"""Cohere Command-R and Command-R7B (plain chat; the official tool_use / rag variants are not implemented)."""
from ..base import Template, TemplateMeta
from ..registry import register_template

TURN = '<|START_OF_TURN_TOKEN|>'
END = '<|END_OF_TURN_TOKEN|>'
SYSTEM, USER, CHATBOT = '<|SYSTEM_TOKEN|>', '<|USER_TOKEN|>', '<|CHATBOT_TOKEN|>'


class CommandRTemplate(Template):
    """User and assistant texts are stripped; the system prompt is written as given."""

    def _clean(self, text: str, role: str) -> str:
        return text if role == 'system' else text.strip()


register_template(
    TemplateMeta(
        name='command_r',
        prefix='<BOS_TOKEN>',
        system_prefix='<BOS_TOKEN>' + TURN + SYSTEM + '{{SYSTEM}}' + END,
        prompt=TURN + USER + '{{QUERY}}' + END,
        response=TURN + CHATBOT + '{{RESPONSE}}' + END,
        strip_content=True,
        stop_words=[END],
        template_cls=CommandRTemplate,
        description='Command-R (c4ai-command-r-v01)'))
register_template(
    TemplateMeta(
        name='command_r7b',
        # The official template writes an empty system turn when there is no system prompt.
        prefix='<BOS_TOKEN>' + TURN + SYSTEM + END,
        system_prefix='<BOS_TOKEN>' + TURN + SYSTEM + '{{SYSTEM}}' + END,
        prompt=TURN + USER + '{{QUERY}}' + END,
        response=TURN + CHATBOT + '<|START_RESPONSE|>{{RESPONSE}}<|END_RESPONSE|>' + END,
        strip_content=True,
        stop_words=[END, '<|END_RESPONSE|>'],
        template_cls=CommandRTemplate,
        description='Command-R7B (c4ai-command-r7b-12-2024), plain chat'))
