"""The template engine: a conversation in, the model's prompt text out, as a list of segments.

A template renders a conversation into `Segment`s: pieces of text that are either prompt
(never trained) or part of one assistant message's answer (trained). Joining the segments
gives exactly the string the model's official chat template renders; `encode` tokenizes
that string once and labels each token by the segment it starts in (see encoding.py).

Simple families are declarative: a `TemplateMeta` with `{{SYSTEM}}`, `{{QUERY}}` and
`{{RESPONSE}}` slots, rendered message by message by `Template._render`. Families with
real logic (tools, thinking, dates) subclass `Template` and override `_render` or a hook.
"""
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from swift.utils import SwiftError, did_you_mean, get_logger

logger = get_logger()

ROLES = ('system', 'user', 'assistant', 'tool')
LOSS_SCALES = ('default', 'last_round', 'all')
TRUNCATION_STRATEGIES = ('delete', 'left', 'right')
_SLOT_RE = re.compile(r'\{\{(SYSTEM|QUERY|RESPONSE)\}\}')
# Other names datasets use for a message's reasoning; transformers reads them the same way.
_REASONING_ALIASES = ('thinking', 'reasoning')


def fill(pattern: str, **slots: str) -> str:
    """Put values into a pattern's {{SLOT}}s in one pass, so text inside a value is never re-filled."""
    return _SLOT_RE.sub(lambda m: slots[m.group(1)], pattern)


def tojson(value: Any, indent: Optional[int] = None) -> str:
    """JSON exactly as the `tojson` filter of transformers' chat-template environment writes it."""
    return json.dumps(value, ensure_ascii=False, indent=indent)


@dataclass
class Segment:
    """A piece of rendered text; `answer_of` is the index of the assistant message it answers, or None for prompt."""
    text: str
    answer_of: Optional[int] = None


class Rendering:
    """Collects segments while a template renders."""

    def __init__(self):
        self.segments: List[Segment] = []

    def prompt(self, text: str) -> None:
        if text:
            self.segments.append(Segment(text))

    def answer(self, text: str, message_index: int) -> None:
        if text:
            self.segments.append(Segment(text, message_index))

    @property
    def text(self) -> str:
        return ''.join(s.text for s in self.segments)


@dataclass
class Chat:
    """One validated render request."""
    messages: List[Dict[str, Any]]
    tools: Optional[List[Dict[str, Any]]] = None
    add_generation_prompt: bool = False
    enable_thinking: Optional[bool] = None
    options: Dict[str, Any] = field(default_factory=dict)  # family-specific: date_string, tools_in_user_message, ...

    @property
    def last_index(self) -> int:
        return len(self.messages) - 1


@dataclass
class TemplateMeta:
    """A family's chat format, declared piece by piece (in the spirit of ms-swift's TemplateMeta).

    Rendering, message by message:
      system_prefix (with {{SYSTEM}}) when there is a system prompt, else prefix;
      prompt (with {{QUERY}}) for each user message;
      response (with {{RESPONSE}}) for each assistant message, then chat_sep;
      tool_prompt (with {{QUERY}}) for each tool result;
      generation_prompt when add_generation_prompt, else suffix.
    Training labels start where generation starts: an assistant turn is trained from the end of
    `generation_prompt` (by default the part of `response` before {{RESPONSE}}) through its
    end-of-turn token; chat_sep is not trained.
    """
    name: str
    prompt: str = '{{QUERY}}'
    response: str = '{{RESPONSE}}'
    prefix: str = ''
    system_prefix: Optional[str] = None  # None: no system block (see system_in_user)
    system_in_user: Optional[str] = None  # e.g. '{{SYSTEM}}\n\n{{QUERY}}': system merged into the first user message
    system_turn: Optional[str] = None  # a system message after the first one; None: not supported
    chat_sep: str = ''
    chat_sep_after_last: bool = True  # False: chat_sep only separates an answer from a following message
    generation_prompt: Optional[str] = None
    suffix: str = ''  # appended when add_generation_prompt is False (Phi-3 writes its eos there)
    tool_prompt: Optional[str] = None  # a tool result message; None: not supported
    train_suffix: str = ''  # trained end-of-turn token added by encode() when the official template writes none
    default_system: Optional[str] = None
    stop_words: List[str] = field(default_factory=list)
    strip_content: bool = False  # the official template trims message contents
    template_cls: Optional[type] = None  # a Template subclass for families that need logic
    description: str = ''

    def __post_init__(self):
        if self.response.count('{{RESPONSE}}') != 1:
            raise SwiftError(f'template {self.name!r}: response must contain {{{{RESPONSE}}}} exactly once')
        if self.generation_prompt is None:
            self.generation_prompt = self.response.split('{{RESPONSE}}')[0]


class Template:
    """Renders conversations in one family's format; with a tokenizer, also encodes them for training."""
    supports_tools = False
    supports_thinking = False

    def __init__(self,
                 meta: TemplateMeta,
                 tokenizer=None,
                 default_system: Optional[str] = None,
                 max_length: Optional[int] = None,
                 loss_scale: str = 'default',
                 truncation_strategy: str = 'delete'):
        from .loss_scale import split_loss_scale
        split_loss_scale(loss_scale)  # a SwiftError naming the choices
        if truncation_strategy not in TRUNCATION_STRATEGIES:
            raise SwiftError(f'unknown truncation_strategy {truncation_strategy!r}; choose one of '
                             f'{", ".join(TRUNCATION_STRATEGIES)}')
        self.meta = meta
        self.tokenizer = tokenizer
        # None keeps the family's default; '' means no default system prompt at all.
        self.default_system = meta.default_system if default_system is None else (default_system or None)
        self.system_overridden = default_system is not None
        self.max_length = max_length
        self.loss_scale = loss_scale
        self.truncation_strategy = truncation_strategy
        self.agent_template = None  # an AgentTemplate (agent.py): tools and tool calls written in its format
        self.enable_thinking: Optional[bool] = None  # the default of requests that do not say
        if tokenizer is not None:
            self._check_tokenizer(tokenizer)

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def stop_words(self) -> List[str]:
        return list(self.meta.stop_words)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.name!r})'

    # ---- public API ----

    def render(self,
               messages: Sequence[Dict[str, Any]],
               add_generation_prompt: bool = False,
               tools: Optional[List[Dict[str, Any]]] = None,
               enable_thinking: Optional[bool] = None,
               **options: Any) -> str:
        """The prompt text, character for character as the family's official chat template writes it."""
        return ''.join(s.text for s in self.render_segments(messages, add_generation_prompt, tools, enable_thinking,
                                                            **options))

    def render_segments(self,
                        messages: Sequence[Dict[str, Any]],
                        add_generation_prompt: bool = False,
                        tools: Optional[List[Dict[str, Any]]] = None,
                        enable_thinking: Optional[bool] = None,
                        **options: Any) -> List[Segment]:
        messages, tools = normalize_messages(messages, self.name), normalize_tools(tools, self.name)
        if self.agent_template is not None:  # tools and calls become plain text in the agent template's format
            messages, tools = self.agent_template.to_plain_messages(messages, tools, self.default_system), None
        if enable_thinking is None:
            enable_thinking = self.enable_thinking
        chat = Chat(messages, tools, bool(add_generation_prompt), enable_thinking, options)
        if chat.tools is not None and not self.supports_tools:
            raise SwiftError(f'template {self.name!r} has no tool format (its official chat template does not '
                             'render tool definitions); remove "tools" or choose a template that supports them')
        out = Rendering()
        self._render(chat, out)
        return out.segments

    def encode(self, row: Dict[str, Any], for_inference: bool = False) -> Dict[str, Any]:
        """Token ids (and, for training, labels) of one dataset row {'messages': [...], 'tools': ...}."""
        from .encoding import encode_row  # encoding.py builds on this module's Segment: imported when used
        return encode_row(self, row, for_inference)

    # ---- the declarative renderer; subclasses override _render or its hooks ----

    def _render(self, chat: Chat, out: Rendering) -> None:
        meta = self.meta
        system, start = self._leading_system(chat)
        if system is not None and meta.system_prefix is not None:
            out.prompt(fill(meta.system_prefix, SYSTEM=self._clean(system, 'system')))
            pending_system = None
        else:
            out.prompt(meta.prefix)
            pending_system = self._system_for_first_user(system)
        for index in range(start, len(chat.messages)):
            message = chat.messages[index]
            role, content = message['role'], message.get('content') or ''
            if role == 'user':
                out.prompt(fill(meta.prompt, QUERY=self._query_text(content, pending_system)))
                pending_system = None
            elif role == 'assistant':
                self._render_answer(chat, out, index)
            elif role == 'tool':
                out.prompt(fill(self._require(meta.tool_prompt, 'tool messages'), QUERY=self._clean(content, 'tool')))
            else:
                pattern = self._require(meta.system_turn, 'a system message after the first message')
                out.prompt(fill(pattern, SYSTEM=self._clean(content, 'system')))
        out.prompt(self.generation_prompt(chat) if chat.add_generation_prompt else meta.suffix)

    def _render_answer(self, chat: Chat, out: Rendering, index: int) -> None:
        message = chat.messages[index]
        if message.get('tool_calls'):
            raise SwiftError(f'template {self.name!r} has no tool-call format: message {index} has "tool_calls"')
        head, tail = self.meta.response.split('{{RESPONSE}}')
        self._emit_answer(chat, out, head, self._clean(message.get('content') or '', 'assistant') + tail, index)
        if self.meta.chat_sep_after_last or index < chat.last_index:
            out.prompt(self.meta.chat_sep)

    def _emit_answer(self, chat: Chat, out: Rendering, header: str, body: str, index: int) -> None:
        """Write one assistant turn; its labels start where the model starts generating.

        When the turn begins with the generation prompt, that prompt is not trained (even if
        part of it sits in the answer's text, e.g. Qwen3's empty think block); otherwise
        everything after `header` is.
        """
        text = header + body
        generation_prompt = self.generation_prompt(chat)
        split = len(generation_prompt) if text.startswith(generation_prompt) else len(header)
        out.prompt(text[:split])
        out.answer(text[split:], index)

    def generation_prompt(self, chat: Chat) -> str:
        return self.meta.generation_prompt

    def _leading_system(self, chat: Chat):
        """(system prompt or None, index of the first message after it)."""
        messages = chat.messages
        if messages and messages[0]['role'] == 'system':
            return messages[0].get('content') or '', 1
        return self._default_system(chat), 0

    def _default_system(self, chat: Chat) -> Optional[str]:
        return self.default_system

    def _system_for_first_user(self, system: Optional[str]) -> Optional[str]:
        if system is not None and self.meta.system_in_user is None:
            logger.warning(f'template {self.name!r}: the official chat template ignores system prompts; '
                           'the system prompt is dropped')
            return None
        return system

    def _query_text(self, content: str, system: Optional[str]) -> str:
        """A user message's text; the system prompt joins the first one where the family has no system block."""
        if system is not None:
            content = fill(self.meta.system_in_user, SYSTEM=system, QUERY=content)
        return self._clean(content, 'user')

    def _clean(self, text: str, role: str) -> str:
        return text.strip() if self.meta.strip_content else text

    def _require(self, pattern: Optional[str], what: str) -> str:
        if pattern is None:
            raise SwiftError(f'template {self.name!r} does not support {what}')
        return pattern

    def _check_tokenizer(self, tokenizer) -> None:
        """Warn when the end-of-turn words are not single tokens: usually the wrong template for this model."""
        vocab = tokenizer.get_vocab() if hasattr(tokenizer, 'get_vocab') else {}
        missing = [w for w in self.stop_words if w not in vocab]
        if vocab and missing:
            logger.warning(f'template {self.name!r}: {missing} are not tokens of this tokenizer; is this the right '
                           'template for the model? (pass --template to choose another)')


def normalize_messages(messages: Sequence[Dict[str, Any]], template_name: str) -> List[Dict[str, Any]]:
    """Check the OpenAI-style messages and return copies (reasoning aliases filled as transformers does)."""
    if not isinstance(messages, (list, tuple)) or not messages:
        raise SwiftError(f'template {template_name!r}: "messages" must be a non-empty list of '
                         '{"role": ..., "content": ...} dicts')
    result = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or 'role' not in message:
            raise SwiftError(f'message {i} must be a dict with a "role" (one of {", ".join(ROLES)}), got {message!r}')
        role = message['role']
        if role not in ROLES:
            raise SwiftError(f'message {i}: unknown role {role!r}; use one of {", ".join(ROLES)}.'
                             f'{did_you_mean(str(role), ROLES)}')
        content = message.get('content')
        if content is not None and not isinstance(content, str):
            raise SwiftError(f'message {i} ({role}): "content" must be a string (multimodal content lists are not '
                             f'supported by text templates), got {type(content).__name__}')
        message = dict(message)
        if message.get('reasoning_content') is None:
            alias = next((message[k] for k in _REASONING_ALIASES if message.get(k) is not None), None)
            if alias is not None:
                message['reasoning_content'] = alias
        result.append(message)
    return result


def normalize_tools(tools: Any, template_name: str) -> Optional[List[Dict[str, Any]]]:
    """Tools as a list of OpenAI function dicts; datasets often store them as a JSON string."""
    if tools is None:
        return None
    if isinstance(tools, str):
        try:
            tools = json.loads(tools)
        except json.JSONDecodeError as e:
            raise SwiftError(f'template {template_name!r}: "tools" is a string but not valid JSON ({e})') from e
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise SwiftError(f'template {template_name!r}: "tools" must be a list of OpenAI function dicts '
                         '({"type": "function", "function": {...}})')
    return tools
