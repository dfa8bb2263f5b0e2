"""Each command's arguments class: what `swift <command>` parses, --help lists and --check_args validates.

The classes are imported when a command is looked up, not here: `swift sft` does not pay for building rlhf's
dozen large dataclasses (0.3 s of every start), nor infer's or export's.
"""
import importlib
from typing import Dict, Iterator, Mapping, Tuple, Type

from .base import BaseArguments

# command → (module of swift.arguments, class)
_CLASSES: Dict[str, Tuple[str, str]] = {
    'sft': ('training', 'SftArguments'),
    'pt': ('training', 'PtArguments'),
    'rlhf': ('rlhf', 'RLHFArguments'),
    'infer': ('infer', 'InferArguments'),
    'deploy': ('infer', 'DeployArguments'),
    'eval': ('eval', 'EvalArguments'),
    'export': ('export', 'ExportArguments'),
    'sample': ('sample', 'SampleArguments'),
    'rollout': ('rollout', 'RolloutServerArguments'),
    'download': ('tools', 'DownloadArguments'),
    'data check': ('tools', 'DataCheckArguments'),
}


class _CommandArguments(Mapping):
    """A read-only dict command → class whose classes are imported on first access."""

    def __getitem__(self, command: str) -> Type[BaseArguments]:
        module, name = _CLASSES[command]
        return getattr(importlib.import_module(f'{__package__}.{module}'), name)

    def __iter__(self) -> Iterator[str]:
        return iter(_CLASSES)

    def __len__(self) -> int:
        return len(_CLASSES)


COMMAND_ARGUMENTS: Mapping[str, Type[BaseArguments]] = _CommandArguments()
