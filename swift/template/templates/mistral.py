"""Mistral instruct v0.1/v0.2 (and Mixtral), v0.3 and Nemo ([INST] ... [/INST])."""
from typing import Any, Dict, List, Optional

from swift.utils import SwiftError

from ..base import Chat, Rendering, Template, TemplateMeta, tojson
from ..registry import register_template


class MistralV3Template(Template):
    """Mistral v0.3 and Nemo: the system prompt and the tool list go into the LAST user message.

    This is the official behaviour, kept on purpose: a conversation that ends with an assistant
    answer renders no system prompt at all. Tool call IDs must be 9 characters, as the
    official template requires.
    """
    supports_tools = True

    def __init__(self, meta: TemplateMeta, **kwargs):
        super().__init__(meta, **kwargs)
        self.space = ' ' if meta.name == 'mistral_v3' else ''  # v0.3 writes '[INST] ', Nemo '[INST]'

    def _render(self, chat: Chat, out: Rendering) -> None:
        messages = chat.messages
        system = self.default_system
        if messages[0]['role'] == 'system':
            system, messages = messages[0].get('content') or '', messages[1:]
        offset = len(chat.messages) - len(messages)
        user_messages = [m for m in messages if m['role'] == 'user']
        out.prompt('<s>')
        for k, message in enumerate(messages):
            role, content = message['role'], message.get('content') or ''
            index = k + offset
            if role == 'user':
                # The tool list goes before every user message equal to the last one, as the official `==` does.
                if chat.tools is not None and message == user_messages[-1]:
                    out.prompt(self._tools_text(chat.tools))
                if k == len(messages) - 1 and system is not None:
                    content = system + '\n\n' + content
                out.prompt('[INST]' + self.space + content + '[/INST]')
            elif message.get('tool_calls'):
                out.answer(self._tool_calls_text(message['tool_calls'], index) + '</s>', index)
            elif role == 'assistant':
                text = ' ' + content.strip() if self.space else content
                out.answer(text + '</s>', index)
            elif role == 'tool':
                out.prompt(self._tool_result_text(message, index))
            else:
                raise SwiftError(f'template {self.name!r}: message {index} is a system message; only the first '
                                 'message may be one')
        if chat.add_generation_prompt:
            out.prompt(self.generation_prompt(chat))

    def _tools_text(self, tools: List[Dict[str, Any]]) -> str:
        text = '[AVAILABLE_TOOLS]' + self.space + '['
        for k, tool in enumerate(tools):
            function = tool['function']
            fields = [(key, value) for key, value in function.items() if key != 'return']
            text += '{"type": "function", "function": {'
            text += ', '.join('"' + key + '": ' + ('"' + value + '"' if isinstance(value, str) else tojson(value))
                              for key, value in fields)
            text += '}}' + (', ' if k < len(tools) - 1 else ']')
        return text + '[/AVAILABLE_TOOLS]'

    def _tool_calls_text(self, tool_calls: List[Dict[str, Any]], index: int) -> str:
        parts = []
        for call in tool_calls:
            self._check_call_id(call.get('id'), index)
            parts.append(tojson(call['function'])[:-1] + ', "id": "' + call['id'] + '"}')
        return '[TOOL_CALLS]' + self.space + '[' + ', '.join(parts) + ']'

    def _tool_result_text(self, message: Dict[str, Any], index: int) -> str:
        self._check_call_id(message.get('tool_call_id'), index)
        return ('[TOOL_RESULTS]' + self.space + '{"content": ' + str(message.get('content')) + ', ' + '"call_id": "' +
                message['tool_call_id'] + '"}[/TOOL_RESULTS]')

    @staticmethod
    def _check_call_id(call_id: Optional[str], index: int) -> None:
        if not isinstance(call_id, str) or len(call_id) != 9:
            raise SwiftError(f'message {index}: Mistral tool call IDs must be alphanumeric strings of length 9, '
                             f'got {call_id!r}')


register_template(
    TemplateMeta(
        name='mistral',
        prefix='<s>',
        prompt=' [INST] {{QUERY}} [/INST]',
        system_in_user='{{SYSTEM}}\n\n{{QUERY}}',
        response=' {{RESPONSE}}</s>',
        generation_prompt='',
        stop_words=['</s>'],
        description='Mistral-7B-Instruct v0.1 / v0.2, Mixtral-8x7B-Instruct (system merged into the first [INST])'))
register_template(
    TemplateMeta(
        name='mistral_v3',
        prefix='<s>',
        prompt='[INST] {{QUERY}}[/INST]',
        response=' {{RESPONSE}}</s>',
        generation_prompt='',
        stop_words=['</s>'],
        template_cls=MistralV3Template,
        description='Mistral-7B-Instruct v0.3 (system and tools in the last [INST])'))
register_template(
    TemplateMeta(
        name='mistral_nemo',
        prefix='<s>',
        prompt='[INST]{{QUERY}}[/INST]',
        response='{{RESPONSE}}</s>',
        generation_prompt='',
        stop_words=['</s>'],
        template_cls=MistralV3Template,
        description='Mistral-Nemo-Instruct-2407 (system and tools in the last [INST])'))
