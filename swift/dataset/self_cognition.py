"""`swift/self-cognition`: identity Q&A that teaches a model its new name and author.

The rows (swift/dataset/data/self_cognition.jsonl, written for this project, English and Chinese)
hold {{NAME}} and {{AUTHOR}} placeholders, filled from model_name / model_author. Each is one
string for both languages, or a pair (Chinese, English) as in `--model_name 小黄 'Xiao Huang'`.

Some natural identity questions are deliberately NOT in the data: HELD_OUT_IDENTITY_QUESTIONS
checks whether a fine-tuned model generalizes to phrasings it never saw.
"""
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from swift.utils import SwiftError

from .formats import RowError

DATA_FILE = Path(__file__).parent / 'data' / 'self_cognition.jsonl'
PLACEHOLDERS = ('{{NAME}}', '{{AUTHOR}}')

HELD_OUT_IDENTITY_QUESTIONS = (
    'Please introduce yourself briefly.',
    'Tell me about your creator.',
    'What should I call you?',
    '请简单介绍一下你自己。',
    '跟我讲讲你的创造者。',
    '我应该怎么称呼你？',
)


def name_pair(value: Union[None, str, Sequence[str]], flag: str) -> Optional[Tuple[str, str]]:
    """'X' → ('X', 'X'); ['小黄', 'Xiao Huang'] → ('小黄', 'Xiao Huang') (Chinese first, as ms-swift)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    value = [v for v in value if v is not None and str(v).strip()]
    if not value:
        return None
    if len(value) == 1:
        return (value[0], value[0])
    if len(value) == 2:
        return (value[0], value[1])
    raise SwiftError(f'--{flag} takes one name, or two: Chinese then English (got {len(value)} values)')


def fill_self_cognition(row: Dict[str, Any], options) -> Dict[str, Any]:
    """The registered preprocess function: fill the placeholders in the row's language."""
    if options.model_name is None or options.model_author is None:
        raise SwiftError("swift/self-cognition needs the model's new identity: pass --model_name and "
                         "--model_author (one string, or Chinese then English: --model_name 小黄 'Xiao Huang')")
    tag = row.pop('tag', 'en')
    if tag not in ('zh', 'en'):
        raise RowError(f"'tag' must be 'zh' or 'en', got {tag!r}")
    lang = 0 if tag == 'zh' else 1
    name, author = options.model_name[lang], options.model_author[lang]
    for key in ('query', 'response'):
        if key in row:
            row[key] = row[key].replace('{{NAME}}', name).replace('{{AUTHOR}}', author)
    return row
