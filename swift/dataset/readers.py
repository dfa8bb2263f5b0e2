"""Read rows from local files, keeping where each row came from.

Every reader yields Record(location, data, error): data is the raw row (a dict), or error says
why the row could not even be parsed. Locations are what a user needs to find the row:

    .jsonl / .json with one object per line     data.jsonl:12          (1-based line)
    .json holding an array                      data.json: element 3 (line 14)   (0-based, as in jq .[3])
    .csv / .tsv                                 data.csv:5             (1-based line where the record starts)
    .txt (one text per line)                    corpus.txt:7
    .parquet, datasets.save_to_disk dirs        data.parquet: row 7    (0-based)

Any of the text formats may be gzip-compressed (.jsonl.gz, .csv.gz, ...).
"""
import csv
import gzip
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from swift.utils import SwiftError

SUFFIXES = ('.jsonl', '.json', '.csv', '.tsv', '.txt', '.parquet')


@dataclass
class Record:
    location: str
    data: Optional[Dict[str, Any]] = None
    error: Optional[str] = None


def file_kind(path: Path) -> Optional[str]:
    """'.jsonl' for data.jsonl and data.jsonl.gz; None for unsupported files."""
    name = path.name.lower()
    if name.endswith('.gz'):
        name = name[:-3]
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return None


def is_saved_dataset(path: Path) -> bool:
    """A directory written by datasets' save_to_disk (a Dataset or a DatasetDict)."""
    if not path.is_dir():
        return False
    if (path / 'dataset_dict.json').is_file():
        return True
    return (path / 'state.json').is_file() and any(path.glob('*.arrow'))


def _open_text(path: Path):
    if path.name.lower().endswith('.gz'):
        return gzip.open(path, 'rt', encoding='utf-8', newline='')
    return open(path, encoding='utf-8', newline='')


def _read_text(path: Path) -> str:
    try:
        with _open_text(path) as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise SwiftError(f'{path}: not UTF-8 text (byte {e.start}); re-save the file as UTF-8') from None


def _json_record(location: str, line: str) -> Record:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as e:
        return Record(location, error=f'not valid JSON: {e.msg} (column {e.colno})')
    except RecursionError:
        return Record(location, error='not readable JSON: nested deeper than Python\'s recursion limit')
    except ValueError as e:  # an integer of more than 4300 digits
        return Record(location, error=f'not readable JSON: {str(e).split(";")[0]}')
    if not isinstance(value, dict):
        return Record(location, error=f'expected a JSON object, got {type(value).__name__}')
    return Record(location, data=value)


def read_json_lines(path: Path, text: Optional[str] = None) -> Iterator[Record]:
    text = _read_text(path) if text is None else text
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():  # blank lines separate nothing: skip them
            yield _json_record(f'{path}:{number}', line)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in ' \t\r\n':
        pos += 1
    return pos


def _read_json_array(path: Path, text: str) -> Iterator[Record]:
    """Walk the array element by element so each row knows its index and line."""
    decoder = json.JSONDecoder()
    multiline = '\n' in text.strip()
    pos = _skip_space(text, text.index('[') + 1)
    line, counted_to = 1, 0  # line number at position counted_to
    index = 0
    while pos < len(text) and text[pos] != ']':
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise SwiftError(f'{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg}). A JSON array must be valid as a '
                             'whole: fix the file, or write one object per line (.jsonl) to get a report per line'
                             ) from None
        except (ValueError, RecursionError) as e:  # a 5000-digit number; nesting past the recursion limit
            reason = 'nested too deeply' if isinstance(e, RecursionError) else str(e).split(';')[0]
            raise SwiftError(f'{path}: element {index} cannot be read ({reason}); fix it, or write one object per '
                             'line (.jsonl) to get a report per line') from None
        line += text.count('\n', counted_to, pos)
        counted_to = pos
        location = f'{path}: element {index}' + (f' (line {line})' if multiline else '')
        if isinstance(value, dict):
            yield Record(location, data=value)
        else:
            yield Record(location, error=f'expected a JSON object, got {type(value).__name__}')
        index += 1
        pos = _skip_space(text, end)
        if pos < len(text) and text[pos] == ',':
            pos = _skip_space(text, pos + 1)
        elif pos >= len(text) or text[pos] != ']':
            raise SwiftError(f'{path}: element {index - 1} is not followed by "," or "]": the JSON array is broken')
    if pos >= len(text):
        raise SwiftError(f'{path}: the JSON array is not closed with "]"')


def read_json(path: Path) -> Iterator[Record]:
    """A .json file: an array of objects, one object, or one object per line."""
    text = _read_text(path)
    start = text.lstrip()[:1]
    if start == '[':
        yield from _read_json_array(path, text)
        return
    if start == '{':
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # not one object: one per line, each reported on its own
            yield from read_json_lines(path, text)
            return
        yield Record(f'{path}:1', data=value)
        return
    if text.strip():
        raise SwiftError(f'{path}: expected a JSON array or JSON objects, found {text.strip()[:20]!r}')


def read_csv(path: Path, delimiter: str = ',') -> Iterator[Record]:
    # Cells may be long (whole documents); the default 128 KiB field limit is too small.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with _open_text(path) as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise SwiftError(f'{path}:1: cannot read the CSV header ({e})') from None
        header = [h.strip() for h in header]
        end_line = reader.line_num
        while True:
            start_line = end_line + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise SwiftError(f'{path}:{start_line}: broken CSV ({e})') from None
            end_line = reader.line_num
            location = f'{path}:{start_line}'
            if not any(c.strip() for c in cells):
                continue  # blank line
            if len(cells) != len(header):
                yield Record(location, error=f'{len(cells)} fields, but the header has {len(header)}')
                continue
            yield Record(location, data=dict(zip(header, cells)))


def read_txt(path: Path) -> Iterator[Record]:
    """One pre-training text per non-blank line."""
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if line.strip():
            yield Record(f'{path}:{number}', data={'text': line})


def read_parquet(path: Path) -> Iterator[Record]:
    import pyarrow.parquet as pq
    try:
        parquet = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a damaged file
        raise SwiftError(f'{path}: cannot read the parquet file ({type(e).__name__}: {e})') from None
    index = 0
    for batch in parquet.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            yield Record(f'{path}: row {index}', data=row)
            index += 1


def read_saved_dataset(path: Path, split: Optional[str] = None) -> Iterator[Record]:
    """A directory written by datasets' save_to_disk (a Dataset, or a DatasetDict: `split` picks one)."""
    import datasets
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as e:
        raise SwiftError(f'{path}: cannot load the saved dataset ({type(e).__name__}: {e})') from None
    if isinstance(loaded, datasets.DatasetDict):
        names = list(loaded)
        if split is None:
            split = 'train' if 'train' in loaded else (names[0] if len(names) == 1 else None)
        if split not in loaded:
            raise SwiftError(f'{path}: a DatasetDict with splits {names}; pick one with {path}:<split>')
        loaded = loaded[split]
    for index, row in enumerate(loaded):
        yield Record(f'{path}: row {index}', data=row)


def read_file(path: Path) -> Iterator[Record]:
    kind = file_kind(path)
    if kind == '.jsonl':
        return read_json_lines(path)
    if kind == '.json':
        return read_json(path)
    if kind == '.csv':
        return read_csv(path)
    if kind == '.tsv':
        return read_csv(path, delimiter='\t')
    if kind == '.txt':
        return read_txt(path)
    if kind == '.parquet':
        return read_parquet(path)
    raise SwiftError(f'{path}: unsupported file type; use one of {", ".join(SUFFIXES)} (optionally .gz), '
                     'or a directory saved with datasets.save_to_disk')


def data_files(directory: Path) -> List[Path]:
    """The supported files under a directory: recursive, sorted; hidden files and saved datasets skipped.

    A saved dataset inside the directory holds .json metadata that is not data; load it by its own path.
    """
    files = []
    for path in sorted(directory.rglob('*')):
        parts = path.relative_to(directory).parts
        if not path.is_file() or not file_kind(path) or any(part.startswith('.') for part in parts):
            continue
        if any(is_saved_dataset(parent) for parent in path.parents if directory in parent.parents):
            continue
        files.append(path)
    return files
