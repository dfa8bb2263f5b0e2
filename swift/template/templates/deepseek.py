"""DeepSeek: V2 chat (User:/Assistant:), V3 / V2.5, R1, R1-Distill and V3.1 (<｜User｜>/<｜Assistant｜>).

The V3-era official templates differ in small ways that we keep exactly: which system messages
count, whether </think> reasoning is dropped, how tool calls and tool outputs are joined.
"""
from typing import Any, Dict, List, Optional

from ..base import Chat, Rendering, Template, TemplateMeta
from ..registry import register_template

BOS = '<｜begin▁of▁sentence｜>'
EOS = '<｜end▁of▁sentence｜>'
USER, ASSISTANT = '<｜User｜>', '<｜Assistant｜>'
CALLS_BEGIN, CALLS_END = '<｜tool▁calls▁begin｜>', '<｜tool▁calls▁end｜>'
CALL_BEGIN, CALL_END, CALL_SEP = '<｜tool▁call▁begin｜>', '<｜tool▁call▁end｜>', '<｜tool▁sep｜>'
OUTPUTS_BEGIN, OUTPUTS_END = '<｜tool▁outputs▁begin｜>', '<｜tool▁outputs▁end｜>'
OUTPUT_BEGIN, OUTPUT_END = '<｜tool▁output▁begin｜>', '<｜tool▁output▁end｜>'


def system_prompt(chat: Chat, default: Optional[str], join: bool) -> str:
    """All system messages joined by blank lines (V3, R1, V3.1), or the last one only (R1-Distill)."""
    systems = [m.get('content') or '' for m in chat.messages if m['role'] == 'system']
    if not systems:
        return default or ''
    return '\n\n'.join(systems) if join else systems[-1]


def call_text(call: Dict[str, Any]) -> str:
    function = call['function']
    return (str(call.get('type')) + CALL_SEP + function['name'] + '\n```json\n' + function['arguments'] + '\n```' +
            CALL_END)


class DeepSeekV3Template(Template):
    """DeepSeek-V3 / V2.5; the flags below turn it into R1 and R1-Distill."""
    supports_tools = True
    think_split = False  # R1 / Distill keep only the text after </think> of every answer
    join_systems = True  # Distill keeps only the last system message
    r1_tool_calls = False  # R1's layout: calls_end after every call list, content before the calls allowed
    output_sep = '\n'  # between consecutive tool outputs ('' in R1)

    def _render(self, chat: Chat, out: Rendering) -> None:
        out.prompt(BOS + system_prompt(chat, self.default_system, self.join_systems))
        state = {'first_call_done': False, 'in_tool_outputs': False, 'first_output': True}
        for index, message in enumerate(chat.messages):
            role, content = message['role'], message.get('content')
            if role == 'user':
                state['in_tool_outputs'] = False
                out.prompt(USER + (content or ''))
            elif role == 'assistant' and self._is_tool_call_message(message):
                state['in_tool_outputs'] = False
                text = self._tool_calls_text(message, state)
                header = ASSISTANT if text.startswith(ASSISTANT) else ''
                self._emit_answer(chat, out, header, text[len(header):], index)
            elif role == 'assistant':
                self._render_answer_text(chat, out, index, content or '', state)
            elif role == 'tool':
                self._render_tool_output(out, content or '', state)
        if state['in_tool_outputs']:
            out.prompt(OUTPUTS_END)
        elif chat.add_generation_prompt:
            out.prompt(self.generation_prompt(chat))

    def _is_tool_call_message(self, message: Dict[str, Any]) -> bool:
        if self.r1_tool_calls:
            return bool(message.get('tool_calls'))
        return message.get('content') is None  # V3 / Distill: a tool call message is one without content

    def _tool_calls_text(self, message: Dict[str, Any], state: Dict[str, bool]) -> str:
        text = ''
        for call in message.get('tool_calls') or []:
            if not state['first_call_done']:
                content = message.get('content')
                lead = ASSISTANT + (content if self.r1_tool_calls and content is not None else '')
                text += lead + CALLS_BEGIN + CALL_BEGIN + call_text(call)
                state['first_call_done'] = True  # never reset: the official templates behave this way
            else:
                text += '\n' + CALL_BEGIN + call_text(call)
                if not self.r1_tool_calls:
                    text += CALLS_END + EOS
        if self.r1_tool_calls:
            text += CALLS_END + EOS
        return text

    def _render_answer_text(self, chat: Chat, out: Rendering, index: int, content: str, state: Dict[str, bool]):
        if state['in_tool_outputs']:
            state['in_tool_outputs'] = False
            self._emit_answer(chat, out, OUTPUTS_END, content + EOS, index)
            return
        if self.think_split and '</think>' in content:
            content = content.split('</think>')[-1]
        self._emit_answer(chat, out, ASSISTANT, content + EOS, index)

    def _render_tool_output(self, out: Rendering, content: str, state: Dict[str, bool]) -> None:
        state['in_tool_outputs'] = True
        if state['first_output']:
            out.prompt(OUTPUTS_BEGIN + OUTPUT_BEGIN + content + OUTPUT_END)
            state['first_output'] = False
        else:
            out.prompt(self.output_sep + OUTPUT_BEGIN + content + OUTPUT_END)

    def generation_prompt(self, chat: Chat) -> str:
        return self.meta.generation_prompt


class DeepSeekR1Template(DeepSeekV3Template):
    supports_thinking = True
    think_split = True
    r1_tool_calls = True
    output_sep = ''


class DeepSeekR1DistillTemplate(DeepSeekV3Template):
    supports_thinking = True
    think_split = True
    join_systems = False


class DeepSeekV31Template(Template):
    """DeepSeek-V3.1: hybrid thinking. enable_thinking (the official template's `thinking`) opens <think>;
    answers in the conversation are always written in non-thinking form (</think> then the answer)."""
    supports_tools = True
    supports_thinking = True

    def _render(self, chat: Chat, out: Rendering) -> None:
        thinking = self._thinking(chat)
        out.prompt(BOS + system_prompt(chat, self.default_system, join=True))
        after_user = in_tool_outputs = False
        for index, message in enumerate(chat.messages):
            role, content = message['role'], message.get('content')
            if role == 'user':
                in_tool_outputs, after_user = False, True
                out.prompt(USER + (content or ''))
            elif role == 'assistant' and message.get('tool_calls') is not None:
                header = ASSISTANT + '</think>' if after_user else ''
                after_user = in_tool_outputs = False
                self._emit_answer(chat, out, header, self._tool_calls_text(message['tool_calls'], content), index)
            elif role == 'assistant':
                header = ''
                if after_user:
                    header = ASSISTANT + ('<think>' if message.get('prefix') and thinking else '</think>')
                after_user = False
                content = content or ''
                if in_tool_outputs:
                    in_tool_outputs = False
                elif '</think>' in content:
                    content = content.split('</think>', 1)[1]
                self._emit_answer(chat, out, header, content + EOS, index)
            elif role == 'tool':
                after_user, in_tool_outputs = False, True
                out.prompt(OUTPUT_BEGIN + (content or '') + OUTPUT_END)
        if chat.add_generation_prompt and after_user and not in_tool_outputs:
            out.prompt(self.generation_prompt(chat))

    @staticmethod
    def _tool_calls_text(calls: List[Dict[str, Any]], content: Optional[str]) -> str:
        text = ''
        for k, call in enumerate(calls):
            function = call['function']
            one = CALL_BEGIN + function['name'] + CALL_SEP + function['arguments'] + CALL_END
            text += ((content or '') + CALLS_BEGIN + one) if k == 0 else one
        return text + CALLS_END + EOS

    @staticmethod
    def _thinking(chat: Chat) -> bool:
        if chat.enable_thinking is not None:
            return chat.enable_thinking
        return bool(chat.options.get('thinking', False))

    def generation_prompt(self, chat: Chat) -> str:
        return ASSISTANT + ('<think>' if self._thinking(chat) else '</think>')


def deepseek_meta(name: str, generation_prompt: str, template_cls: type, description: str) -> TemplateMeta:
    return TemplateMeta(
        name=name,
        prefix=BOS,
        response=ASSISTANT + '{{RESPONSE}}' + EOS,
        generation_prompt=generation_prompt,
        stop_words=[EOS],
        template_cls=template_cls,
        description=description)


register_template(
    TemplateMeta(
        name='deepseek',
        prefix=BOS,
        system_prefix=BOS + '{{SYSTEM}}\n\n',
        system_turn='{{SYSTEM}}\n\n',
        prompt='User: {{QUERY}}\n\n',
        response='Assistant: {{RESPONSE}}' + EOS,
        generation_prompt='Assistant:',
        stop_words=[EOS],
        description='DeepSeek-V2 / V2-Lite chat (User: / Assistant:)'))
register_template(deepseek_meta('deepseek_v3', ASSISTANT, DeepSeekV3Template, 'DeepSeek-V3, DeepSeek-V2.5'))
register_template(deepseek_meta('deepseek_r1', ASSISTANT + '<think>\n', DeepSeekR1Template, 'DeepSeek-R1'))
register_template(
    deepseek_meta('deepseek_r1_distill', ASSISTANT + '<think>\n', DeepSeekR1DistillTemplate,
                  'DeepSeek-R1-Distill-Qwen / -Llama'))
register_template(deepseek_meta('deepseek_v3_1', ASSISTANT + '</think>', DeepSeekV31Template, 'DeepSeek-V3.1'))
