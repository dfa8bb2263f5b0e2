"""Handing a run to another evaluation framework: `--eval_backend evalscope` or `--eval_backend lm_eval`.

Both are optional packages (`pip install evalscope` / `pip install lm-eval`); the native backend
needs neither. They read their benchmark data from their own hubs, not from --eval_dataset_dir.
- evalscope evaluates a running OpenAI-compatible server (`--eval_url`, e.g. from `swift deploy`).
- lm_eval evaluates the local model (its `hf` model class, adapters via `peft=`) or, with
  --eval_url, the server's completions endpoint (its `local-completions` model class).
Results are written to <output_dir>/eval_result.json with `backend` naming who computed them.
"""
import datetime
import importlib.util
from pathlib import Path
from typing import Any, Dict, List

from swift.utils import SwiftError, atomic_write_json, get_logger

from .registry import get_benchmarks

logger = get_logger()

# swift benchmark → (evalscope dataset, its subset list or None)
EVALSCOPE_NAMES = {
    'mmlu': ('mmlu', None), 'ceval': ('ceval', None), 'cmmlu': ('cmmlu', None), 'gsm8k': ('gsm8k', None),
    'arc_c': ('arc', ['ARC-Challenge']), 'arc_e': ('arc', ['ARC-Easy']), 'hellaswag': ('hellaswag', None)
}
# swift benchmark → lm-eval task (the task whose prompt swift's native backend reproduces)
LM_EVAL_TASKS = {
    'mmlu': 'mmlu', 'ceval': 'ceval-valid', 'cmmlu': 'cmmlu', 'gsm8k': 'gsm8k_cot', 'arc_c': 'arc_challenge',
    'arc_e': 'arc_easy', 'hellaswag': 'hellaswag'
}


def _require(package: str, pip_name: str, backend: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise SwiftError(f'--eval_backend {backend} needs the {pip_name} package: pip install {pip_name} '
                         '(or use the default --eval_backend native, which needs nothing more)')


def _names(args) -> List[str]:
    return [b.name for b in get_benchmarks(args.eval_dataset)]


def evalscope_task_config(args) -> Dict[str, Any]:
    """The keywords of evalscope.TaskConfig for this run (evaluating the server at --eval_url)."""
    if not args.eval_url:
        raise SwiftError('--eval_backend evalscope evaluates a running server: start one with `swift deploy` and pass '
                         '--eval_url http://host:port/v1')
    datasets: List[str] = []
    dataset_args: Dict[str, Dict[str, Any]] = {}
    for name in _names(args):
        if name not in EVALSCOPE_NAMES:
            raise SwiftError(f'--eval_backend evalscope: no EvalScope dataset for {name!r}')
        target, subsets = EVALSCOPE_NAMES[name]
        ours = dict(args.eval_dataset_args.get(name) or {})
        theirs = dataset_args.setdefault(target, {})
        if 'few_shot_num' in ours:
            theirs['few_shot_num'] = ours['few_shot_num']
        wanted = ours.get('subsets') or subsets
        if wanted:
            theirs['subset_list'] = sorted(set(theirs.get('subset_list', [])) | set(wanted))
        if target not in datasets:
            datasets.append(target)
    from evalscope.constants import EvalType
    return dict(model=args.model or 'default', api_url=args.eval_url, api_key=args.api_key or 'EMPTY',
                eval_type=EvalType.SERVICE, datasets=datasets, dataset_args=dataset_args, limit=args.eval_limit,
                work_dir=str(args.output_dir() / 'evalscope'))


def lm_eval_runs(args) -> List[Dict[str, Any]]:
    """Keywords of one lm_eval.simple_evaluate call per benchmark (few-shot numbers differ between them)."""
    if args.eval_url:
        model = 'local-completions'
        model_args = {'model': args.model or 'default', 'base_url': args.eval_url.rstrip('/') + '/completions',
                      'num_concurrent': args.eval_num_proc, 'tokenized_requests': False}
    else:
        model = 'hf'
        model_args = {'pretrained': _local_model_dir(args), 'dtype': args.torch_dtype}
        if args.adapters:
            if len(args.adapters) > 1:
                raise SwiftError('--eval_backend lm_eval loads one adapter; merge the others first (swift export)')
            model_args['peft'] = args.adapters[0]
    runs = []
    for name in _names(args):
        ours = dict(args.eval_dataset_args.get(name) or {})
        if ours.get('subsets'):
            raise SwiftError(f'--eval_backend lm_eval: subsets of {name} are lm-eval tasks of their own; '
                             'choose them with the native backend')
        runs.append(dict(model=model, model_args=model_args, tasks=[LM_EVAL_TASKS[name]],
                         num_fewshot=ours.get('few_shot_num'), limit=ours.get('limit', args.eval_limit),
                         batch_size=args.eval_batch_size))
    return runs


def _local_model_dir(args) -> str:
    from swift.model.loader import get_model_dir
    return str(get_model_dir(args.model, use_hf=args.use_hf or None, revision=args.revision,
                             offline=args.offline or None))


def run_backend(args) -> Dict[str, Any]:
    if args.eval_dataset_dir:
        raise SwiftError(f'--eval_backend {args.eval_backend} reads the benchmarks from its own hub; '
                         '--eval_dataset_dir is read by the native backend only')
    out = args.output_dir()
    result: Dict[str, Any] = {'backend': args.eval_backend, 'model': args.model, 'adapters': args.adapters,
                              'eval_url': args.eval_url,
                              'timestamp': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}
    if args.eval_backend == 'evalscope':
        _require('evalscope', 'evalscope', 'evalscope')
        config = evalscope_task_config(args)
        from evalscope import TaskConfig, run_task
        result['results'] = run_task(task_cfg=TaskConfig(**config))
    else:
        _require('lm_eval', 'lm-eval', 'lm_eval')
        from lm_eval import simple_evaluate
        result['results'] = {}
        for call in lm_eval_runs(args):
            output = simple_evaluate(**call)
            result['results'].update(output.get('results', {}) if output else {})
    atomic_write_json(Path(out) / 'eval_result.json', result)
    logger.info(f'results: {Path(out) / "eval_result.json"}')
    return result
