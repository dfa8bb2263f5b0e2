"""What a training run checks before it loads anything, and `swift sft|pt|rlhf ... --check_args` runs alone.

The argument classes check each value; these checks need the registries (after --external_plugins are
loaded: tuner types, templates, benchmarks, reward functions) or the disk (the checkpoint to resume).
Nothing here imports torch, so a misspelt name fails in a second, not after the model has loaded.
"""
import importlib.util
import sys

from swift.arguments.training import TrainingCommonArguments
from swift.dataset.alignment import template_mode_of
from swift.dataset.cached import encoding_settings, read_manifest, split_folder
from swift.eval.registry import get_benchmark, get_benchmarks
from swift.template import check_template_name, get_agent_template
from swift.tuners.registry import get_tuner
from swift.utils import SwiftError
from swift.utils.checkpoint import check_resumable
from swift.utils.plugins import load_plugins

from .distributed import deepspeed_config, fsdp_settings
from .rlhf.rewards import get_reward_functions


def _is_rlhf(args) -> bool:
    """An RLHFArguments instance; without importing swift.arguments.rlhf (no instance exists before it is)."""
    module = sys.modules.get('swift.arguments.rlhf')
    return module is not None and isinstance(args, module.RLHFArguments)


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
    _check_cached_dataset(args)
    if _is_rlhf(args):
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



def _check_cached_dataset(args: TrainingCommonArguments) -> None:
    """--cached_dataset: what swift trains from it, and its encoding flags against the run's, before the model
    loads (the tokenizer and template are compared once they are loaded: swift.dataset.cached)."""
    paths = [(p, 'train') for p in args.cached_dataset] + [(p, 'val') for p in args.cached_val_dataset]
    if not paths:
        return
    mode = 'train'
    if _is_rlhf(args):
        mode = template_mode_of(args.rlhf_type)
        if mode is None:  # as in ms-swift: the online algorithms generate from prompts, nothing to pre-tokenize
            raise SwiftError(f'--cached_dataset is not supported with --rlhf_type {args.rlhf_type} (it generates '
                             'from prompts as it trains); it takes a dataset exported with --template_mode rlhf '
                             '(dpo, orpo, simpo, cpo, rm) or kto; instead: --dataset')
    for flag, clash in (('task_type', getattr(args, 'task_type', 'causal_lm') != 'causal_lm'),
                        ('streaming', getattr(args, 'streaming', False))):
        if clash:
            raise SwiftError(f'--cached_dataset holds causal-LM samples read whole: not with --{flag} '
                             f'{getattr(args, flag)}; train from --dataset')
    settings = encoding_settings(args)
    for path, split in paths:
        folder = split_folder(path, split)
        manifest = read_manifest(folder)
        if manifest.get('template_mode', 'train') != mode:
            raise SwiftError(f'--cached_dataset {path} was exported with --template_mode '
                             f'{manifest.get("template_mode")}; {_command(args)} trains on --template_mode {mode}: '
                             f'export it again with swift export --to_cached_dataset true --template_mode {mode}')
        exported = manifest.get('settings') or {}
        different = [f'--{k} {exported.get(k)!r} there, {v!r} here'
                     for k, v in settings.items() if exported.get(k) != v]
        if different:
            raise SwiftError(f'--cached_dataset {path} was encoded with other flags: {"; ".join(different)}. Pass the '
                             'flags it was exported with, or export it again with these')


def _command(args) -> str:
    return f'swift rlhf --rlhf_type {args.rlhf_type}' if _is_rlhf(args) else 'swift sft / pt'


def _check_distributed(args: TrainingCommonArguments) -> None:
    """--deepspeed / --fsdp files are read now (a typo in a JSON file fails before any process starts)."""
    fsdp_settings(args)
    if args.sequence_parallel_size > 1:
        if _is_rlhf(args):
            raise SwiftError('--sequence_parallel_size: swift sft and swift pt only (the alignment losses are '
                             'computed per sequence, not split by position)')
        if getattr(args, 'packing', False) or getattr(args, 'padding_free', False):
            raise SwiftError('--sequence_parallel_size with --packing / --padding_free is not supported: packed rows '
                             'carry sequence boundaries that the split by position would cut')
    if deepspeed_config(args) is not None and importlib.util.find_spec('deepspeed') is None:
        raise SwiftError('--deepspeed needs the deepspeed package: pip install "swift[deepspeed]" '
                         '(on a CPU-only machine DeepSpeed runs with DS_ACCELERATOR=cpu)')
