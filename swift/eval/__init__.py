"""Evaluation on standard benchmarks (MMLU, C-Eval, CMMLU, GSM8K, ARC, HellaSwag), scored like the reference harness.

    from swift.eval import evaluate
    evaluate('smollm2-135m-instruct', ['mmlu', 'gsm8k'], limit=20, dataset_dir='../shared/data')

Importing this package does not import torch or transformers.
"""
import importlib
from typing import Any

from .registry import Benchmark, Doc, get_benchmark, list_benchmarks, register_benchmark

_LAZY = {
    'evaluate': 'swift.eval.evaluator',
    'run_evaluation': 'swift.eval.evaluator',
    'build_lm': 'swift.eval.evaluator',
    'BenchmarkEvalCallback': 'swift.eval.callback',
    'LocalLM': 'swift.eval.local_lm',
    'ServerLM': 'swift.eval.server_lm',
    'EvalArguments': 'swift.eval.arguments',
}

__all__ = ['Benchmark', 'Doc', 'get_benchmark', 'list_benchmarks', 'register_benchmark', *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
