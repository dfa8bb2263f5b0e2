"""`swift infer`, top to bottom: parse → check → engine → answer (terminal chat, piped lines, or a dataset).

    result = infer_main(['--model', 'smollm2-135m-instruct', '--val_dataset', 'rows.jsonl'])
    result = infer_main(InferArguments(adapters=['output/v0/checkpoint-40']), stdin=io.StringIO('hi\\n'))

A reward model checkpoint (`swift rlhf --rlhf_type rm`) answers with its score (reward_engine.py).
"""
import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, TextIO, Union

from swift.arguments import InferArguments
from swift.template import configure_template
from swift.utils import SwiftError
from swift.utils.args import parse_args

from .backends import get_infer_engine
from .batch import load_rows, run_batch
from .chat import interactive_chat, pipe_answers
from .data_parallel import run_batch_data_parallel, world
from .checks import check_infer_args
from .protocol import RequestConfig
from .reward_engine import RewardEngine, is_reward_model, score_lines, score_rows
from .tasks import task_engine

DEFAULT_RESULT_PATH = 'infer_result.jsonl'


@dataclass
class InferResult:
    """What `swift infer` did: the mode, how many rows/lines were answered (or scored), and for batch mode the
    result file with the rows already there and the rows that failed."""
    mode: str  # 'chat' | 'pipe' | 'batch'
    answered: int
    result_path: Optional[str] = None
    skipped: int = 0
    errors: int = 0


def request_config_from(args) -> RequestConfig:
    """The generation settings of infer/deploy arguments as a request's settings."""
    return RequestConfig(max_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                         top_k=args.top_k, min_p=args.min_p, repetition_penalty=args.repetition_penalty,
                         stop=list(args.stop_words), seed=args.seed, logprobs=getattr(args, 'logprobs', False),
                         top_logprobs=getattr(args, 'top_logprobs', None), num_beams=getattr(args, 'num_beams', 1))


def build_engine(args):
    """The engine of infer/deploy arguments: a reward model scores, any other model generates with
    --infer_backend."""
    engine = task_engine(args)  # a seq_cls / embedding / reranker checkpoint (its args.json says)
    if engine is not None:
        return engine
    if is_reward_model(args):
        return RewardEngine.from_args(args)
    engine = get_infer_engine(args.infer_backend, args.model, template=args.template, default_system=args.system,
                              adapters=args.adapters, merge_lora=args.merge_lora, max_batch_size=args.max_batch_size,
                              engine_kwargs=args.engine_kwargs, **args.load_kwargs())
    engine.max_length, engine.truncation_strategy = args.max_length, args.truncation_strategy
    if getattr(engine, 'template', None) is not None:  # --agent_template, --enable_thinking
        configure_template(engine.template, args)
    return engine


def _answer(engine, args: InferArguments, stdin: TextIO, stdout: TextIO) -> InferResult:
    scoring = isinstance(engine, RewardEngine)
    if args.val_dataset or args.load_data_args:
        result_path = args.result_path or DEFAULT_RESULT_PATH
        if scoring and args.logprobs:
            raise SwiftError('--logprobs: a reward model scores, it generates no tokens')
        rows = load_rows(args)
        rank, size = world()
        if size > 1:  # NPROC_PER_NODE=N: the rows split across the processes, one merged file in the input order
            counts = run_batch_data_parallel(engine, rows, result_path, request_config_from(args), system=args.system)
        else:
            counts = (score_rows(engine, rows, result_path) if scoring else
                      run_batch(engine, rows, result_path, request_config_from(args), system=args.system))
        if rank == 0:
            stdout.write(f'{result_path}: {counts["done"]} rows {"scored" if scoring else "answered"}, '
                         f'{counts["skipped"]} already there, {counts["errors"]} errors\n')
        return InferResult('batch', counts['done'], result_path, counts['skipped'], counts['errors'])
    if scoring:
        return InferResult('pipe', score_lines(engine, stdin, stdout))
    config = request_config_from(args)
    if stdin.isatty():
        stream = True if args.stream is None else args.stream
        return InferResult('chat', interactive_chat(engine, config, stdin, stdout, system=args.system, stream=stream))
    return InferResult('pipe', pipe_answers(engine, config, stdin, stdout, system=args.system))


def infer_main(args: Union[InferArguments, Sequence[str], Dict[str, Any], None] = None, stdin: TextIO = None,
               stdout: TextIO = None, **kwargs) -> InferResult:
    """Run exactly what `swift infer` runs; stdin/stdout default to the process's."""
    args = check_infer_args(parse_args(InferArguments, args, **kwargs))
    if world()[1] > 1:
        _one_device_per_process(args)
    engine = build_engine(args)
    try:
        return _answer(engine, args, stdin or sys.stdin, stdout or sys.stdout)
    finally:
        engine.close()


def _one_device_per_process(args) -> None:
    """Several processes (NPROC_PER_NODE): batch mode only, each process on its own GPU when there are GPUs."""
    if not args.val_dataset or is_reward_model(args):
        raise SwiftError('several processes (NPROC_PER_NODE) answer the rows of --val_dataset with a generating '
                         'model; chat, piped lines and reward scoring run in one process')
    import torch
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', '0')))
