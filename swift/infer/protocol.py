"""Request and response types shared by every inference engine (OpenAI-shaped).

    InferRequest(messages, tools=None, images=[], adapter=None)   what to answer
    RequestConfig(max_tokens, temperature, ..., n, logprobs)      how to sample
    ChatCompletionResponse / ChatCompletionStreamResponse          what comes back

Responses serialise with `.to_dict()` into exactly the JSON the OpenAI API returns, so a
server can send them as they are.
"""
import math
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Union

from swift.utils import SwiftError

# InferRequest.adapter value that selects the bare base model when adapters are loaded
# (the name peft uses for "no adapter" in mixed-adapter batches).
BASE_ADAPTER = '__base__'
MAX_TOP_LOGPROBS = 20  # as the OpenAI API
# Below this a temperature is greedy, as in vLLM: dividing logits by 1e-300 overflows float32 to inf (and NaN).
GREEDY_TEMPERATURE = 1e-5
SEED_RANGE = (-2**63, 2**63 - 1)  # int64, as OpenAI's seed; torch's generators take no more


class InferError(SwiftError):
    """A request the engine cannot run as given (a server answers it with a 4xx)."""


class PromptTooLongError(InferError):
    """The prompt does not fit in the model's context window."""


class UnknownAdapterError(InferError):
    """The request names an adapter that is not loaded."""


class EngineClosedError(InferError):
    """The engine was closed; it takes no more requests."""


@dataclass
class InferRequest:
    messages: List[Dict[str, Any]] = field(default_factory=list)
    tools: Optional[List[Dict[str, Any]]] = None
    images: List[Any] = field(default_factory=list)  # paths, URLs, data: URIs, bytes or PIL images
    videos: List[Any] = field(default_factory=list)
    audios: List[Any] = field(default_factory=list)
    # grounding: ms-swift's `objects` ({'ref', 'bbox', 'bbox_type'}) for `<ref-object>` / `<bbox>` tags in the prompt
    objects: Optional[Dict[str, Any]] = None
    adapter: Optional[str] = None  # a loaded adapter's name; None: the engine's default; BASE_ADAPTER: none
    prompt: Optional[str] = None  # raw text continued without a chat template (/v1/completions)

    def __post_init__(self):
        if not self.messages and self.prompt is None:
            raise InferError('an InferRequest needs "messages" (a chat) or "prompt" (raw text to continue)')


@dataclass
class RequestConfig:
    max_tokens: Optional[int] = 512  # None: up to the end of the context window
    temperature: float = 0.0  # 0 → greedy
    top_p: float = 1.0
    top_k: int = 0  # 0 (or -1) disables top-k
    num_beams: int = 1  # > 1: beam search (the transformers backend), deterministic, one choice
    min_p: float = 0.0  # drop tokens less likely than min_p × the most likely one's probability; 0 disables it
    repetition_penalty: float = 1.0  # HF-style, over prompt and output tokens
    presence_penalty: float = 0.0  # OpenAI-style, over output tokens
    frequency_penalty: float = 0.0
    stop: Union[str, List[str], None] = field(default_factory=list)
    seed: Optional[int] = None
    n: int = 1
    stream: bool = False
    logprobs: bool = False
    top_logprobs: Optional[int] = None
    ignore_eos: bool = False  # vLLM's extension: EOS / end-of-turn tokens do not stop (fixed-length benchmarks)

    @property
    def greedy(self) -> bool:
        return not self.temperature or self.temperature < GREEDY_TEMPERATURE

    @property
    def stop_list(self) -> List[str]:
        if not self.stop:
            return []
        return [self.stop] if isinstance(self.stop, str) else [s for s in self.stop if s]

    def validate(self) -> 'RequestConfig':
        """Raise InferError naming the first field out of range; return self."""
        checks = [
            (self.max_tokens is None or (isinstance(self.max_tokens, int) and self.max_tokens >= 1),
             'max_tokens', 'an integer >= 1 (or null for the rest of the context)'),
            (_finite(self.temperature) and self.temperature >= 0, 'temperature', 'a finite number >= 0 (0 is greedy)'),
            (_finite(self.top_p) and 0 < self.top_p <= 1, 'top_p', 'a finite number in (0, 1]'),
            (isinstance(self.top_k, int) and self.top_k >= -1, 'top_k', 'an integer >= 0 (0 or -1 disables it)'),
            (_finite(self.min_p) and 0 <= self.min_p <= 1, 'min_p', 'a finite number in [0, 1] (0 disables it)'),
            (_finite(self.repetition_penalty) and self.repetition_penalty > 0, 'repetition_penalty',
             'a finite number > 0'),
            (_finite(self.presence_penalty or 0) and -2 <= (self.presence_penalty or 0) <= 2, 'presence_penalty',
             'a finite number in [-2, 2]'),
            (_finite(self.frequency_penalty or 0) and -2 <= (self.frequency_penalty or 0) <= 2, 'frequency_penalty',
             'a finite number in [-2, 2]'),
            (isinstance(self.n, int) and self.n >= 1, 'n', 'an integer >= 1'),
            (isinstance(self.num_beams, int) and self.num_beams >= 1, 'num_beams', 'an integer >= 1'),
            (self.top_logprobs is None or 0 <= self.top_logprobs <= MAX_TOP_LOGPROBS, 'top_logprobs',
             f'in [0, {MAX_TOP_LOGPROBS}]'),
            (self.seed is None or (isinstance(self.seed, int) and SEED_RANGE[0] <= self.seed <= SEED_RANGE[1]), 'seed',
             f'an integer in [{SEED_RANGE[0]}, {SEED_RANGE[1]}] (int64)'),
            (isinstance(self.stop, (str, list, tuple)) or self.stop is None, 'stop', 'a string or a list of strings'),
        ]
        for ok, name, expected in checks:
            if not ok:
                raise InferError(f'{name} must be {expected}, got {getattr(self, name)!r}')
        if self.top_logprobs and not self.logprobs:
            raise InferError('top_logprobs needs logprobs=true')
        return self


def _finite(value) -> bool:
    """A real number, not inf or NaN (NaN slips through every range comparison, inf through the open-ended ones)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> Dict[str, int]:
        return {'prompt_tokens': self.prompt_tokens, 'completion_tokens': self.completion_tokens,
                'total_tokens': self.total_tokens}


@dataclass
class TopLogprob:
    token: str
    logprob: float
    bytes: Optional[List[int]] = None


@dataclass
class LogprobEntry:
    """One generated token with its log-probability (and the most likely alternatives)."""
    token: str
    logprob: float
    bytes: Optional[List[int]] = None
    top_logprobs: List[TopLogprob] = field(default_factory=list)
    token_id: Optional[int] = None  # not part of the OpenAI shape; dropped by to_dict


@dataclass
class ChoiceLogprobs:
    content: List[LogprobEntry] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        entries = []
        for entry in self.content:
            data = asdict(entry)
            data.pop('token_id')
            entries.append(data)
        return {'content': entries}


@dataclass
class ChatMessage:
    role: str
    content: str


@dataclass
class Choice:
    index: int
    message: ChatMessage
    finish_reason: Optional[str]  # 'stop' | 'length' (| 'abort' when cancelled)
    logprobs: Optional[ChoiceLogprobs] = None

    def to_dict(self) -> Dict[str, Any]:
        return {'index': self.index, 'message': asdict(self.message), 'finish_reason': self.finish_reason,
                'logprobs': self.logprobs.to_dict() if self.logprobs is not None else None}


def _completion_id() -> str:
    return f'chatcmpl-{uuid.uuid4().hex}'


@dataclass
class ChatCompletionResponse:
    model: str
    choices: List[Choice]
    usage: Usage
    id: str = field(default_factory=_completion_id)
    created: int = field(default_factory=lambda: int(time.time()))
    object: str = 'chat.completion'

    def to_dict(self) -> Dict[str, Any]:
        return {'id': self.id, 'object': self.object, 'created': self.created, 'model': self.model,
                'choices': [c.to_dict() for c in self.choices], 'usage': self.usage.to_dict()}


@dataclass
class DeltaMessage:
    role: Optional[str] = None
    content: Optional[str] = None


@dataclass
class StreamChoice:
    index: int
    delta: DeltaMessage
    finish_reason: Optional[str] = None
    logprobs: Optional[ChoiceLogprobs] = None

    def to_dict(self) -> Dict[str, Any]:
        delta = {k: v for k, v in asdict(self.delta).items() if v is not None}
        return {'index': self.index, 'delta': delta, 'finish_reason': self.finish_reason,
                'logprobs': self.logprobs.to_dict() if self.logprobs is not None else None}


@dataclass
class ChatCompletionStreamResponse:
    """One streamed chunk. The last chunk of a stream has no choices and carries the usage
    (as OpenAI's stream_options.include_usage); a server drops it when the client did not ask."""
    model: str
    choices: List[StreamChoice]
    usage: Optional[Usage] = None
    id: str = field(default_factory=_completion_id)
    created: int = field(default_factory=lambda: int(time.time()))
    object: str = 'chat.completion.chunk'

    def to_dict(self) -> Dict[str, Any]:
        return {'id': self.id, 'object': self.object, 'created': self.created, 'model': self.model,
                'choices': [c.to_dict() for c in self.choices],
                'usage': self.usage.to_dict() if self.usage is not None else None}


# ms-swift's names for the same types
ChatCompletionResponseChoice = Choice
ChatCompletionResponseStreamChoice = StreamChoice
