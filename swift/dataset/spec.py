"""Dataset spec strings: `[hf::|ms::]ID_OR_PATH[:subset[/subset...]][#N]`.

    'alpaca.jsonl'                      a local file (or a directory of files)
    'AI-ModelScope/alpaca-gpt4-data-en#500'   a hub dataset (ModelScope by default), 500 sampled rows
    'hf::vicgalle/alpaca-gpt4'          the same data from Hugging Face
    'AI-ModelScope/hh-rlhf:harmless-base'     one subset of a hub dataset
    'swift/self-cognition#1000'         a registered dataset; #N above its size repeats rows

A string that names an existing local path is always that path, even when it contains ':' or
'#', so an odd filename never gets split.
"""
import os
import re
from dataclasses import dataclass, field
from typing import List, Optional

from swift.utils import SwiftError

HUB_PREFIXES = {'hf::': 'hf', 'ms::': 'ms'}
_SAMPLE_SUFFIX = re.compile(r'#(\d+)$')
_SUBSET_SUFFIX = re.compile(r':([\w.\-]+(?:/[\w.\-]+)*)$')


@dataclass
class DatasetSpec:
    text: str  # the spec as the user wrote it (used in messages)
    dataset_id: str  # hub ID, registered name or local path
    hub: Optional[str] = None  # 'hf' or 'ms' when a prefix forced a hub, else None
    subsets: List[str] = field(default_factory=list)
    sample: Optional[int] = None  # rows to sample (#N)


def parse_dataset_spec(text: str) -> DatasetSpec:
    """Split one spec string into its parts (see the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise SwiftError(f'empty dataset spec {text!r}: pass a file, directory or hub dataset ID')
    original = text = text.strip()
    hub = None
    for prefix, name in HUB_PREFIXES.items():
        if text.startswith(prefix):
            hub, text = name, text[len(prefix):]
            break
    if hub is None and os.path.exists(os.path.expanduser(text)):
        return DatasetSpec(original, text)

    sample = None
    match = _SAMPLE_SUFFIX.search(text)
    if match:
        sample = int(match.group(1))
        if sample == 0:
            raise SwiftError(f'dataset {original!r}: #0 samples no rows; drop the suffix or give a positive count')
        text = text[:match.start()]
    elif '#' in text and not os.path.exists(os.path.expanduser(text)):
        raise SwiftError(f'dataset {original!r}: the part after # must be a row count, e.g. {text.split("#")[0]}#500')

    subsets: List[str] = []
    if hub is not None or not os.path.exists(os.path.expanduser(text)):
        match = _SUBSET_SUFFIX.search(text)
        # 'C:' alone is a Windows drive, not a dataset with a subset
        if match and match.start() > 1:
            subsets = match.group(1).split('/')
            text = text[:match.start()]
    if not text:
        raise SwiftError(f'dataset {original!r}: no dataset ID or path before the subset/sample suffix')
    return DatasetSpec(original, text, hub=hub, subsets=subsets, sample=sample)
