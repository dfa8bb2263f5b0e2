"""What a training run checks before it loads anything, and `swift sft|pt|rlhf ... --check_args` runs alone.

The argument classes check each value; these checks need the registries (after --external_plugins are
loaded: tuner types, templates, benchmarks, reward functions) or the disk (the checkpoint to resume).
Nothing here imports torch, so a misspelt name fails in a second, not after the model has loaded.
"""
import importlib.util

from swift.arguments import RLHFArguments
from swift.arguments.training import TrainingCommonArguments
from swift.eval.registry import get_benchmark, get_benchmarks
from swift.template import check_template_name, get_agent_template
from swift.tuners.registry import get_tuner
from swift.utils import SwiftError
from swift.utils.checkpoint import check_resumable
from swift.utils.plugins import load_plugins

from .distributed import deepspeed_config, fsdp_settings
from .rlhf.rewards import get_reward_functions


def check_train_args(args: TrainingCommonArguments) -> TrainingCommonArguments:
    """Load the run's plugins and check the names it uses; returns args (benchmark names made canonical)."""
    load_plugins(args.external_plugins)
    args.read_system_file()
    get_tuner(args.tuner_type)
    check_template_name(args.template)
    if getattr(args, 'agent_template', None):
        get_agent_template(args.agent_template)
    if args.resume_from_checkpoint:
        check_resumable(args.resume_from_checkpoint)
    _check_benchmarks(args)
    if args.use_liger_kernel and importlib.util.find_spec('liger_kernel') is None:
        raise SwiftError('--use_liger_kernel needs the liger-kernel package (CUDA GPUs only): '
                         'pip install "swift[liger]" (or liger-kernel)')
    _check_distributed(args)
    if isinstance(args, RLHFArguments):
        get_reward_functions(getattr(args, 'reward_funcs', []))
    return args


def check_sample_args(args):
    """`swift sample`: the infer checks (plugins, checkpoint, backend, template) and the reward function names."""
    from swift.infer.checks import check_infer_args
    check_infer_args(args)
    get_reward_functions(args.reward_funcs)
    return args


def _check_benchmarks(args: TrainingCommonArguments) -> None:
    """--eval_benchmarks names fail now, not at the first eval step after minutes of training."""
    if not args.eval_benchmarks:
        return
    names = {b.name for b in get_benchmarks(args.eval_benchmarks)}
    args.eval_dataset_args = {get_benchmark(k).name: v for k, v in args.eval_dataset_args.items()}
    unknown = sorted(set(args.eval_dataset_args) - names)
    if unknown:
        raise SwiftError(f'--eval_dataset_args names {unknown[0]!r}, which is not among --eval_benchmarks '
                         f'({", ".join(sorted(names))})')



def _check_distributed(args: TrainingCommonArguments) -> None:
    """--deepspeed / --fsdp files are read now (a typo in a JSON file fails before any process starts)."""
    fsdp_settings(args)
    if args.sequence_parallel_size > 1:
        if isinstance(args, RLHFArguments):
            raise SwiftError('--sequence_parallel_size: swift sft and swift pt only (the alignment losses are '
                             'computed per sequence, not split by position)')
        if getattr(args, 'packing', False) or getattr(args, 'padding_free', False):
            raise SwiftError('--sequence_parallel_size with --packing / --padding_free is not supported: packed rows '
                             'carry sequence boundaries that the split by position would cut')
    if deepspeed_config(args) is not None and importlib.util.find_spec('deepspeed') is None:
        raise SwiftError('--deepspeed needs the deepspeed package: pip install "swift[deepspeed]" '
                         '(on a CPU-only machine DeepSpeed runs with DS_ACCELERATOR=cpu)')
