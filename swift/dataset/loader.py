"""load_datasets: dataset specs in, standard rows out (train and validation), with a report.

    result = load_datasets(['alpaca.jsonl', 'swift/self-cognition#500'],
                          split_dataset_ratio=0.01, model_name=['小黄', 'Xiao Huang'], model_author='swift')
    result.train      # Rows: a sequence of standard row dicts (swift.dataset.formats)
    result.val
    result.report     # LoadReport: formats, counts, bad rows with file:line and reason

For each spec, in order: read the source → rename `columns` → the registered dataset's
preprocess function (if any) → detect the row's format and convert it → validate → `#N` sampling.
Then the specs are concatenated, and `split_dataset_ratio` moves a seeded random part of the
training rows to validation (added to any `val_dataset` rows).
"""
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

from swift.utils import SwiftError, did_you_mean
from swift.utils.plugins import load_plugins

from .formats import RowError, standardize_row
from .media import base_dir_of, media_counts, normalize_media
from .readers import SUFFIXES, Record, data_files, file_kind, is_saved_dataset, read_file, read_saved_dataset
from .registry import DatasetMeta, DatasetOptions, list_datasets, lookup_dataset
from .report import LoadReport, SourceStats
from .self_cognition import name_pair
from .spec import DatasetSpec, parse_dataset_spec


PYTHON_ROWS = '<python list>'  # the dataset spec of rows passed from Python


class Rows(Sequence):
    """Standard rows with where each came from (used to name rows in later error messages)."""

    def __init__(self, rows: Optional[List[Dict[str, Any]]] = None, locations: Optional[List[str]] = None):
        self.rows = rows if rows is not None else []
        self.locations = locations if locations is not None else [f'row {i}' for i in range(len(self.rows))]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Rows(self.rows[index], self.locations[index])
        return self.rows[index]

    def __repr__(self) -> str:
        return f'Rows({len(self.rows)} rows)'

    def take(self, indices: Sequence[int]) -> 'Rows':
        return Rows([self.rows[i] for i in indices], [self.locations[i] for i in indices])

    def extend(self, other: 'Rows') -> None:
        self.rows.extend(other.rows)
        self.locations.extend(other.locations)


@dataclass
class LoadResult:
    train: Rows
    val: Rows
    report: LoadReport = field(repr=False)


# ---------------------------------------------------------------- resolving a spec to records


def _hub_for(spec: DatasetSpec, use_hf: bool) -> str:
    return spec.hub or ('hf' if use_hf else 'ms')


def _local_records(path: Path, spec: DatasetSpec, stats: SourceStats) -> Iterator[Record]:
    stats.source = str(path)
    if is_saved_dataset(path):
        if len(spec.subsets) > 1:
            raise SwiftError(f'dataset {spec.text!r}: a saved dataset takes one split after ":"')
        return read_saved_dataset(path, spec.subsets[0] if spec.subsets else None)
    if spec.subsets:
        raise SwiftError(f'dataset {spec.text!r}: a subset (":{"/".join(spec.subsets)}") only applies to hub '
                         'datasets and saved DatasetDicts, not to local files')
    if path.is_dir():
        files = data_files(path)
        if not files:
            raise SwiftError(f'{path}: no data files in this directory (looked for {", ".join(SUFFIXES)})')
        return (record for f in files for record in read_file(f))
    return read_file(path)


def _hub_records(hub: str, dataset_id: str, spec: DatasetSpec, meta: Optional[DatasetMeta],
                 stats: SourceStats) -> Iterator[Record]:
    from .hub import HUB_NAMES, read_hub_dataset
    subsets = spec.subsets or (meta.subsets if meta else ['default'])
    if meta and spec.subsets:
        unknown = [s for s in spec.subsets if s not in meta.subsets]
        if unknown:
            raise SwiftError(f'dataset {spec.text!r}: unknown subset {unknown[0]!r}; '
                             f'{meta.dataset_name} has {meta.subsets}.{did_you_mean(unknown[0], meta.subsets)}')
    splits = meta.split if meta else ['train']
    stats.source = f'{HUB_NAMES[hub]} {dataset_id}'
    return read_hub_dataset(hub, dataset_id, subsets, splits)


def _looks_like_path(text: str) -> bool:
    """A hub ID is 'org/name'; anything else with path syntax or a data file suffix is a path."""
    return (text.startswith(('.', '/', '~')) or text.count('/') > 1 or '\\' in text
            or file_kind(Path(text)) is not None)


def _resolve(spec: DatasetSpec, use_hf: bool, stats: SourceStats):
    """(records, registered meta or None) for one spec."""
    path = Path(os.path.expanduser(spec.dataset_id))
    if spec.hub is None and path.exists():
        return _local_records(path, spec, stats), None
    meta = lookup_dataset(spec.dataset_id)
    if meta is not None:
        if meta.dataset_path and spec.hub is None:
            return _local_records(Path(meta.dataset_path), spec, stats), meta
        hub = _hub_for(spec, use_hf)
        if meta.hub_id(hub) is None and spec.hub is None:
            hub = 'ms' if hub == 'hf' else 'hf'  # registered on the other hub only
        if meta.hub_id(hub) is None:
            from .hub import HUB_NAMES
            raise SwiftError(f'dataset {meta.dataset_name!r} is not registered on {HUB_NAMES[hub]}')
        return _hub_records(hub, meta.hub_id(hub), spec, meta, stats), meta
    if spec.hub is None and _looks_like_path(spec.dataset_id):
        raise SwiftError(f'dataset file not found: {spec.dataset_id}')
    if '/' not in spec.dataset_id:
        raise SwiftError(f'unknown dataset {spec.dataset_id!r}: not a local path, a registered dataset or a hub ID '
                         f'(org/name).{did_you_mean(spec.dataset_id, list_datasets())}')
    return _hub_records(_hub_for(spec, use_hf), spec.dataset_id, spec, None, stats), None


# ---------------------------------------------------------------- one spec


def _convert_records(records: Iterator[Record], meta: Optional[DatasetMeta], options: DatasetOptions,
                     columns: Optional[Dict[str, str]], require_response: bool, report: LoadReport,
                     stats: SourceStats) -> Rows:
    rows = Rows()
    for record in records:
        stats.read += 1
        if record.error is not None:
            report.add_bad_row(stats, record.location, record.error)
            continue
        try:
            row = record.data
            if columns:
                row = {columns.get(k, k): v for k, v in row.items()}
            if meta is not None:
                row = meta.preprocess(dict(row), options)
                if row is None:
                    stats.skipped += 1
                    continue
            name, standard = standardize_row(row, require_response=require_response)
            standard = normalize_media(standard, base_dir_of(record.location), options.image_folder)
        except (RowError, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
            reason = str(e) if isinstance(e, RowError) else f'{type(e).__name__}: {e}'
            report.add_bad_row(stats, record.location, reason)
            continue
        stats.formats[name] += 1
        stats.media.update({k: n for k, n in media_counts(standard).items() if n})
        rows.rows.append(standard)
        rows.locations.append(record.location)
    stats.kept = len(rows)
    return rows


def sample_indices(size: int, n: int, seed: int, shuffle: bool = True) -> List[int]:
    """n row indices out of size: a seeded sample, or whole copies plus a sample when n > size; shuffle=False
    takes the first rows instead of a sample."""
    rng = random.Random(seed)
    copies, remainder = divmod(n, size)
    part = sorted(rng.sample(range(size), remainder)) if shuffle else list(range(remainder))
    return list(range(size)) * copies + part


def _python_records(rows: Sequence[Dict[str, Any]]) -> Iterator[Record]:
    if isinstance(rows, (str, bytes, dict)) or not isinstance(rows, Sequence):
        raise SwiftError(f'{PYTHON_ROWS}: expected a list of dicts (rows), got {type(rows).__name__}')
    for i, row in enumerate(rows):
        if isinstance(row, dict):
            yield Record(f'{PYTHON_ROWS}: row {i}', data=row)
        else:
            yield Record(f'{PYTHON_ROWS}: row {i}', error=f'a row must be a dict, got {type(row).__name__}')


def _load_spec(text: str, options: DatasetOptions, columns, use_hf: bool, require_response: bool,
               report: LoadReport, python_rows: Optional[Sequence[Dict[str, Any]]] = None) -> Rows:
    if text == PYTHON_ROWS:
        if python_rows is None:
            raise SwiftError(f'dataset {PYTHON_ROWS!r} stands for rows passed from Python (rows=[...]); none were')
        stats = report.start_source(PYTHON_ROWS)
        return _convert_records(_python_records(python_rows), None, options, columns, require_response, report,
                                stats) or _no_rows(text, stats, report)
    spec = parse_dataset_spec(text)
    stats = report.start_source(spec.text)
    records, meta = _resolve(spec, use_hf, stats)
    rows = _convert_records(records, meta, options, columns, require_response, report, stats)
    if not rows:
        _no_rows(spec.text, stats, report)
    if spec.sample is not None:
        rows = rows.take(sample_indices(len(rows), spec.sample, options.seed, options.shuffle))
        stats.sampled = len(rows)
    return rows


def _no_rows(text: str, stats: SourceStats, report: LoadReport):
    raise SwiftError(f'dataset {text!r}: no usable rows ({stats.read} read, {stats.bad} bad, '
                     f'{stats.skipped} skipped).' + (f' First problem: {report.bad_rows[-1]}' if stats.bad else ''))


def _shuffled(size: int, seed: int) -> List[int]:
    order = list(range(size))
    random.Random(seed).shuffle(order)
    return order


def split_indices(size: int, ratio: float, seed: int):
    """(train indices, val indices): a seeded random val part of round(size * ratio) rows, at least 1."""
    if not 0 <= ratio < 1:
        raise SwiftError(f'split_dataset_ratio must be in [0, 1), got {ratio}')
    if ratio == 0 or size < 2:
        return list(range(size)), []
    n_val = min(size - 1, max(1, round(size * ratio)))
    order = list(range(size))
    random.Random(seed).shuffle(order)
    val = sorted(order[:n_val])
    val_set = set(val)
    return [i for i in range(size) if i not in val_set], val


def load_datasets(dataset: Union[str, Sequence[str]] = (),
                  val_dataset: Union[None, str, Sequence[str]] = None,
                  split_dataset_ratio: float = 0.0,
                  seed: int = 42,
                  columns: Optional[Dict[str, str]] = None,
                  strict: bool = False,
                  use_hf: bool = False,
                  model_name: Union[None, str, Sequence[str]] = None,
                  model_author: Union[None, str, Sequence[str]] = None,
                  require_response: bool = True,
                  external_plugins: Sequence[str] = (),
                  report_dir: Optional[str] = None,
                  log: bool = True,
                  rows: Optional[Sequence[Dict[str, Any]]] = None,
                  shuffle: bool = False,
                  val_shuffle: bool = False,

                  image_folder: Optional[str] = None) -> LoadResult:
    """Load, convert and validate dataset specs; see the module docstring.

    require_response=False keeps rows that end with a user turn (prompts for GRPO or inference).
    `rows` are rows from Python (any supported format); the spec PYTHON_ROWS ('<python list>') stands for
    them, and with no spec given they are the dataset.
    shuffle / val_shuffle: the training / validation rows in a seeded random order (ms-swift's --dataset_shuffle,
    --val_dataset_shuffle); without shuffle, `#N` samples take the first N rows.
    image_folder: where relative media paths are looked up first (else the dataset file's folder; media.py).
    The summary is logged (a warning when rows were dropped) and, with report_dir, saved there
    as dataset_report.json.
    """
    if external_plugins:
        load_plugins(external_plugins)
    specs = [dataset] if isinstance(dataset, str) else list(dataset or [])
    if rows is not None and PYTHON_ROWS not in specs:
        specs.append(PYTHON_ROWS)
    val_specs = [val_dataset] if isinstance(val_dataset, str) else list(val_dataset or [])
    if not specs and not val_specs:
        raise SwiftError('no dataset given: pass --dataset with a file, directory or hub dataset ID')
    if columns is not None and not (isinstance(columns, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items())):
        raise SwiftError(f'columns must map column names to names, e.g. {{"question": "query"}}; got {columns!r}')
    options = DatasetOptions(model_name=name_pair(model_name, 'model_name'),
                             model_author=name_pair(model_author, 'model_author'),
                             seed=seed, shuffle=shuffle, image_folder=image_folder)
    report = LoadReport(strict=strict)
    train, val = Rows(), Rows()
    for text in specs:
        train.extend(_load_spec(text, options, columns, use_hf, require_response, report, rows))
    for text in val_specs:
        val.extend(_load_spec(text, options, columns, use_hf, require_response, report))
    train_idx, val_idx = split_indices(len(train), split_dataset_ratio, seed)
    if val_idx:
        split_off = train.take(val_idx)
        split_off.extend(val)
        train, val = train.take(train_idx), split_off
    if shuffle:
        train = train.take(_shuffled(len(train), seed))
    if val_shuffle:
        val = val.take(_shuffled(len(val), seed + 1))
    report.train_rows, report.val_rows = len(train), len(val)
    if log:
        report.log()
    if report_dir:
        report.save(report_dir)
    return LoadResult(train, val, report)


load_dataset = load_datasets  # the ms-swift name


def load_datasets_for(args, rows: Optional[Sequence[Dict[str, Any]]] = None, require_response: bool = True,
                      report_dir: Optional[str] = None) -> 'LoadResult':
    """load_datasets with a command's data flags (DataArguments): the rows of --dataset (or of a Python list),
    split into train and validation by --val_dataset / --split_dataset_ratio, seeded by --data_seed (default
    --seed). Training and swift export --to_cached_dataset load through here, so both see the same rows."""
    seed = args.seed if args.data_seed is None else args.data_seed
    return load_datasets(args.dataset, val_dataset=args.val_dataset, split_dataset_ratio=args.split_dataset_ratio,
                         columns=args.columns, strict=args.strict, seed=seed, use_hf=args.use_hf,
                         shuffle=args.dataset_shuffle, val_shuffle=args.val_dataset_shuffle,
                         model_name=args.model_name, model_author=args.model_author,
                         require_response=require_response, rows=rows, report_dir=report_dir,
                         image_folder=args.image_folder)
