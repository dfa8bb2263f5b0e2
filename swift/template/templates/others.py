"""Smaller families: Yi, Baichuan2, Falcon3, OLMo, OLMo-2, MiniCPM."""
from typing import Any, Dict

from ..base import Chat, Rendering, Template, TemplateMeta, tojson
from ..registry import register_template

FALCON_TOOLS_SYSTEM = (
    'You are a Falcon assistant skilled in function calling. You are helpful, respectful, and concise.\n\n# Tools\n\n'
    'You have access to the following functions. You MUST use them to answer questions when needed. For each function '
    'call, you MUST return a JSON object inside <tool_call></tool_call> tags.\n\n<tools>')
FALCON_TOOLS_FORMAT = (
    '</tools>\n\n# Output Format\n\nYour response MUST follow this format when making function calls:\n<tool_call>\n'
    '[\n  {"name": "function_name", "arguments": {"arg1": "value1", "arg2": "value2"}},\n  {"name": '
    '"another_function", "arguments": {"arg": "value"}}\n]\n</tool_call>\nIf no function calls are needed, respond '
    'normally without the tool_call tags.\n')


class Falcon3Template(Template):
    """Falcon3: a plain layout, and with tools a different one (tool definitions in the system turn)."""
    supports_tools = True

    def _render(self, chat: Chat, out: Rendering) -> None:
        if not chat.tools:
            super()._render(chat, out)
            return
        messages = chat.messages
        start = 1 if messages[0]['role'] == 'system' else 0
        system = (messages[0].get('content') or '') if start else ''
        out.prompt('<|system|>\n' + system + FALCON_TOOLS_SYSTEM + tojson(chat.tools, indent=2) + FALCON_TOOLS_FORMAT)
        for index in range(start, len(messages)):
            message = messages[index]
            role, content = message['role'], message.get('content') or ''
            if role == 'user':
                out.prompt('<|user|>\n' + content + '\n')
            elif role == 'assistant':
                self._render_tool_mode_answer(chat, out, index, message, content)
            elif role == 'tool':
                out.prompt('<|assistant|>\n<tool_response>\n' + content + '\n</tool_response>\n')
        if chat.add_generation_prompt:
            out.prompt('<|assistant|>\n')

    def _render_tool_mode_answer(self, chat: Chat, out: Rendering, index: int, message: Dict[str, Any],
                                 content: str) -> None:
        header = '<|assistant|>\n' if content else ''
        body = content
        if message.get('tool_calls'):
            body += '\n<tool_call>\n' + tojson(message['tool_calls'], indent=2) + '\n</tool_call>'
        self._emit_answer(chat, out, header, body + '<|endoftext|>', index)
        out.prompt('\n')


register_template(
    TemplateMeta(
        name='yi',
        system_prefix='{{SYSTEM}}',
        prompt='<|im_start|>user\n{{QUERY}}<|im_end|>\n<|im_start|>assistant\n',
        response='{{RESPONSE}}<|im_end|>',
        chat_sep='\n',
        stop_words=['<|im_end|>', '<|endoftext|>'],
        description='Yi / Yi-1.5 chat (system prompt written bare; every user turn opens the answer)'))
# No official chat template exists: this follows Baichuan2's own generation code (user token <reserved_106>,
# assistant token <reserved_107>, EOS after each answer).
register_template(
    TemplateMeta(
        name='baichuan2',
        system_prefix='{{SYSTEM}}',
        prompt='<reserved_106>{{QUERY}}<reserved_107>',
        response='{{RESPONSE}}</s>',
        stop_words=['</s>'],
        description='Baichuan2 chat'))
TULU = dict(
    system_prefix='<|system|>\n{{SYSTEM}}\n',
    system_turn='<|system|>\n{{SYSTEM}}\n',
    prompt='<|user|>\n{{QUERY}}\n',
    response='<|assistant|>\n{{RESPONSE}}<|endoftext|>',
    chat_sep='\n',
    chat_sep_after_last=False,
    stop_words=['<|endoftext|>'],
)
register_template(TemplateMeta(name='falcon3', **TULU, template_cls=Falcon3Template, description='Falcon3 instruct'))
register_template(
    TemplateMeta(
        name='olmo2',
        **{**TULU, 'prefix': '<|endoftext|>', 'system_prefix': '<|endoftext|><|system|>\n{{SYSTEM}}\n'},
        description='OLMo-2 instruct (Tulu 3 format)'))
# OLMo (0724) ignores system messages, as its official template does (with a warning here).
register_template(
    TemplateMeta(
        name='olmo',
        prefix='<|endoftext|>',
        prompt='<|user|>\n{{QUERY}}\n',
        response='<|assistant|>\n{{RESPONSE}}<|endoftext|>',
        chat_sep='\n',
        stop_words=['<|endoftext|>'],
        description='OLMo-7B-0724 instruct'))
register_template(
    TemplateMeta(
        name='minicpm',
        system_prefix='{{SYSTEM}}',
        system_turn='{{SYSTEM}}',
        prompt='<用户>{{QUERY}}<AI>',
        response='{{RESPONSE}}',
        tool_prompt='{{QUERY}}',
        train_suffix='</s>',  # the official template writes no end of answer; EOS teaches the model to stop
        stop_words=['</s>', '<用户>'],
        description='MiniCPM (2B sft)'))
