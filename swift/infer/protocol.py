"""Request and response types shared by every inference engine (OpenAI-shaped)."""
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class InferRequest:
    messages: List[Dict[str, Any]]
    tools: Optional[List[Dict[str, Any]]] = None
    images: List[str] = field(default_factory=list)  # carried for the multimodal stage
    adapter: Optional[str] = None  # per-request adapter name


@dataclass
class RequestConfig:
    max_tokens: Optional[int] = 512
    temperature: float = 0.0  # 0 → greedy
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    stop: List[str] = field(default_factory=list)
    seed: Optional[int] = None
    n: int = 1
    stream: bool = False
    logprobs: bool = False
    top_logprobs: Optional[int] = None


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class ChatMessage:
    role: str
    content: str


@dataclass
class Choice:
    index: int
    message: ChatMessage
    finish_reason: str  # 'stop' | 'length'


@dataclass
class ChatCompletionResponse:
    model: str
    choices: List[Choice]
    usage: Usage
    id: str = field(default_factory=lambda: f'chatcmpl-{uuid.uuid4().hex}')
    created: int = field(default_factory=lambda: int(time.time()))
    object: str = 'chat.completion'

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data['usage']['total_tokens'] = self.usage.total_tokens
        return data
