"""How conversations become text: the template group of every command that encodes them."""
from dataclasses import dataclass, field
from typing import Optional

from .base import ArgumentGroup, check_range


@dataclass
class TemplateArguments(ArgumentGroup):
    GROUP_TITLE = 'template'

    template: Optional[str] = field(default=None, metadata={'help': 'template name (default: the model\'s own)'})
    system: Optional[str] = field(default=None, metadata={'help': 'system prompt (default: the template\'s)'})
    max_length: Optional[int] = field(default=None, metadata={'help': 'max tokens per sample'})

    def __post_init__(self):
        super().__post_init__()
        check_range('max_length', self.max_length, low=1)
