"""Typed arguments: groups shared by several commands, and one class per command composed of exactly the groups
it needs. Parse any of them with swift.utils.args.parse_args (flags, a YAML/JSON file or keywords).

    base.py          BaseArguments (external_plugins, seed), the group base and shared checks
    model.py         ModelArguments, AdapterArguments
    template.py      TemplateArguments
    data.py          DataArguments (rows and how they are encoded for training)
    tuner.py         TunerArguments (full, freeze, LoRA and the other PEFT tuners)
    quantization.py  QuantizeArguments (QLoRA loading)
    generation.py    GenerationArguments (one name per sampling setting)
    distributed.py   DistributedArguments (DDP, FSDP2, DeepSpeed)
    training.py      TrainerArguments, TrainBenchmarkArguments, LanguageModelingArguments; SftArguments, PtArguments
    rlhf.py          RLHFArguments and one class per --rlhf_type (DPOArguments, ..., GRPOArguments)
    infer.py         InferEngineArguments; InferArguments, DeployArguments
    eval.py          EvalArguments
    export.py        ExportArguments
    tools.py         DownloadArguments, DataCheckArguments
    commands.py      COMMAND_ARGUMENTS: command name → class (imported when looked up)

Nothing here imports torch, reads files or loads plugins: parsing a command line costs milliseconds, and
__post_init__ checks only the values themselves. rlhf's classes (a dozen large dataclasses, 0.3 s to build) are
imported on first use of one of their names, so `swift sft` does not build them. What needs the registries or the
disk (plugins, names of tuners, benchmarks and reward functions, a checkpoint's args.json) is checked by each stage's
`check_*_args`.
"""
from .base import ArgumentGroup, BaseArguments, override
from .commands import COMMAND_ARGUMENTS
from .data import DataArguments
from .eval import EvalArguments
from .export import ExportArguments
from .generation import GenerationArguments
from .infer import DeployArguments, InferArguments, InferEngineArguments
from .model import AdapterArguments, ModelArguments
from .quantization import QuantizeArguments
from .rollout import RolloutServerArguments
from .sample import SampleArguments
from .template import TemplateArguments
from .tools import DataCheckArguments, DownloadArguments
from .training import LanguageModelingArguments, PtArguments, SftArguments, TrainBenchmarkArguments, TrainerArguments
from .tuner import TunerArguments

# rlhf.py's names, imported on first access (PEP 562)
_RLHF_NAMES = ('RLHF_ARGUMENT_CLASSES', 'RLHF_TYPES', 'CPOArguments', 'DPOArguments', 'GKDArguments', 'GRPOArguments',
               'KTOArguments', 'ORPOArguments', 'PPOArguments', 'RLHFArguments', 'RMArguments', 'SimPOArguments')


def __getattr__(name: str):
    if name in _RLHF_NAMES:
        from . import rlhf
        return getattr(rlhf, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
