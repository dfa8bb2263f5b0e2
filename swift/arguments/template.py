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
    agent_template: Optional[str] = field(default=None, metadata={
        'help': 'how tools, tool calls and tool results are written: hermes | react_en | react_zh | qwen_en | qwen_zh '
                '| glm4 | llama3 | mistral (default: the template\'s own tool format)'})
    enable_thinking: Optional[bool] = field(default=None, metadata={
        'help': 'thinking models: true/false is passed to the template (default: the template\'s default)'})

    def __post_init__(self):
        super().__post_init__()
        check_range('max_length', self.max_length, low=1)
