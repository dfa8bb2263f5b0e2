"""One exception type for mistakes a user can fix.

The CLI prints a SwiftError as a single line (no traceback): it should say what went wrong
and what to do about it.
"""
import difflib
from typing import Iterable, List


class SwiftError(Exception):
    """An error caused by user input or the environment, printed without a traceback."""


def closest_matches(word: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.5) -> List[str]:
    """Candidates closest to `word`, compared case-insensitively, in their original spelling."""
    by_lower = {}
    for c in candidates:
        by_lower.setdefault(c.lower(), c)
    lowered = difflib.get_close_matches(word.lower(), list(by_lower), n=n, cutoff=cutoff)
    # Also accept candidates that contain the word, useful for partial IDs such as 'qwen2.5-7b'.
    if len(lowered) < n:
        contained = [c for c in by_lower if word.lower() in c and c not in lowered]
        contained.sort(key=len)
        lowered += contained[:n - len(lowered)]
    return [by_lower[c] for c in lowered]


def did_you_mean(word: str, candidates: Iterable[str], n: int = 3) -> str:
    """' Did you mean: a, b?' or '' when nothing is close."""
    matches = closest_matches(word, candidates, n=n)
    return f" Did you mean: {', '.join(matches)}?" if matches else ''
