"""What `swift eval` checks before loading a model, and `--check_args` runs alone: the plugins load, a checkpoint
named by --adapters fills in its base model and template, and the benchmark and template names exist (benchmark
aliases made canonical). Nothing here imports torch."""
from swift.arguments import EvalArguments
from swift.template import check_template_name
from swift.utils import SwiftError
from swift.utils.checkpoint import fill_from_checkpoint
from swift.utils.plugins import load_plugins

from .registry import get_benchmark, get_benchmarks


def check_eval_args(args: EvalArguments) -> EvalArguments:
    load_plugins(args.external_plugins)
    args.read_system_file()
    if not args.eval_url:
        fill_from_checkpoint(args, keys=('model', 'model_type', 'template'))
        args.require_model(', or --adapters a swift checkpoint, or --eval_url a running OpenAI-compatible server')
    check_template_name(args.template)
    if args.eval_backend == 'VLMEvalKit':  # --eval_dataset names VLMEvalKit's datasets, checked by it (vlmevalkit.py)
        return args
    benchmarks = get_benchmarks(args.eval_dataset)
    names = {b.name for b in benchmarks}  # unknown names fail here, before a model is loaded
    if not args.eval_dataset_dir:
        for benchmark in benchmarks:
            benchmark.default_root()  # local-only benchmarks (nlvr2, mm_*) say where their data must be, now
    args.eval_dataset_args = {get_benchmark(k).name: v for k, v in args.eval_dataset_args.items()}
    unknown = sorted(set(args.eval_dataset_args) - names)
    if unknown:
        raise SwiftError(f'--eval_dataset_args names {unknown[0]!r}, which is not among --eval_dataset '
                         f'({", ".join(sorted(names))})')
    return args
