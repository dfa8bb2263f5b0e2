"""Reward functions for GRPO (`--reward_funcs`): built-in rules, and your own through --external_plugins.

A reward function takes the completions of a step and, as keyword arguments, every other column of
their rows (one list entry per completion: `solution`, `messages` - the prompt -, ...) plus
`completion_lengths` (tokens) and `max_completion_length`. It returns one float per completion
(None: no opinion, counted as 0). Accept **kwargs, so new columns never break a function.

    # my_rewards.py, loaded with --external_plugins my_rewards.py
    from swift.training.rlhf import register_reward_function

    @register_reward_function('polite')
    def polite(completions, **kwargs):
        return [1.0 if 'please' in c.lower() else 0.0 for c in completions]

Built in:
    accuracy    1 if the answer equals `solution` (numbers compared as numbers), else 0. The answer is
                what <answer>…</answer> holds, else the last number of the completion; a solution may
                be plain, in <answer> tags, or GSM8K style ("... #### 42").
    format      1 if the completion is <answer>…</answer>, optionally after <think>…</think>, else 0.
    length      DAPO's soft overlong penalty: 0 up to max_completion_length - buffer (a quarter of it),
                then falling linearly to -1 at max_completion_length.
    repetition  -(share of repeated 3-grams of words): 0 for no repetition, towards -1 for loops.
"""
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from swift.utils import SwiftError, did_you_mean

RewardFunction = Callable[..., List[Optional[float]]]
REWARD_FUNCTIONS: Dict[str, RewardFunction] = {}

_ANSWER = re.compile(r'<answer>(.*?)</answer>', re.S)
_FORMAT = re.compile(r'^\s*(?:<think>.*?</think>\s*)?<answer>.*?</answer>\s*$', re.S)
_NUMBER = re.compile(r'-?\d[\d,]*(?:\.\d+)?')


def register_reward_function(name: str, func: Optional[RewardFunction] = None):
    """Register `func` under `name` (also usable as a decorator); a later registration replaces an earlier one."""

    def register(f: RewardFunction) -> RewardFunction:
        REWARD_FUNCTIONS[name] = f
        return f

    return register(func) if func is not None else register


def get_reward_functions(names: Sequence[str]) -> List[Tuple[str, RewardFunction]]:
    """(name, function) for each name, in order."""
    functions = []
    for name in names:
        if name not in REWARD_FUNCTIONS:
            raise SwiftError(f'unknown reward function {name!r}; built in: {", ".join(sorted(REWARD_FUNCTIONS))} '
                             f'(add your own with register_reward_function in an --external_plugins file).'
                             f'{did_you_mean(name, REWARD_FUNCTIONS)}')
        functions.append((name, REWARD_FUNCTIONS[name]))
    return functions


# ---------------------------------------------------------------- accuracy


def extract_answer(text: str) -> str:
    """The final answer of a completion or a reference solution."""
    tagged = _ANSWER.findall(text)
    if tagged:
        return tagged[-1].strip()
    if '####' in text:  # GSM8K reference answers
        return text.rsplit('####', 1)[1].strip()
    numbers = _NUMBER.findall(text)
    return numbers[-1] if numbers else text.strip()


def _as_number(text: str) -> Optional[float]:
    cleaned = text.strip().rstrip('.').replace(',', '').replace('$', '')
    try:
        return float(cleaned)
    except ValueError:
        return None


def answers_match(answer: str, solution: str) -> bool:
    a, s = _as_number(answer), _as_number(solution)
    if a is not None and s is not None:
        return abs(a - s) <= 1e-6 * max(1.0, abs(s))
    return ' '.join(answer.lower().split()) == ' '.join(solution.lower().split())


@register_reward_function('accuracy')
def accuracy(completions: List[str], solution: Optional[List] = None, **kwargs) -> List[Optional[float]]:
    if solution is None:
        raise SwiftError('the accuracy reward compares answers with a "solution" column: the dataset has none')
    return [None if s is None else float(answers_match(extract_answer(c), extract_answer(str(s))))
            for c, s in zip(completions, solution)]


# ---------------------------------------------------------------- format, length, repetition


@register_reward_function('format')
def format_reward(completions: List[str], **kwargs) -> List[float]:
    return [1.0 if _FORMAT.match(c) else 0.0 for c in completions]


@register_reward_function('length')
def soft_overlong(completions: List[str], completion_lengths: List[int], max_completion_length: int,
                  **kwargs) -> List[float]:
    buffer = max(1, max_completion_length // 4)
    start = max_completion_length - buffer
    return [0.0 if n <= start else max(-1.0, (start - n) / buffer) for n in completion_lengths]


@register_reward_function('repetition')
def repetition(completions: List[str], ngram_size: int = 3, **kwargs) -> List[float]:
    scores = []
    for completion in completions:
        words = completion.lower().split()
        ngrams = [tuple(words[i:i + ngram_size]) for i in range(len(words) - ngram_size + 1)]
        scores.append(-(1 - len(set(ngrams)) / len(ngrams)) if ngrams else 0.0)
    return scores
