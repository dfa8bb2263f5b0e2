"""Each command's arguments class: what `swift <command>` parses, --help lists and --check_args validates."""
from typing import Dict, Type

from .base import BaseArguments
from .eval import EvalArguments
from .export import ExportArguments
from .infer import DeployArguments, InferArguments
from .rlhf import RLHFArguments
from .rollout import RolloutServerArguments
from .sample import SampleArguments
from .tools import DataCheckArguments, DownloadArguments
from .training import PtArguments, SftArguments

COMMAND_ARGUMENTS: Dict[str, Type[BaseArguments]] = {
    'sft': SftArguments,
    'pt': PtArguments,
    'rlhf': RLHFArguments,
    'infer': InferArguments,
    'deploy': DeployArguments,
    'eval': EvalArguments,
    'export': ExportArguments,
    'sample': SampleArguments,
    'rollout': RolloutServerArguments,
    'download': DownloadArguments,
    'data check': DataCheckArguments,
}
