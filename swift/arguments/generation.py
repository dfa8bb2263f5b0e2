"""How answers are sampled: one group, one name per setting, for swift infer, deploy and the online RLHF types."""
from dataclasses import dataclass, field
from typing import List, Optional

from .base import ArgumentGroup, check_range


@dataclass
class GenerationArguments(ArgumentGroup):
    GROUP_TITLE = 'generation'

    max_new_tokens: Optional[int] = field(default=512, metadata={'help': 'max tokens to generate (none: up to the '
                                                                         'context length)'})
    temperature: float = field(default=0.0, metadata={'help': '0 means greedy'})
    top_p: float = field(default=1.0, metadata={'help': 'nucleus sampling: keep the smallest set of tokens whose '
                                                        'probabilities add up to this'})
    top_k: int = field(default=0, metadata={'help': 'sample among the k most likely tokens; 0 disables top-k'})
    min_p: float = field(default=0.0, metadata={'help': 'drop tokens less likely than min_p times the most likely '
                                                        'token (after temperature); 0 disables it'})
    repetition_penalty: float = field(default=1.0, metadata={'help': '> 1 discourages repeating tokens'})
    stop_words: List[str] = field(default_factory=list, metadata={'help': 'extra strings that end a reply'})

    # ms-swift spells the length max_new_tokens (infer), max_tokens (OpenAI) and max_completion_length (GRPO)
    ALIASES = {'max_tokens': 'max_new_tokens', 'max_completion_length': 'max_new_tokens'}

    def __post_init__(self):
        super().__post_init__()
        check_range('max_new_tokens', self.max_new_tokens, low=1)
        check_range('temperature', self.temperature, low=0)
        check_range('top_p', self.top_p, what='in (0, 1]', low=1e-9, high=1)
        check_range('top_k', self.top_k, low=0)
        check_range('min_p', self.min_p, what='in [0, 1]', low=0, high=1)
        check_range('repetition_penalty', self.repetition_penalty, what='> 0', low=1e-9)
