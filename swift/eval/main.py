"""`swift eval`, top to bottom: parse → check → the model under test → score every benchmark → eval_result.json.

    result = eval_main(['--model', 'smollm2-135m-instruct', '--eval_dataset', 'gsm8k', '--eval_limit', '20'])
    result.scores    # {'gsm8k': {'n': 20, 'exact_match': ..., ...}}

--eval_backend evalscope / lm_eval hand the run to those frameworks (backends.py).
"""
import os
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Dict, Sequence, Union

from swift.arguments import EvalArguments
from swift.utils import atomic_write_json
from swift.utils.args import parse_args

from .backends import run_backend
from .checks import check_eval_args
from .evaluator import build_lm, run_evaluation, scores


@dataclass
class EvalResult:
    """Where the results were written, the scores per benchmark, and the whole eval_result.json content."""
    output_dir: str
    scores: Dict[str, Dict[str, float]]
    report: Dict[str, Any] = field(default_factory=dict)


def eval_main(args: Union[EvalArguments, Sequence[str], Dict[str, Any], None] = None, **kwargs) -> EvalResult:
    """Run exactly what `swift eval` runs."""
    args = check_eval_args(parse_args(EvalArguments, args, **kwargs))
    output_dir = str(args.output_dir())
    if args.eval_backend == 'VLMEvalKit':
        from .vlmevalkit import run_vlmevalkit
        return EvalResult(output_dir, {}, run_vlmevalkit(args))
    if args.eval_backend != 'native':
        report = run_backend(args)
        return EvalResult(output_dir, {}, report)
    lm = build_lm(args.model, adapters=args.adapters, template=args.template, chat=args.eval_chat_template,
                  batch_size=args.eval_batch_size, eval_url=args.eval_url,
                  api_key=args.api_key or os.environ.get('OPENAI_API_KEY'), concurrency=args.eval_num_proc,
                  system=args.system, max_length=args.max_length, **({} if args.eval_url else args.load_kwargs()))
    try:
        report = run_evaluation(lm, args.eval_dataset, limit=args.eval_limit, dataset_args=args.eval_dataset_args,
                                dataset_dir=args.eval_dataset_dir, output_dir=output_dir, resume=args.eval_resume,
                                print_table=True) if args.eval_dataset else {'model': lm.identity, 'results': {}}
        if args.load_data_args:  # the training run's validation rows, teacher-forced
            from .val_split import NAME, score_val_split
            report['results'][NAME] = score_val_split(lm, args)
            metrics = report['results'][NAME]['metrics']
            print(f'{NAME} (the training run\'s validation rows): n {metrics["n"]}, loss {metrics["loss"]:.4f}, '
                  f'token_acc {100 * metrics["token_acc"]:.2f}')
            atomic_write_json(Path(output_dir) / 'eval_result.json', report)
    finally:
        if hasattr(lm, 'close'):
            lm.close()
    return EvalResult(output_dir, scores(report), report)
