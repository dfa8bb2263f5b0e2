from dataclasses import dataclass, field
from typing import List, Optional


@dataclass
class GenerationArguments:
    max_new_tokens: int = field(default=512, metadata={'help': 'max tokens to generate'})
    temperature: float = field(default=0.0, metadata={'help': '0 means greedy'})
    top_p: float = field(default=1.0)
    top_k: int = field(default=0, metadata={'help': '0 disables top-k'})
    repetition_penalty: float = field(default=1.0)
    stop_words: List[str] = field(default_factory=list, metadata={'help': 'extra strings that end a reply'})
    stream: Optional[bool] = field(default=None, metadata={'help': 'stream the reply (default: on a terminal)'})

    ALIASES = {'max_tokens': 'max_new_tokens'}
