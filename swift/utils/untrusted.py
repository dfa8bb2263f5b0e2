"""Checks on values that come from outside (an HTTP body, a dataset row, a config file), run before the code that
would crash on them: text with a lone UTF-16 surrogate, numbers that are not finite, nesting too deep to walk,
more values than a sane input holds, text too long to tokenize.

    problem = find_problem({'messages': [{'content': 'hi \\ud800'}]}, max_depth=64)
    problem.kind == 'surrogate'; problem.path == ('messages', 0, 'content')
    dotted(problem.path) == 'messages.0.content'; indexed(problem.path) == 'messages[0].content'

Why surrogates: a str decoded from UTF-8 or from JSON keeps a valid pair ("\\ud83d\\ude00") as one code point, so
any surrogate still in it is lone. It cannot be encoded as UTF-8; tokenizers raise TypeError on it, and printing or
saving it raises UnicodeEncodeError.

The walk is iterative (a value nested 100,000 levels deep is reported, not a RecursionError) and stops at
`max_depth`, so a value that contains itself (a YAML alias inside its own anchor) is reported as too deep instead
of walked forever. It is built for big bodies: numbers and None cost one type check, and a path is only put
together for the problem it reports.
"""
import math
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple, Union

Path = Tuple[Union[str, int], ...]

_SURROGATE = re.compile('[\ud800-\udfff]')
_CONTAINERS = (dict, list, tuple)


@dataclass
class Problem:
    path: Path  # keys and list indices from the top down to the offending value
    kind: str  # 'surrogate' | 'not_finite' | 'too_deep' | 'too_many' | 'too_long'
    message: str  # what is wrong, to follow the place's name ('must be a finite number, got inf')


def lone_surrogate(text: str) -> Optional[int]:
    """The index of the first lone UTF-16 surrogate in `text`, or None."""
    match = _SURROGATE.search(text)
    return match.start() if match else None


def surrogate_message(text: str, index: int) -> str:
    """What to say after the place's name ('holds a lone UTF-16 surrogate (\\ud800) at character 3, ...'); each
    caller adds what to do, in its own terms."""
    return (f'holds a lone UTF-16 surrogate (\\u{ord(text[index]):04x}) at character {index}, which is not valid '
            'Unicode text')


def find_problem(value: Any, *, max_depth: Optional[int] = None, max_values: Optional[int] = None,
                 max_chars: Optional[int] = None, finite: bool = True) -> Optional[Problem]:
    """A problem in `value` (dicts, lists and tuples are walked; keys are checked as text), or None.
    finite=False lets NaN and infinities through (a dataset column may hold them on purpose)."""
    problem = _leaf_problem(value, max_chars, finite)
    if problem is not None:
        return Problem((), *problem)
    # (container, its place as a (parent place, key) chain, its depth): a path is built only for a problem
    stack = [(value, None, 1)] if isinstance(value, _CONTAINERS) else []
    visited = 0
    while stack:
        item, place, depth = stack.pop()
        if max_depth is not None and depth > max_depth:
            return _too_deep(place, max_depth)
        visited += len(item)
        if max_values is not None and visited > max_values:
            return Problem(_path(place), 'too_many', f'holds more than {max_values:,} values')
        nested = []
        for key, child in (item.items() if isinstance(item, dict) else enumerate(item)):
            if isinstance(key, str) and lone_surrogate(key) is not None:  # a dict key: text like any other
                return Problem(_path((place, key)), 'surrogate', 'is a key that ' +
                               surrogate_message(key, lone_surrogate(key)))
            kind = type(child)
            if kind is int or kind is bool or child is None:  # most values of a big body: nothing to check
                continue
            if isinstance(child, _CONTAINERS):
                if child:
                    nested.append((child, (place, key), depth + 1))
                elif max_depth is not None and depth + 1 > max_depth:
                    return _too_deep((place, key), max_depth)
                continue
            problem = _leaf_problem(child, max_chars, finite)
            if problem is not None:
                return Problem(_path((place, key)), *problem)
        stack.extend(reversed(nested))
    return None


def _too_deep(place, max_depth: int) -> Problem:
    return Problem(_path(place), 'too_deep', f'is nested more than {max_depth} levels deep (or contains itself)')


def _path(place) -> Path:
    """('messages', 0, 'content') from the chain (((None, 'messages'), 0), 'content')."""
    parts = []
    while place is not None:
        place, key = place
        parts.append(key)
    return tuple(reversed(parts))


def _leaf_problem(item: Any, max_chars: Optional[int], finite: bool) -> Optional[Tuple[str, str]]:
    if isinstance(item, str):
        index = lone_surrogate(item)
        if index is not None:
            return 'surrogate', surrogate_message(item, index)
        if max_chars is not None and len(item) > max_chars:
            return 'too_long', f'is {len(item):,} characters long, more than the limit of {max_chars:,}'
    elif finite and isinstance(item, float) and not math.isfinite(item):
        return 'not_finite', f'must be a finite number, got {item}'
    return None


def dotted(path: Sequence[Union[str, int]]) -> str:
    """('messages', 0, 'content') → 'messages.0.content' (as the server names a request's fields)."""
    return '.'.join(str(part) for part in path)


def indexed(path: Sequence[Union[str, int]]) -> str:
    """('messages', 0, 'content') → 'messages[0].content' (as dataset and config errors name a place)."""
    text = ''
    for part in path:
        text += f'[{part}]' if isinstance(part, int) else (f'.{part}' if text else str(part))
    return text
