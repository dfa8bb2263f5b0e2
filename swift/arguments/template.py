from dataclasses import dataclass, field
from typing import Optional


@dataclass
class TemplateArguments:
    template: Optional[str] = field(default=None, metadata={'help': 'template name (default: the model\'s own)'})
    system: Optional[str] = field(default=None, metadata={'help': 'system prompt (default: the template\'s)'})
    max_length: Optional[int] = field(default=None, metadata={'help': 'max tokens per sample'})
