from dataclasses import dataclass, field
from typing import List


@dataclass
class BaseArguments:
    external_plugins: List[str] = field(
        default_factory=list, metadata={'help': 'Python files whose register_* calls add models, templates, ...'})
    seed: int = field(default=42, metadata={'help': 'random seed'})

    def __post_init__(self):
        from swift.utils.plugins import load_plugins
        load_plugins(self.external_plugins)
