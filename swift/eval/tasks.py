"""From a benchmark name and its settings to the questions to ask: docs and few-shot examples per subset."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from swift.utils import SwiftError, did_you_mean, get_logger

from .data import load_hub_rows, rows_sha256
from .registry import GENERATION, Benchmark, Doc

logger = get_logger()

SETTING_KEYS = ('few_shot_num', 'subsets', 'limit', 'max_new_tokens')


@dataclass
class BenchmarkSettings:
    few_shot_num: int
    subsets: Optional[List[str]]  # None: all (all found on disk, for a local directory)
    limit: Optional[int]  # rows per subset, the first ones in file order
    max_new_tokens: int


@dataclass
class SubsetTask:
    subset: str
    description: str
    docs: List[Doc]
    shots: List[Doc]


@dataclass
class Task:
    benchmark: Benchmark
    settings: BenchmarkSettings
    subsets: List[SubsetTask]
    source: str  # the local directory or the hub ID
    data_sha256: str  # of the evaluated rows and the few-shot rows
    n_docs: int = field(init=False)

    def __post_init__(self):
        self.n_docs = sum(len(s.docs) for s in self.subsets)


def resolve_settings(benchmark: Benchmark, dataset_args: Optional[Dict[str, Any]],
                     limit: Optional[int]) -> BenchmarkSettings:
    args = dict((dataset_args or {}).get(benchmark.name) or {})
    unknown = [k for k in args if k not in SETTING_KEYS]
    if unknown:
        raise SwiftError(f'--eval_dataset_args {benchmark.name}: unknown key {unknown[0]!r}.'
                         f'{did_you_mean(unknown[0], SETTING_KEYS)} Keys: {", ".join(SETTING_KEYS)}')
    subsets = args.get('subsets')
    if isinstance(subsets, str):
        subsets = [subsets]
    few_shot_num = int(args.get('few_shot_num', benchmark.few_shot_num))
    if few_shot_num < 0:
        raise SwiftError(f'--eval_dataset_args {benchmark.name}: few_shot_num must be 0 or more')
    limit = args.get('limit', limit)
    if limit is not None and int(limit) < 1:
        raise SwiftError(f'{benchmark.name}: the limit must be at least 1 row per subset, got {limit}')
    return BenchmarkSettings(few_shot_num=few_shot_num, subsets=list(subsets) if subsets else None,
                             limit=int(limit) if limit is not None else None,
                             max_new_tokens=int(args.get('max_new_tokens', benchmark.max_new_tokens)))


def local_root(benchmark: Benchmark, dataset_dir: str) -> Path:
    """<dataset_dir>/<benchmark folder>, or dataset_dir itself when it is that folder."""
    base = Path(dataset_dir).expanduser().resolve()
    if not base.is_dir():
        raise SwiftError(f'--eval_dataset_dir {dataset_dir}: not a directory')
    root = base / benchmark.local_dir
    if root.is_dir():
        return root
    if base.name == benchmark.local_dir:
        return base
    raise SwiftError(f'{benchmark.name}: {root} not found; --eval_dataset_dir must hold a {benchmark.local_dir}/ '
                     'folder in the benchmark\'s original layout (see docs/eval.md)')


class _Reader:
    """Rows of (subset, split) from the local directory, or from the hub when there is none."""

    def __init__(self, benchmark: Benchmark, root: Optional[Path]):
        self.benchmark = benchmark
        self.root = root

    def rows(self, subset: str, split: str) -> List[Dict[str, Any]]:
        b = self.benchmark
        if self.root is not None:
            return b.read_local(self.root, subset, split)
        rows = load_hub_rows(b.name, b.hub_id, b.hub_config(subset), b.hub_split(split))
        return [b.convert_hub_row(row, subset) for row in rows]

    def available_subsets(self) -> List[str]:
        if self.root is None:
            return list(self.benchmark.subsets)
        return self.benchmark.local_subsets(self.root)


def _choose_subsets(benchmark: Benchmark, requested: Optional[List[str]], available: List[str],
                    where: str) -> List[str]:
    if not available:
        raise SwiftError(f'{benchmark.name}: no subsets found in {where}')
    if requested is None:
        return available
    missing = [s for s in requested if s not in available]
    if missing:
        raise SwiftError(f'{benchmark.name}: subset {missing[0]!r} is not in {where}.'
                         f'{did_you_mean(missing[0], available)} Available: {", ".join(available)}')
    return list(requested)


def _fewshot_rows(benchmark: Benchmark, reader: _Reader, subset: str, n: int) -> List[Dict[str, Any]]:
    if n == 0:
        return []
    fixed = benchmark.fixed_fewshot()
    if fixed is not None:
        if n > len(fixed):
            raise SwiftError(f'{benchmark.name}: few_shot_num {n} is more than its {len(fixed)} fixed exemplars')
        return fixed[:n]
    if benchmark.fewshot_split is None:
        raise SwiftError(f'{benchmark.name} has no few-shot split: set few_shot_num to 0')
    try:
        rows = reader.rows(subset, benchmark.fewshot_split)
    except SwiftError as e:
        raise SwiftError(f'{e} (needed for few_shot_num={n}: the {benchmark.fewshot_split} split holds the examples; '
                         'set few_shot_num 0 to run without)') from None
    if len(rows) < n:
        raise SwiftError(f'{benchmark.name}/{subset}: few_shot_num {n}, but the {benchmark.fewshot_split} split has '
                         f'only {len(rows)} rows')
    return rows[:n]


def load_task(benchmark: Benchmark, settings: BenchmarkSettings, dataset_dir: Optional[str] = None) -> Task:
    root = local_root(benchmark, dataset_dir) if dataset_dir else benchmark.default_root()
    reader = _Reader(benchmark, root)
    where = str(root) if root is not None else f'{benchmark.hub_id} (Hugging Face)'
    subset_names = _choose_subsets(benchmark, settings.subsets, reader.available_subsets(), where)
    subsets, hashed_rows = [], []
    for subset in subset_names:
        rows = reader.rows(subset, benchmark.eval_split)
        if settings.limit is not None:
            rows = rows[:settings.limit]
        shot_rows = _fewshot_rows(benchmark, reader, subset, settings.few_shot_num)
        docs = [benchmark.to_doc(row, subset, i) for i, row in enumerate(rows)]
        shots = [benchmark.to_doc(row, subset, i) for i, row in enumerate(shot_rows)]
        subsets.append(SubsetTask(subset, benchmark.description(subset), docs, shots))
        hashed_rows += [{'subset': subset, 'split': benchmark.eval_split, **r} for r in rows]
        hashed_rows += [{'subset': subset, 'split': 'fewshot', **r} for r in shot_rows]
    task = Task(benchmark, settings, subsets, source=where, data_sha256=rows_sha256(hashed_rows))
    kind = 'generation' if benchmark.kind == GENERATION else 'multiple choice'
    logger.info(f'{benchmark.name}: {task.n_docs} questions in {len(subsets)} subset(s) from {where}, '
                f'{settings.few_shot_num}-shot, {kind}')
    return task
