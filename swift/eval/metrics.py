"""Scoring: multiple choice by log-likelihood, and answers extracted from generated text.

Both follow the reference harness (lm-evaluation-harness) rule for rule, so the same model
outputs give the same scores:
- acc: the choice with the highest summed log-likelihood (ties: the first);
- acc_norm: the highest log-likelihood per character of the choice text (without the leading space);
- exact match: regexes removed from both sides, case folded, then compared as strings.
"""
import re
from typing import Dict, List, Optional, Sequence, Tuple

INVALID = '[invalid]'


def argmax(values: Sequence[float]) -> int:
    best = 0
    for i, value in enumerate(values):
        if value > values[best]:
            best = i
    return best


def multiple_choice_scores(logliks: Sequence[float], choices: Sequence[str],
                           gold: int) -> Tuple[Dict[str, float], Dict[str, int]]:
    """({'acc': 0/1, 'acc_norm': 0/1}, predictions) for one question."""
    pred = argmax(logliks)
    per_char = [ll / max(len(choice), 1) for ll, choice in zip(logliks, choices)]
    pred_norm = argmax(per_char)
    scores = {'acc': float(pred == gold), 'acc_norm': float(pred_norm == gold)}
    return scores, {'pred': pred, 'pred_norm': pred_norm}


# ---- answers in generated text ----

_LETTER_RE = re.compile(r'\b([A-Z])\b')


def extract_letter(text: str, n_choices: int) -> Optional[int]:
    """The first standalone choice letter in a reply ('B', 'B.', '(B)', 'Answer: B'), as an index."""
    valid = {chr(ord('A') + i) for i in range(n_choices)}
    for match in _LETTER_RE.finditer(text):
        if match.group(1) in valid:
            return ord(match.group(1)) - ord('A')
    return None


def regex_extract(text: str, pattern: str, group_select: int = 0, fallback: str = INVALID) -> str:
    """The reference harness's regex filter: findall, pick one match, first non-empty group, strip."""
    matches = re.findall(pattern, text)
    if not matches:
        return fallback
    match = matches[group_select]
    if isinstance(match, tuple):
        groups = [m for m in match if m]
        match = groups[0] if groups else fallback
    return match.strip()


def exact_match(prediction: str, reference: str, regexes_to_ignore: Sequence[str] = (),
                ignore_case: bool = True) -> float:
    for pattern in regexes_to_ignore:
        prediction = re.sub(pattern, '', prediction)
        reference = re.sub(pattern, '', reference)
    if ignore_case:
        prediction, reference = prediction.lower(), reference.lower()
    return float(prediction == reference)


def mean(values: List[float]) -> float:
    return sum(values) / len(values) if values else float('nan')
