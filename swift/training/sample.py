"""`swift sample`: rejection sampling and distillation, written as a dataset `swift sft` trains on.

    result = sample_main(['--model', M, '--dataset', 'prompts.jsonl', '--num_return_sequences', '8',
                          '--orm_model', 'accuracy', '--n_best_to_keep', '2'])

For each prompt (a dataset row; a final assistant turn is dropped and kept as `solution`), the model samples
--num_return_sequences answers with any --infer_backend engine. --sampler_type sample scores them with
--orm_model (a reward function name, or a reward model checkpoint) plus --reward_funcs — the same reward
functions GRPO uses, which is why this stage lives in the training package — and keeps the --n_best_to_keep
highest-scoring distinct answers (at or above --min_reward). --sampler_type distill keeps the first
--n_best_to_keep distinct answers, unscored unless a reward is given.

Each kept answer is one output row: the prompt's messages plus the answer as the assistant turn, the row's other
columns (solution, ...), and `reward` when scored. The file (<output_dir>/<output_file>) is written atomically
when sampling ends.
"""
import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Tuple, Union

from swift.arguments import SampleArguments
from swift.dataset import load_datasets
from swift.infer.main import build_engine
from swift.infer.protocol import InferRequest, RequestConfig
from swift.infer.reward_model import RewardModel
from swift.utils import SwiftError, get_logger
from swift.utils.args import parse_args
from swift.utils.io import atomic_write_text

from .checks import check_sample_args
from .rlhf.data import prompt_row
from .rlhf.rewards import REWARD_FUNCTIONS, get_reward_functions

logger = get_logger()


@dataclass
class SampleResult:
    output_path: str
    prompts: int
    sampled: int  # answers generated
    kept: int  # rows written


def reward_sources(args: SampleArguments) -> List[Tuple[str, Callable]]:
    """(name, function(completions, **columns)) for --orm_model and --reward_funcs."""
    sources = get_reward_functions(args.reward_funcs)
    if args.orm_model:
        if args.orm_model in REWARD_FUNCTIONS:
            sources = get_reward_functions([args.orm_model]) + sources
        elif os.path.exists(args.orm_model) or '/' in args.orm_model:
            sources = [('orm_model', RewardModel.load(args.orm_model, model_kwargs=args.load_kwargs()))] + sources
        else:
            raise SwiftError(f'--orm_model {args.orm_model!r} is neither a reward function ('
                             f'{", ".join(sorted(REWARD_FUNCTIONS))}) nor a reward model directory or hub ID')
    return sources


def score(sources, rows: Sequence[Dict[str, Any]], texts: List[str], lengths: List[int], max_tokens) -> List[float]:
    """Summed scores of each answer (rows[i] is answer i's prompt row); None counts as 0, as in GRPO."""
    columns = {key: [row.get(key) for row in rows] for key in {k for row in rows for k in row}}
    columns.update(completion_lengths=lengths, max_completion_length=max_tokens)
    total = [0.0] * len(texts)
    for name, function in sources:
        values = function(texts, **columns)
        if len(values) != len(texts):
            raise SwiftError(f'reward {name!r} returned {len(values)} values for {len(texts)} answers')
        total = [t + (0.0 if v is None else float(v)) for t, v in zip(total, values)]
    return total


def keep_best(answers: List[Tuple[str, float]], n: int, min_reward, scored: bool) -> List[Tuple[str, float]]:
    """The n best distinct answers (by score when scored, else in sampling order); empty answers are dropped."""
    seen, distinct = set(), []
    for text, reward in answers:
        if text.strip() and text not in seen and (min_reward is None or not scored or reward >= min_reward):
            seen.add(text)
            distinct.append((text, reward))
    if scored:
        distinct.sort(key=lambda pair: -pair[1])  # stable: ties keep their sampling order
    return distinct[:n]


def sample_main(args: Union[SampleArguments, Sequence[str], Dict[str, Any], None] = None, **kwargs) -> SampleResult:
    """Run exactly what `swift sample` runs."""
    args = check_sample_args(parse_args(SampleArguments, args, **kwargs))
    loaded = load_datasets(args.dataset, require_response=False, use_hf=args.use_hf, seed=args.seed)
    rows = [prompt_row(row) for row in loaded.train]
    sources = reward_sources(args)
    engine = build_engine(args)
    config = RequestConfig(max_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                           top_k=args.top_k, min_p=args.min_p, repetition_penalty=args.repetition_penalty,
                           stop=list(args.stop_words), seed=args.seed, n=args.num_return_sequences, logprobs=bool(sources))
    try:
        responses = engine.infer([InferRequest(messages=row['messages'], tools=row.get('tools')) for row in rows],
                                 config)
    finally:
        engine.close()
    out_rows, sampled = [], 0
    for row, response in zip(rows, responses):
        texts = [choice.message.content or '' for choice in response.choices]
        sampled += len(texts)
        if sources:
            lengths = [len(c.logprobs.content) if c.logprobs else 0 for c in response.choices]
            rewards = score(sources, [row] * len(texts), texts, lengths, args.max_new_tokens)
        else:
            rewards = [0.0] * len(texts)
        for text, reward in keep_best(list(zip(texts, rewards)), args.n_best_to_keep, args.min_reward, bool(sources)):
            out = {**row, 'messages': list(row['messages']) + [{'role': 'assistant', 'content': text}]}
            if sources:
                out['reward'] = reward
            out_rows.append(out)
    path = os.path.join(args.output_dir, args.output_file or f'{args.sampler_type}.jsonl')
    os.makedirs(args.output_dir, exist_ok=True)
    atomic_write_text(path, ''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in out_rows))
    logger.info(f'{path}: {len(out_rows)} rows kept of {sampled} answers to {len(rows)} prompts')
    if not out_rows:
        raise SwiftError(f'swift sample kept no answer (of {sampled}): lower --min_reward, raise '
                         '--num_return_sequences, or check the reward')
    return SampleResult(path, len(rows), sampled, len(out_rows))
