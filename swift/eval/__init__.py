"""Evaluation on standard benchmarks (MMLU, C-Eval, CMMLU, GSM8K, ARC, HellaSwag), scored like the reference harness.

    from swift.eval import evaluate, eval_main
    evaluate('smollm2-135m-instruct', ['mmlu', 'gsm8k'], limit=20, dataset_dir='../shared/data')
    eval_main(['--model', 'smollm2-135m-instruct', '--eval_dataset', 'gsm8k'])     # exactly `swift eval`

Importing this package does not import torch or transformers.
"""
from swift.utils.lazy import lazy_exports

from .registry import Benchmark, Doc, get_benchmark, list_benchmarks, register_benchmark

_LAZY = {
    'eval_main': 'swift.eval.main',
    'EvalResult': 'swift.eval.main',
    'evaluate': 'swift.eval.evaluator',
    'run_evaluation': 'swift.eval.evaluator',
    'build_lm': 'swift.eval.evaluator',
    'BenchmarkEvalCallback': 'swift.eval.callback',
    'LocalLM': 'swift.eval.local_lm',
    'ServerLM': 'swift.eval.server_lm',
}

__all__ = ['Benchmark', 'Doc', 'get_benchmark', 'list_benchmarks', 'register_benchmark', *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
