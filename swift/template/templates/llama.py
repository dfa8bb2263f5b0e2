"""Llama 2 chat, Llama 3 instruct, and Llama 3.1/3.2/3.3 (date block and JSON tool calls)."""
from datetime import datetime
from typing import Any, Dict, List, Optional

from swift.utils import SwiftError

from ..base import Chat, Rendering, Template, TemplateMeta, tojson
from ..registry import register_template

BOS3 = '<|begin_of_text|>'


def header(role: str) -> str:
    return f'<|start_header_id|>{role}<|end_header_id|>\n\n'


class Llama2Template(Template):
    """Llama 2 merges the system prompt into the first [INST] and strips the merged text as a whole."""

    def _query_text(self, content: str, system: Optional[str]) -> str:
        if system is not None:
            content = '<<SYS>>\n' + system + '\n<</SYS>>\n\n' + content
        return content.strip()


class Llama32Template(Template):
    """Llama 3.2: a system block with the knowledge-cutoff and today's date, and JSON tool calls.

    The date: `date_string` if given (a row's key, or render(..., date_string=...): pin it for reproducible
    training data), else today's, as the official template renders it through transformers' apply_chat_template
    (strftime_now("%d %b %Y")) and as vLLM serves it. Llama 3.1 and 3.3 (Llama31Template) write their official
    template's fixed "26 Jul 2024" instead.
    Tools go into the first user message (tools_in_user_message=True, the official default) or the
    system block (tools_in_user_message=False).
    """
    supports_tools = True
    DEFAULT_DATE: Optional[str] = None  # None: today's date, as the official template

    def default_date(self) -> str:
        return self.DEFAULT_DATE or datetime.now().strftime('%d %b %Y')
    TOOLS_GUIDE = ('Respond in the format {"name": function name, "parameters": dictionary of argument name and its '
                   'value}.Do not use variables.\n\n')

    def _render(self, chat: Chat, out: Rendering) -> None:
        messages, tools = chat.messages, chat.tools
        in_user = chat.options.get('tools_in_user_message', True)
        start = 0
        system = self.default_system or ''
        if messages[0]['role'] == 'system':
            system, start = (messages[0].get('content') or '').strip(), 1
        out.prompt(BOS3 + self._system_block(system, tools, in_user, chat.options.get('date_string')))
        if tools is not None and in_user:
            if start >= len(messages):
                raise SwiftError("template 'llama3_2': tools go into the first user message, but there is none")
            first = (messages[start].get('content') or '').strip()
            start += 1
            out.prompt(header('user') + 'Given the following functions, please respond with a JSON for a function '
                       'call with its proper arguments that best answers the given prompt.\n\n' + self.TOOLS_GUIDE +
                       self._tools_json(tools) + first + '<|eot_id|>')
        for index in range(start, len(messages)):
            self._render_message(chat, out, index)
        if chat.add_generation_prompt:
            out.prompt(header('assistant'))

    def _system_block(self, system: str, tools: Optional[List[Dict[str, Any]]], in_user: bool,
                      date_string: Optional[str]) -> str:
        text = header('system')
        if tools is not None:
            text += 'Environment: ipython\n'
        date = date_string or self.default_date()
        text += 'Cutting Knowledge Date: December 2023\n' + 'Today Date: ' + date + '\n\n'
        if tools is not None and not in_user:
            text += ('You have access to the following functions. To call a function, please respond with JSON for a '
                     'function call.' + self.TOOLS_GUIDE + self._tools_json(tools))
        return text + system + '<|eot_id|>'

    @staticmethod
    def _tools_json(tools: List[Dict[str, Any]]) -> str:
        return ''.join(tojson(tool, indent=4) + '\n\n' for tool in tools)

    def _render_message(self, chat: Chat, out: Rendering, index: int) -> None:
        message = chat.messages[index]
        role, content = message['role'], message.get('content') or ''
        if message.get('tool_calls'):
            if len(message['tool_calls']) != 1:
                raise SwiftError(f'message {index}: Llama 3.1+ supports a single tool call per message '
                                 f'(got {len(message["tool_calls"])})')
            function = message['tool_calls'][0]['function']
            body = '{"name": "' + function['name'] + '", "parameters": ' + tojson(function['arguments']) + '}'
            self._emit_answer(chat, out, header('assistant'), body + '<|eot_id|>', index)
        elif role == 'tool':
            # The official template writes tool output as JSON (a string output becomes a JSON string).
            out.prompt(header('ipython') + tojson(content) + '<|eot_id|>')
        elif role == 'assistant':
            self._emit_answer(chat, out, header('assistant'), content.strip() + '<|eot_id|>', index)
        else:
            out.prompt(header(role) + content.strip() + '<|eot_id|>')

    def generation_prompt(self, chat: Chat) -> str:
        return header('assistant')


class Llama31Template(Llama32Template):
    """Llama 3.1 / 3.3: Llama 3.2's format; their official templates fix the date to "26 Jul 2024"."""
    DEFAULT_DATE = '26 Jul 2024'


register_template(
    TemplateMeta(
        name='llama',
        prompt='<s>[INST] {{QUERY}} [/INST]',
        response=' {{RESPONSE}} </s>',
        generation_prompt='',
        system_in_user='{{SYSTEM}}',  # merged by Llama2Template._query_text
        strip_content=True,
        stop_words=['</s>'],
        template_cls=Llama2Template,
        description='Llama 2 chat ([INST] with <<SYS>>)'))
register_template(
    TemplateMeta(
        name='llama3',
        prefix=BOS3,
        system_prefix=BOS3 + header('system') + '{{SYSTEM}}<|eot_id|>',
        system_turn=header('system') + '{{SYSTEM}}<|eot_id|>',
        prompt=header('user') + '{{QUERY}}<|eot_id|>',
        response=header('assistant') + '{{RESPONSE}}<|eot_id|>',
        tool_prompt=header('tool') + '{{QUERY}}<|eot_id|>',
        strip_content=True,
        stop_words=['<|eot_id|>'],
        description='Meta-Llama-3 instruct'))


def _register_dated_llama3(name: str, template_cls: type, description: str) -> None:
    """Llama 3.1/3.3 and 3.2 share one format; their template classes differ only in the date they render."""
    register_template(
        TemplateMeta(
            name=name,
            prefix=BOS3,
            response=header('assistant') + '{{RESPONSE}}<|eot_id|>',
            stop_words=['<|eot_id|>', '<|eom_id|>'],
            template_cls=template_cls,
            description=description))


_register_dated_llama3('llama3_1', Llama31Template,
                       'Llama 3.1 / 3.3 instruct (date block with the fixed "26 Jul 2024", JSON tool calls)')
_register_dated_llama3('llama3_2', Llama32Template, "Llama 3.2 instruct (date block with today's date, JSON tool calls)")
