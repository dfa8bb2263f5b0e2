"""Reading benchmark rows: original file layouts on disk, or the Hugging Face hub.

Local files are read as plain strings (csv module, json), never through pandas: a choice such
as "0.50" or "None" must reach the prompt exactly as written in the file.
"""
import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

from swift.utils import SwiftError, get_logger

logger = get_logger()


def read_csv_rows(path: Path, columns: Sequence[str], header: bool) -> List[Dict[str, str]]:
    """Rows of a CSV as dicts over `columns`; with header=True the file's first row is skipped.

    Files with a header may carry extra leading columns (an index): the last len(columns) cells are used.
    """
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    rows = []
    with open(path, encoding='utf-8-sig', newline='') as f:
        reader = csv.reader(f)
        try:
            for cells in reader:
                if header and reader.line_num == 1:
                    continue
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) < len(columns):
                    raise SwiftError(f'{path}:{reader.line_num}: expected {len(columns)} columns '
                                     f'({", ".join(columns)}), found {len(cells)}')
                rows.append(dict(zip(columns, cells[len(cells) - len(columns):])))
        except csv.Error as e:
            raise SwiftError(f'{path}:{reader.line_num}: broken CSV ({e})') from None
    return rows


def read_jsonl_rows(path: Path, required: Sequence[str] = ()) -> List[Dict[str, Any]]:
    rows = []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise SwiftError(f'{path}:{number}: not JSON ({e.msg})') from None
            missing = [k for k in required if k not in row]
            if missing:
                raise SwiftError(f'{path}:{number}: missing field {missing[0]!r} (expected {", ".join(required)})')
            rows.append(row)
    return rows


def require_file(path: Path, benchmark: str) -> Path:
    if not path.is_file():
        raise SwiftError(f'{benchmark}: {path} not found (see docs/eval.md for the file layout each benchmark reads '
                         'from --eval_dataset_dir)')
    return path


def load_hub_rows(benchmark: str, dataset_id: str, config: Optional[str], split: str) -> List[Dict[str, Any]]:
    """Rows of one config/split of a Hugging Face dataset; one clear line when the hub is out of reach."""
    from swift.dataset.hub import check_reachable
    where = f'{dataset_id}' + (f':{config}' if config else '') + f'/{split}'
    try:
        check_reachable('hf', dataset_id)
    except SwiftError as e:
        reason = str(e).split('(', 1)[-1].split(')', 1)[0]
        raise SwiftError(f'{benchmark}: cannot load {where} from Hugging Face ({reason}); pass --eval_dataset_dir '
                         'with a local copy of the benchmark files') from None
    import datasets
    logger.info(f'{benchmark}: loading {where} from Hugging Face')
    try:
        data = datasets.load_dataset(dataset_id, config, split=split)
    except Exception as e:  # datasets raises many types for one cause: the data is not there
        first_line = str(e).splitlines()[0] if str(e) else ''
        raise SwiftError(f'{benchmark}: cannot load {where} from Hugging Face ({type(e).__name__}: {first_line}); '
                         'pass --eval_dataset_dir with a local copy') from None
    return [dict(row) for row in data]


def rows_sha256(rows: Iterable[Dict[str, Any]]) -> str:
    """A hash of rows' content (canonical JSON): same rows → same hash, whichever file they came from."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode('utf-8'))
        digest.update(b'\n')
    return digest.hexdigest()
