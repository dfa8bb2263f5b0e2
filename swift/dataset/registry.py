"""The dataset registry: one DatasetMeta per named dataset, in the same pattern as the model registry.

    register_dataset(DatasetMeta(
        ms_dataset_id='AI-ModelScope/alpaca-gpt4-data-en',
        hf_dataset_id='vicgalle/alpaca-gpt4',
        preprocess_func=my_row_function,     # optional: raw hub row → a row in any supported format
    ))

preprocess_func(row) or preprocess_func(row, options) returns a row in any format that
swift.dataset.formats understands (it is standardized afterwards), or None to skip the row on
purpose (counted as 'skipped'). Raising RowError / ValueError / KeyError marks the row bad with
that reason; raising SwiftError stops loading (a problem with the whole dataset or its options).

A user's own datasets are registered the same way from a file passed as --external_plugins.
Lookup is by registered name, either hub ID, or the part after the organisation, case-insensitive.
"""
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from swift.utils import SwiftError, did_you_mean


@dataclass
class DatasetOptions:
    """What a preprocess function may need besides the row."""
    model_name: Optional[tuple] = None  # (zh, en)
    model_author: Optional[tuple] = None  # (zh, en)
    seed: int = 42
    shuffle: bool = True  # False: `#N` takes the first rows (ms-swift's --dataset_shuffle false)


@dataclass
class DatasetMeta:
    ms_dataset_id: Optional[str] = None
    hf_dataset_id: Optional[str] = None
    dataset_path: Optional[str] = None  # a local file or directory (package data, or a plugin's own files)
    dataset_name: Optional[str] = None  # the registry key; defaults to the first ID above
    subsets: List[str] = field(default_factory=lambda: ['default'])
    split: List[str] = field(default_factory=lambda: ['train'])
    preprocess_func: Optional[Callable[..., Any]] = None
    tags: List[str] = field(default_factory=list)
    description: str = ''

    def __post_init__(self):
        if not (self.ms_dataset_id or self.hf_dataset_id or self.dataset_path):
            raise SwiftError('DatasetMeta needs ms_dataset_id, hf_dataset_id or dataset_path')
        if self.dataset_name is None:
            self.dataset_name = self.ms_dataset_id or self.hf_dataset_id or str(self.dataset_path)
        self._takes_options = False
        if self.preprocess_func is not None:
            try:
                params = inspect.signature(self.preprocess_func).parameters.values()
                positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
                self._takes_options = len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)
            except (TypeError, ValueError):  # builtins without a signature take the row only
                pass

    @property
    def ids(self) -> List[str]:
        return [i for i in (self.ms_dataset_id, self.hf_dataset_id) if i]

    def hub_id(self, hub: str) -> Optional[str]:
        return self.hf_dataset_id if hub == 'hf' else self.ms_dataset_id

    def preprocess(self, row: Dict[str, Any], options: DatasetOptions) -> Any:
        if self.preprocess_func is None:
            return row
        if self._takes_options:
            return self.preprocess_func(row, options)
        return self.preprocess_func(row)


DATASET_REGISTRY: Dict[str, DatasetMeta] = {}
_index: Dict[str, str] = {}  # lowercase name / ID / short name → registry key


def register_dataset(meta: DatasetMeta, exist_ok: bool = False) -> DatasetMeta:
    """Add a dataset. With exist_ok=False a second registration of the same name is an error."""
    if meta.dataset_name in DATASET_REGISTRY and not exist_ok:
        raise SwiftError(f'dataset {meta.dataset_name!r} is already registered')
    DATASET_REGISTRY[meta.dataset_name] = meta
    keys = [meta.dataset_name] + meta.ids
    keys += [i.split('/', 1)[1] for i in keys if '/' in i]
    for key in keys:
        existing = _index.get(key.lower())
        if existing is None or existing == meta.dataset_name or exist_ok:
            _index[key.lower()] = meta.dataset_name
    return meta


def _ensure_builtin_datasets() -> None:
    from . import builtin  # noqa: F401  (registers the shipped datasets on import)


def lookup_dataset(name: str) -> Optional[DatasetMeta]:
    _ensure_builtin_datasets()
    key = _index.get(name.strip().lower())
    return DATASET_REGISTRY.get(key) if key else None


def get_dataset_meta(name: str) -> DatasetMeta:
    meta = lookup_dataset(name)
    if meta is None:
        raise SwiftError(f'unknown dataset {name!r}: not a local path or a registered dataset.'
                         f'{did_you_mean(name, list_datasets())}')
    return meta


def list_datasets() -> List[str]:
    """Registered dataset names, sorted (for `swift list datasets`)."""
    _ensure_builtin_datasets()
    return sorted(DATASET_REGISTRY)
