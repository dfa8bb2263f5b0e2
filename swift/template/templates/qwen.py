"""Qwen2.5, Qwen3 (hybrid and thinking-only) and QwQ: ChatML plus tools and think blocks.

Each method mirrors a branch of the official Jinja (Qwen/Qwen2.5-7B-Instruct, Qwen/Qwen3-*,
Qwen/QwQ-32B); comments name the quirks we keep on purpose.
"""
from typing import Any, Dict, List

from ..base import Chat, Rendering, Template, tojson
from ..registry import register_template
from .chatml import chatml_meta

TOOLS_INTRO = ('# Tools\n\nYou may call one or more functions to assist with the user query.\n\n'
               'You are provided with function signatures within <tools></tools> XML tags:\n<tools>')
TOOLS_OUTRO = ('\n</tools>\n\nFor each function call, return a json object with function name and arguments within '
               '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
               '<args-json-object>}\n</tool_call><|im_end|>\n')
QWEN_STOP_WORDS = ['<|im_end|>', '<|endoftext|>']


def tools_block(tools: List[Dict[str, Any]]) -> str:
    return TOOLS_INTRO + ''.join('\n' + tojson(tool) for tool in tools) + TOOLS_OUTRO


def tool_call_text(tool_call: Dict[str, Any], raw_string_arguments: bool) -> str:
    function = tool_call['function'] if 'function' in tool_call else tool_call
    arguments = function.get('arguments')
    if raw_string_arguments and isinstance(arguments, str):
        arguments_json = arguments  # already JSON text (OpenAI style); Qwen3's template writes it as is
    else:
        arguments_json = tojson(arguments)
    return '<tool_call>\n{"name": "' + str(function.get('name')) + '", "arguments": ' + arguments_json + '}\n</tool_call>'


class QwenTemplate(Template):
    """Shared by the Qwen family: tool results are grouped into one user turn."""
    supports_tools = True

    def _render_tool_result(self, chat: Chat, out: Rendering, index: int, content: str) -> None:
        messages = chat.messages
        if index == 0 or messages[index - 1]['role'] != 'tool':
            out.prompt('<|im_start|>user')
        out.prompt('\n<tool_response>\n' + content + '\n</tool_response>')
        if index == chat.last_index or messages[index + 1]['role'] != 'tool':
            out.prompt('<|im_end|>\n')

    def _render_plain(self, out: Rendering, role: str, content: str) -> None:
        out.prompt(f'<|im_start|>{role}\n{content}<|im_end|>\n')


class Qwen25Template(QwenTemplate):
    """Qwen2.5: a default system prompt; tool definitions go into the system block."""

    def _render(self, chat: Chat, out: Rendering) -> None:
        messages = chat.messages
        has_system = messages[0]['role'] == 'system'
        system = (messages[0].get('content') or '') if has_system else (self.default_system or '')
        if chat.tools:
            out.prompt('<|im_start|>system\n' + system + '\n\n' + tools_block(chat.tools))
        elif has_system or self.default_system is not None:
            out.prompt('<|im_start|>system\n' + system + '<|im_end|>\n')
        for index, message in enumerate(messages):
            role, content = message['role'], message.get('content') or ''
            if role == 'user' or (role == 'system' and index > 0):
                self._render_plain(out, role, content)
            elif role == 'assistant':
                self._render_assistant(chat, out, index, message, content)
            elif role == 'tool':
                self._render_tool_result(chat, out, index, content)
        if chat.add_generation_prompt:
            out.prompt(self.generation_prompt(chat))

    def _render_assistant(self, chat: Chat, out: Rendering, index: int, message: Dict[str, Any],
                          content: str) -> None:
        if message.get('tool_calls'):
            body = '\n' + content if content else ''
            # Deviation: string arguments (OpenAI style) are written as JSON text, not JSON-quoted again.
            body += ''.join('\n' + tool_call_text(c, raw_string_arguments=True) for c in message['tool_calls'])
            body = body[1:]  # the first '\n' belongs to the header, as the generation prompt has it
        else:
            body = content
        self._emit_answer(chat, out, '<|im_start|>assistant\n', body + '<|im_end|>', index)
        out.prompt('\n')

    def generation_prompt(self, chat: Chat) -> str:
        return '<|im_start|>assistant\n'


class QwQTemplate(Qwen25Template):
    """QwQ: no default system prompt; history answers lose their thinking; the prompt opens <think>."""
    supports_thinking = True

    def _render_assistant(self, chat: Chat, out: Rendering, index: int, message: Dict[str, Any],
                          content: str) -> None:
        if index != chat.last_index:
            content = content.split('</think>')[-1].lstrip('\n')
        super()._render_assistant(chat, out, index, message, content)

    def generation_prompt(self, chat: Chat) -> str:
        return '<|im_start|>assistant\n<think>\n'


class Qwen3Template(QwenTemplate):
    """Qwen3: think blocks kept only after the last real user query; enable_thinking=False closes an empty one."""
    supports_thinking = True

    def _render(self, chat: Chat, out: Rendering) -> None:
        messages = chat.messages
        has_system = messages[0]['role'] == 'system'
        system = (messages[0].get('content') or '') if has_system else self.default_system
        if chat.tools:
            out.prompt('<|im_start|>system\n' + (system + '\n\n' if system is not None else '') +
                       tools_block(chat.tools))
        elif system is not None:
            out.prompt('<|im_start|>system\n' + system + '<|im_end|>\n')
        last_query = self._last_query_index(messages)
        for index, message in enumerate(messages):
            role, content = message['role'], message.get('content') or ''
            if role == 'user' or (role == 'system' and index > 0):
                self._render_plain(out, role, content)
            elif role == 'assistant':
                self._render_assistant(chat, out, index, message, content, after_last_query=index > last_query)
            elif role == 'tool':
                self._render_tool_result(chat, out, index, content)
        if chat.add_generation_prompt:
            out.prompt(self.generation_prompt(chat))

    @staticmethod
    def _last_query_index(messages: List[Dict[str, Any]]) -> int:
        """The last user message that is not a wrapped tool response (multi-step tool use keeps thinking)."""
        for index in range(len(messages) - 1, -1, -1):
            message = messages[index]
            content = message.get('content')
            if message['role'] == 'user' and isinstance(content, str) and not (
                    content.startswith('<tool_response>') and content.endswith('</tool_response>')):
                return index
        return len(messages) - 1

    def _render_assistant(self, chat: Chat, out: Rendering, index: int, message: Dict[str, Any], content: str,
                          after_last_query: bool) -> None:
        reasoning = message.get('reasoning_content')
        if not isinstance(reasoning, str):
            reasoning = ''
            if '</think>' in content:
                reasoning = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n')
                content = content.split('</think>')[-1].lstrip('\n')
        if after_last_query and (index == chat.last_index or reasoning):
            body = '<think>\n' + reasoning.strip('\n') + '\n</think>\n\n' + content.lstrip('\n')
        else:
            body = content
        for k, call in enumerate(message.get('tool_calls') or []):
            if k > 0 or content:
                body += '\n'
            body += tool_call_text(call, raw_string_arguments=True)
        self._emit_answer(chat, out, '<|im_start|>assistant\n', body + '<|im_end|>', index)
        out.prompt('\n')

    def generation_prompt(self, chat: Chat) -> str:
        if chat.enable_thinking is False:
            return '<|im_start|>assistant\n<think>\n\n</think>\n\n'
        return '<|im_start|>assistant\n'


class Qwen3ThinkingTemplate(Qwen3Template):
    """Qwen3-*-Thinking-2507: always thinks; the generation prompt opens the think block itself."""

    def generation_prompt(self, chat: Chat) -> str:
        return '<|im_start|>assistant\n<think>\n'


register_template(
    chatml_meta(
        'qwen2_5',
        default_system='You are Qwen, created by Alibaba Cloud. You are a helpful assistant.',
        stop_words=QWEN_STOP_WORDS,
        template_cls=Qwen25Template,
        description='Qwen2.5 instruct (tools in the system block)'))
register_template(
    chatml_meta('qwq', stop_words=QWEN_STOP_WORDS, template_cls=QwQTemplate, description='QwQ-32B (thinks first)'))
register_template(
    chatml_meta(
        'qwen3', stop_words=QWEN_STOP_WORDS, template_cls=Qwen3Template,
        description='Qwen3 hybrid thinking (enable_thinking)'))
register_template(
    chatml_meta(
        'qwen3_thinking',
        stop_words=QWEN_STOP_WORDS,
        template_cls=Qwen3ThinkingTemplate,
        description='Qwen3-*-Thinking-2507 (thinking always on)'))
