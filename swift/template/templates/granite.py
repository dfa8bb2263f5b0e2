"""IBM Granite 3.x: <|start_of_role|>role<|end_of_role|>content<|end_of_text|>.

3.0 has no default system prompt. 3.1 and later write one that names today's date (as
strftime('%B %d, %Y'), like the official templates; pass date_string= to pin it) and
changes with tools and, from 3.2, with thinking (enable_thinking, the official `thinking`).
Documents (RAG) and `controls` are not implemented.
"""
from datetime import datetime
from typing import Any, Dict, Optional

from ..base import Chat, Rendering, Template, TemplateMeta, tojson
from ..registry import register_template

END = '<|end_of_text|>'


def role(name: str) -> str:
    return f'<|start_of_role|>{name}<|end_of_role|>'


class Granite30Template(Template):
    """Granite 3.0: tool definitions first, as an available_tools turn; tool results in the tool_response role."""
    supports_tools = True

    def _render(self, chat: Chat, out: Rendering) -> None:
        if chat.tools:
            out.prompt(role('available_tools') + '\n' + '\n\n'.join(tojson(t, indent=4) for t in chat.tools) + END +
                       '\n')
        super()._render(chat, out)


class Granite31Template(Template):
    supports_tools = True
    tools_role = 'tools'
    date_sep = '\n'  # 3.3 writes its default system prompt on one line
    tools_text = (" You are a helpful AI assistant with access to the following tools. When a tool is required to "
                  "answer the user's query, respond with <|tool_call|> followed by a JSON list of tools used. If a tool "
                  "does not exist in the provided list of tools, notify the user that you do not have the ability to "
                  "fulfill the request.")
    thinking_text: Optional[str] = None  # 3.2+

    def _render(self, chat: Chat, out: Rendering) -> None:
        messages = chat.messages
        system, start = self._leading_system(chat)
        if system is not None:
            out.prompt(role('system') + system + END + '\n')
        if chat.tools:
            out.prompt(role(self.tools_role) + tojson(chat.tools, indent=4) + END + '\n')
        for index in range(start, len(messages)):
            message = messages[index]
            if message['role'] == 'assistant':
                self._render_answer(chat, out, index)
            else:
                out.prompt(role(message['role']) + (message.get('content') or '') + END + '\n')
        if chat.add_generation_prompt and start < len(messages):
            out.prompt(self.generation_prompt(chat))

    def _default_system(self, chat: Chat) -> Optional[str]:
        if self.system_overridden:
            return self.default_system
        date = chat.options.get('date_string') or datetime.now().strftime('%B %d, %Y')
        sep = self.date_sep
        text = f"Knowledge Cutoff Date: April 2024.{sep}Today's Date: {date}.{sep}You are Granite, developed by IBM."
        if chat.tools:
            return text + self.tools_text
        if self.thinking_text and self._thinking(chat):
            return text + self.thinking_text
        return text + ' You are a helpful AI assistant.'

    @staticmethod
    def _thinking(chat: Chat) -> bool:
        return bool(chat.enable_thinking if chat.enable_thinking is not None else chat.options.get('thinking'))


_THINKING_INTRO = (
    " You are a helpful AI assistant.\nRespond to every user query in a comprehensive and detailed way. You can write "
    "down your thoughts and reasoning process before responding. In the thought process, engage in a comprehensive "
    "cycle of analysis, summarization, exploration, reassessment, reflection, backtracing, and iteration to develop "
    "well-considered thinking process. In the response section, based on various attempts, explorations, and "
    "reflections from the thoughts section, systematically present the final solution that you deem correct. The "
    "response should summarize the thought process. ")


class Granite32Template(Granite31Template):
    supports_thinking = True
    thinking_text = (_THINKING_INTRO + "Write your thoughts after 'Here is my thought process:' and write your response "
                     "after 'Here is my response:' for each user query.")


class Granite33Template(Granite31Template):
    supports_thinking = True
    tools_role = 'available_tools'
    date_sep = ' '
    tools_text = (" You are a helpful assistant with access to the following tools. When a tool is required to answer "
                  "the user's query, respond only with <|tool_call|> followed by a JSON list of tools used. If a tool "
                  "does not exist in the provided list of tools, notify the user that you do not have the ability to "
                  "fulfill the request.")
    thinking_text = (_THINKING_INTRO + 'Write your thoughts between <think></think> and write your response between '
                     '<response></response> for each user query.')


def granite_meta(name: str, template_cls: type, description: str, **overrides: Any) -> TemplateMeta:
    fields: Dict[str, Any] = dict(
        system_prefix=role('system') + '{{SYSTEM}}' + END + '\n',
        system_turn=role('system') + '{{SYSTEM}}' + END + '\n',
        prompt=role('user') + '{{QUERY}}' + END + '\n',
        response=role('assistant') + '{{RESPONSE}}' + END,
        chat_sep='\n',
        tool_prompt=role('tool') + '{{QUERY}}' + END + '\n',
        stop_words=[END],
    )
    fields.update(overrides)
    return TemplateMeta(name=name, template_cls=template_cls, description=description, **fields)


register_template(
    granite_meta('granite', Granite30Template, 'Granite 3.0 instruct',
                 tool_prompt=role('tool_response') + '{{QUERY}}' + END + '\n'))
register_template(granite_meta('granite3_1', Granite31Template, 'Granite 3.1 instruct (dated default system prompt)'))
register_template(granite_meta('granite3_2', Granite32Template, 'Granite 3.2 instruct (thinking option)'))
register_template(granite_meta('granite3_3', Granite33Template, 'Granite 3.3 instruct'))
