"""A model's tool calls as OpenAI `tool_calls`, in whole responses and in streams.

A reply is read in the format the model was asked to call tools in (swift.template.agent: the --agent_template,
or the family's own format). When it holds calls, the message gets `tool_calls` (arguments as a JSON string,
as OpenAI sends them), its `content` is the text before the first call (null when there is none), and the
finish_reason is "tool_calls".

Streaming: text is passed on as it comes until the start of a call could be in it (a suffix that begins the
format's call marker is held back, and trailing whitespace); from the marker on, the rest is held and read at the end, then sent as one
tool_calls delta. Formats without a marker (glm4) hold the whole reply.
"""
import json
import uuid
from typing import Any, Dict, List, Optional

from swift.template.agent import AgentTemplate


def _openai_calls(calls: List[Dict[str, Any]], streaming: bool = False) -> List[Dict[str, Any]]:
    out = []
    for index, call in enumerate(calls):
        arguments = call['arguments'] if isinstance(call['arguments'], str) else json.dumps(call['arguments'],
                                                                                          ensure_ascii=False)
        entry = {'id': f'call_{uuid.uuid4().hex[:24]}', 'type': 'function',
                 'function': {'name': call['name'], 'arguments': arguments}}
        out.append({'index': index, **entry} if streaming else entry)
    return out


def apply_tool_calls(body: Dict[str, Any], parser: AgentTemplate, tools: Optional[List[Dict[str, Any]]]) -> None:
    """Rewrite a chat.completion body's choices whose text holds tool calls."""
    for choice in body['choices']:
        message = choice['message']
        content, calls = parser.parse(message.get('content') or '', tools)
        if calls:
            message['content'] = content or None
            message['tool_calls'] = _openai_calls(calls)
            choice['finish_reason'] = 'tool_calls'


class _ChoiceState:

    def __init__(self):
        self.text = ''
        self.sent = 0  # characters of text already sent as content
        self.holding = False  # a call has started: nothing more is sent as content


class ToolCallStream:
    """Turns each chat.completion.chunk body into the one to send (None: nothing to send yet)."""

    def __init__(self, parser: AgentTemplate, tools: Optional[List[Dict[str, Any]]]):
        self.parser = parser
        self.tools = tools
        self.choices: Dict[int, _ChoiceState] = {}

    def __call__(self, body: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        if body is None or not body['choices']:
            return body
        kept = []
        for choice in body['choices']:
            state = self.choices.setdefault(choice['index'], _ChoiceState())
            delta = choice['delta']
            state.text += delta.pop('content', None) or ''
            release = self._releasable(state)
            if choice['finish_reason'] is not None:
                content, calls = self.parser.parse(state.text, self.tools)
                if calls:
                    release = content[state.sent:] if len(content) > state.sent else ''
                    delta['tool_calls'] = _openai_calls(calls, streaming=True)
                    choice['finish_reason'] = 'tool_calls'
                else:
                    release = state.text[state.sent:]
            if release:
                delta['content'] = release
                state.sent += len(release)
            if delta or choice['finish_reason'] is not None or choice.get('logprobs'):
                kept.append(choice)
        if not kept:
            return None
        body['choices'] = kept
        return body

    def _releasable(self, state: _ChoiceState) -> str:
        """The text that can be sent now: up to where a call starts, or could start."""
        marker = self.parser.call_marker
        if marker is None or state.holding:
            return ''
        found = state.text.find(marker, state.sent)
        if found >= 0:
            state.holding = True
            end = len(state.text[:found].rstrip())
            return state.text[state.sent:end] if end > state.sent else ''
        end = len(state.text)
        for size in range(min(len(marker) - 1, len(state.text) - state.sent), 0, -1):
            if state.text.endswith(marker[:size]):
                end -= size
                break
        end = len(state.text[:end].rstrip())  # whitespace before a call is not content: held until text follows
        return state.text[state.sent:end] if end > state.sent else ''
