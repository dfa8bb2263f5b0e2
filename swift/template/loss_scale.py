"""Loss-scale weightings (ms-swift's --loss_scale react | hermes | ignore_empty_think), applied on top of the
base strategy (default | last_round | all) that decides which answers are trained.

A weighting gives characters of a trained answer a weight: 0 takes them out of the loss (their label becomes
-100), anything else scales their tokens' cross-entropy (the trainer reads `loss_scale`, one weight per token).

    hermes              <tool_call>...</tool_call> blocks weigh 2
    react               'Action:' and 'Action Input:' lines weigh 2, 'Thought:' / 'Final Answer:' 1,
                        an 'Observation:' keyword 2 and the observation itself 0 (the tool wrote it, not the model)
    ignore_empty_think  an empty '<think>\\n\\n</think>\\n\\n' at the start of an answer is not trained
"""
import re
from typing import Dict, List, Sequence, Tuple

from swift.utils import SwiftError

BASE_STRATEGIES = ('default', 'last_round', 'all')
# keyword: (weight of the keyword, weight of the text after it, up to the next keyword)
_REACT = {'Action:': (2.0, 2.0), 'Action Input:': (2.0, 2.0), 'Thought:': (1.0, 1.0), 'Final Answer:': (1.0, 1.0),
          'Observation:': (2.0, 0.0)}
_REACT_RE = re.compile('|'.join(re.escape(k) for k in sorted(_REACT, key=len, reverse=True)))
_HERMES_RE = re.compile(r'<tool_call>.+?</tool_call>', re.DOTALL)
_EMPTY_THINK_RE = re.compile(r'^(<think>\s*</think>\s*|</think>\s*)')
WEIGHTINGS = ('react', 'hermes', 'ignore_empty_think')


def split_loss_scale(value: str) -> Tuple[str, List[str]]:
    """'last_round+hermes' → ('last_round', ['hermes']); 'react' → ('default', ['react'])."""
    parts = [p for p in str(value).split('+') if p]
    base = parts.pop(0) if parts and parts[0] in BASE_STRATEGIES else 'default'
    unknown = [p for p in parts if p not in WEIGHTINGS]
    if unknown or not str(value):
        raise SwiftError(f'unknown loss_scale {value!r}: a base strategy ({", ".join(BASE_STRATEGIES)}) optionally '
                         f'followed by +weightings ({", ".join(WEIGHTINGS)}), e.g. last_round+hermes')
    return base, parts


def _react(text: str) -> List[Tuple[int, int, float]]:
    spans = []
    matches = list(_REACT_RE.finditer(text))
    for i, match in enumerate(matches):
        keyword_weight, content_weight = _REACT[match.group(0)]
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        spans += [(match.start(), match.end(), keyword_weight), (match.end(), end, content_weight)]
    return spans


def _hermes(text: str) -> List[Tuple[int, int, float]]:
    return [(m.start(), m.end(), 2.0) for m in _HERMES_RE.finditer(text)]


def _ignore_empty_think(text: str) -> List[Tuple[int, int, float]]:
    match = _EMPTY_THINK_RE.match(text)
    return [(0, match.end(), 0.0)] if match else []


_RULES = {'react': _react, 'hermes': _hermes, 'ignore_empty_think': _ignore_empty_think}


def answer_weights(answers: Sequence[Tuple[int, str]], weightings: Sequence[str]) -> Dict[int, float]:
    """{character position: weight} for the characters the weightings change; `answers` are (start, text) of
    the trained answer segments. Several weightings multiply."""
    weights: Dict[int, float] = {}
    for name in weightings:
        for start, text in answers:
            for begin, end, weight in _RULES[name](text):
                for position in range(start + begin, start + end):
                    weights[position] = weights.get(position, 1.0) * weight
    return weights
