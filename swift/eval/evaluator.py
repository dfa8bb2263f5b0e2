"""The evaluation entry points: evaluate() for Python, run_evaluation() for the CLI and callbacks.

    from swift.eval import evaluate
    scores = evaluate('smollm2-135m-instruct', ['mmlu', 'gsm8k'], limit=20, dataset_dir='../shared/data')
    # {'mmlu': {'n': 1000, 'acc': 0.27, 'acc_norm': 0.27}, 'gsm8k': {...}}

`model_or_engine` is a model ID or directory, a TransformersEngine (its adapters and template come along),
a loaded transformers model, or None with eval_url (see build_lm).
"""
import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import torch

from swift.version import __version__
from swift.infer.transformers_engine import TransformersEngine
from swift.utils import SwiftError, atomic_write_json, get_logger

from .local_lm import LocalLM, chat_template_for
from .registry import get_benchmark, get_benchmarks
from .report import format_table
from .runner import run_task, scoring_mode
from .samples import SampleLog
from .server_lm import ServerLM
from .tasks import load_task, resolve_settings

logger = get_logger()


def build_lm(model_or_engine: Any = None, *, tokenizer=None, adapters: Sequence[str] = (),
             template: Optional[str] = None, chat: bool = False, batch_size: int = 8,
             eval_url: Optional[str] = None, api_key: Optional[str] = None, served_model: Optional[str] = None,
             concurrency: int = 8, system: Optional[str] = None, max_length: Optional[int] = None,
             identity: Optional[Dict[str, Any]] = None, **load_kwargs):
    """The model under test, as an object with loglikelihood() and generate().

    `model_or_engine`: a model ID or directory (loaded here, with `adapters`), a TransformersEngine (its adapters
    and template come along), a loaded transformers model (its tokenizer: `tokenizer=`, or the one swift loaded
    with it), a LocalLM / ServerLM, or None with `eval_url`. `identity` names the model in the sample logs (what a
    resumed run must match); by default the model ID and adapters.
    """
    if eval_url:
        name = served_model or (model_or_engine if isinstance(model_or_engine, str) else None)
        lm = ServerLM(eval_url, api_key=api_key, model=name, chat=chat, concurrency=concurrency)
    elif isinstance(model_or_engine, (LocalLM, ServerLM)):
        lm = model_or_engine
    elif isinstance(model_or_engine, str):
        lm = LocalLM.load(model_or_engine, adapters=adapters, template=template, chat=chat, batch_size=batch_size,
                          system=system, max_length=max_length, **load_kwargs)
        lm.identity = {'model': model_or_engine, 'adapters': list(adapters)}
    elif isinstance(model_or_engine, TransformersEngine):
        lm = LocalLM.from_engine(model_or_engine, chat=chat, batch_size=batch_size)
    elif isinstance(model_or_engine, torch.nn.Module):
        tokenizer = tokenizer or getattr(getattr(model_or_engine, 'model_info', None), 'tokenizer', None)
        if tokenizer is None:
            raise SwiftError('evaluate: this model was not loaded by swift, so its tokenizer is unknown: '
                             'pass tokenizer=...')
        chat_template = chat_template_for(model_or_engine, tokenizer, template, system) if chat else None
        lm = LocalLM(model_or_engine, tokenizer, template=chat_template, chat=chat, batch_size=batch_size,
                     max_length=max_length)
    else:
        raise SwiftError('evaluate: pass a model ID or directory, a TransformersEngine, a loaded model, '
                         f'or eval_url= a running OpenAI-compatible server (got {type(model_or_engine).__name__}; '
                         'a swift.load handle scores itself: handle.evaluate(...))')
    if identity is not None:
        lm.identity = dict(identity)
    return lm


def _run_key(name: str, lm, mode: str, settings, chat: bool, source: str) -> Dict[str, Any]:
    """What must match for a sample log to be resumed (the row limit may change: rows are keyed by id)."""
    return {'benchmark': name, **lm.identity, 'scoring': mode, 'chat': chat, 'few_shot_num': settings.few_shot_num,
            'max_new_tokens': settings.max_new_tokens, 'data_source': source}


def run_evaluation(lm, datasets: Union[str, Sequence[str]], *, limit: Optional[int] = None,
                   dataset_args: Optional[Dict[str, Any]] = None, dataset_dir: Optional[str] = None,
                   output_dir: Optional[str] = None, resume: bool = True, progress: bool = True,
                   print_table: bool = False) -> Dict[str, Any]:
    """Score `lm` on each benchmark; returns (and with output_dir, writes) the eval_result.json content."""
    names = [datasets] if isinstance(datasets, str) else list(datasets)
    if not names:
        raise SwiftError('no benchmark given: pass --eval_dataset, e.g. --eval_dataset mmlu gsm8k')
    benchmarks = get_benchmarks(names)
    dataset_args = {get_benchmark(k).name: v for k, v in (dataset_args or {}).items()}  # aliases work too
    unknown = [k for k in dataset_args if k not in {b.name for b in benchmarks}]
    if unknown:
        raise SwiftError(f'--eval_dataset_args names {unknown[0]!r}, which is not among the benchmarks evaluated '
                         f'({", ".join(b.name for b in benchmarks)})')
    out = Path(output_dir) if output_dir else None
    result: Dict[str, Any] = {
        'model': lm.identity, 'backend': 'native', 'swift_version': __version__,
        'timestamp': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'settings': {'limit': limit, 'dataset_args': dataset_args or {}, 'dataset_dir': dataset_dir,
                     'chat_template': bool(getattr(lm, 'chat', False)), 'batch_size': getattr(lm, 'batch_size', None)},
        'results': {}
    }
    for benchmark in benchmarks:
        settings = resolve_settings(benchmark, dataset_args, limit)
        task = load_task(benchmark, settings, dataset_dir)
        mode = scoring_mode(task, lm)
        run_key = _run_key(benchmark.name, lm, mode, settings, bool(getattr(lm, 'chat', False)), task.source)
        log = SampleLog(out / 'samples' if out else None, benchmark.name, run_key, resume=resume)
        chunk = 4 * getattr(lm, 'batch_size', 0) or 2 * getattr(lm, 'concurrency', 8)
        result['results'][benchmark.name] = run_task(task, lm, log, chunk_size=chunk, progress=progress)
        if out:
            atomic_write_json(out / 'eval_result.json', result)  # partial results survive a later failure
    if print_table:
        print(format_table(result['results']))
    if out:
        logger.info(f'results: {out / "eval_result.json"}; samples: {out / "samples"}')
    return result


def scores(result: Dict[str, Any]) -> Dict[str, Dict[str, float]]:
    return {name: dict(r['metrics']) for name, r in result['results'].items()}


def evaluate(model_or_engine: Any = None, datasets: Union[str, Sequence[str]] = (), limit: Optional[int] = None, *,
             dataset_args: Optional[Dict[str, Any]] = None, dataset_dir: Optional[str] = None,
             output_dir: Optional[str] = None, tokenizer=None, adapters: Sequence[str] = (),
             template: Optional[str] = None, chat: bool = False, batch_size: int = 8, eval_url: Optional[str] = None,
             api_key: Optional[str] = None, resume: bool = True, progress: bool = False,
             identity: Optional[Dict[str, Any]] = None, **load_kwargs) -> Dict[str, Dict[str, float]]:
    """Scores per benchmark, e.g. {'gsm8k': {'n': 50, 'exact_match': 0.1, 'exact_match_flex': 0.12}}.

    Scores are fractions (0-1). Without output_dir nothing is written and nothing resumes.
    """
    lm = build_lm(model_or_engine, tokenizer=tokenizer, adapters=adapters, template=template, chat=chat,
                  batch_size=batch_size, eval_url=eval_url, api_key=api_key, identity=identity, **load_kwargs)
    try:
        result = run_evaluation(lm, datasets, limit=limit, dataset_args=dataset_args, dataset_dir=dataset_dir,
                                output_dir=output_dir, resume=resume, progress=progress)
    finally:
        if lm is not model_or_engine and hasattr(lm, 'close'):
            lm.close()  # stops a generation engine it started; an engine passed in stays up
    return scores(result)


__all__: List[str] = ['evaluate', 'run_evaluation', 'build_lm', 'scores']
