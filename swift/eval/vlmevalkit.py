"""`--eval_backend VLMEvalKit`: the big multimodal suites (MMBench, SEED-Bench, MMMU, ChartQA, ...) through
VLMEvalKit, the way ms-swift hands them over: EvalScope's VLMEvalKit backend evaluates a running
OpenAI-compatible server (`swift deploy`) as VLMEvalKit's `CustomAPIModel`.

    swift deploy --model my-vlm --port 8000
    swift eval --eval_backend VLMEvalKit --eval_url http://127.0.0.1:8000/v1 --eval_dataset SEEDBench_IMG ChartQA_TEST

--eval_dataset names VLMEvalKit datasets (its own names, checked against vlmeval's SUPPORTED_DATASETS); the data
comes from VLMEvalKit's hub (LMUData), not from --eval_dataset_dir. Needs `pip install "evalscope[vlmeval]"`.
Results: <output_dir>/eval_result.json (backend VLMEvalKit) and VLMEvalKit's own files under
<output_dir>/vlmevalkit.
"""
import datetime
import importlib.util
from pathlib import Path
from typing import Any, Dict, List, Optional

from swift.utils import SwiftError, atomic_write_json, did_you_mean, get_logger

logger = get_logger()

BACKEND = 'VLMEvalKit'
INSTALL = 'pip install "evalscope[vlmeval]"'


def require_installed() -> None:
    missing = [name for name in ('evalscope', 'vlmeval') if importlib.util.find_spec(name) is None]
    if missing:
        raise SwiftError(f'--eval_backend {BACKEND} needs {" and ".join(missing)}: {INSTALL} (EvalScope runs '
                         'VLMEvalKit; or use the default --eval_backend native for nlvr2 and the text benchmarks)')


def check_dataset_names(names: List[str], supported: Optional[List[str]]) -> None:
    """VLMEvalKit's own dataset names; checked when vlmeval is there to list them."""
    if supported is None:
        return
    unknown = [n for n in names if n not in supported]
    if unknown:
        raise SwiftError(f'--eval_backend {BACKEND}: {unknown[0]!r} is not a VLMEvalKit dataset.'
                         f'{did_you_mean(unknown[0], supported)} (names as in VLMEvalKit, e.g. MMBench_DEV_EN, '
                         'SEEDBench_IMG, MMMU_DEV_VAL, ChartQA_TEST)')


def task_config(args, served_model: str) -> Dict[str, Any]:
    """EvalScope's task config for its VLMEvalKit backend (the dict evalscope.run.run_task takes)."""
    if not args.eval_url:
        raise SwiftError(f'--eval_backend {BACKEND} evaluates a running server: start one with `swift deploy` and '
                         'pass --eval_url http://host:port/v1')
    if args.eval_dataset_dir:
        raise SwiftError(f'--eval_backend {BACKEND} reads its datasets from its own hub (LMUData); '
                         '--eval_dataset_dir is read by the native backend only')
    if args.eval_dataset_args:
        raise SwiftError(f'--eval_backend {BACKEND} takes no --eval_dataset_args (use --eval_limit)')
    model = {'type': served_model, 'name': 'CustomAPIModel',  # VLMEvalKit's OpenAI-compatible client
             'api_base': args.eval_url.rstrip('/') + '/chat/completions', 'key': args.api_key or 'EMPTY',
             'temperature': 0.0}
    eval_config: Dict[str, Any] = {'data': list(args.eval_dataset), 'model': [model], 'mode': 'all',
                                   'nproc': args.eval_num_proc, 'reuse': bool(args.eval_resume)}
    if args.eval_limit is not None:
        eval_config['limit'] = args.eval_limit
    return {'eval_backend': BACKEND, 'work_dir': str(args.output_dir() / 'vlmevalkit'), 'eval_config': eval_config}


def _served_model(args) -> str:
    if args.model:
        return args.model
    from .server_lm import OpenAIClient
    served = OpenAIClient(args.eval_url, args.api_key).models()
    if not served:
        raise SwiftError(f'--eval_url {args.eval_url}: the server lists no models; pass --model with the served name')
    return served[0]


def _supported_datasets() -> Optional[List[str]]:
    from vlmeval.dataset import SUPPORTED_DATASETS
    return list(SUPPORTED_DATASETS)


def _run(config: Dict[str, Any]) -> Any:
    """The hand-off: EvalScope runs VLMEvalKit, then its summarizer reads the reports back."""
    from evalscope.run import run_task
    from evalscope.summarizer import Summarizer
    run_task(task_cfg=config)
    return Summarizer.get_report_from_cfg(task_cfg=config)


def run_vlmevalkit(args) -> Dict[str, Any]:
    require_installed()
    check_dataset_names(list(args.eval_dataset), _supported_datasets())
    config = task_config(args, _served_model(args))
    logger.info(f'{BACKEND}: {", ".join(args.eval_dataset)} on {args.eval_url} (work dir {config["work_dir"]})')
    result: Dict[str, Any] = {'backend': BACKEND, 'model': config['eval_config']['model'][0]['type'],
                              'eval_url': args.eval_url, 'task_config': config,
                              'timestamp': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}
    result['results'] = _run(config)
    path = Path(args.output_dir()) / 'eval_result.json'
    atomic_write_json(path, result)
    logger.info(f'results: {path}')
    return result
