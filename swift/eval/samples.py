"""The per-sample log `<output_dir>/samples/<benchmark>.jsonl`, which is also the resume point.

Every scored question is appended (and flushed) as soon as its batch is done. A rerun with the
same settings reads the log back and asks only the questions not in it; other settings (another
model, few-shot number, scoring) start a fresh log. A line cut short by a kill is dropped.
"""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from swift.utils import atomic_write_json, atomic_write_text, get_logger

logger = get_logger()


class SampleLog:

    def __init__(self, directory: Optional[Path], benchmark: str, run_key: Dict[str, Any], resume: bool = True):
        self.records: Dict[str, Dict[str, Any]] = {}
        run_key = json.loads(json.dumps(run_key, default=str))  # compare as it reads back from disk
        self.path = directory / f'{benchmark}.jsonl' if directory else None
        if self.path is None:
            return  # in memory only
        directory.mkdir(parents=True, exist_ok=True)
        key_path = directory / f'{benchmark}.run.json'
        saved_key = json.loads(key_path.read_text(encoding='utf-8')) if key_path.is_file() else None
        if resume and saved_key == run_key and self.path.is_file():
            self._load()
            if self.records:
                logger.info(f'{benchmark}: resuming, {len(self.records)} questions already scored in {self.path}')
        else:
            if self.path.is_file() and self.path.stat().st_size:
                reason = 'starting over' if not resume else 'other settings than the log was made with: starting over'
                logger.info(f'{benchmark}: {self.path} holds an earlier run; {reason}')
            atomic_write_text(self.path, '')
        atomic_write_json(key_path, run_key)

    def _load(self) -> None:
        kept: List[str] = []
        with open(self.path, encoding='utf-8') as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the last line of a killed run
                if not line.endswith('\n'):
                    continue
                self.records[record['id']] = record
                kept.append(line)
        atomic_write_text(self.path, ''.join(kept))  # later appends start on a clean line

    def done(self, sample_id: str) -> bool:
        return sample_id in self.records

    def add(self, records: List[Dict[str, Any]]) -> None:
        for record in records:
            self.records[record['id']] = record
        if self.path is not None and records:
            with open(self.path, 'a', encoding='utf-8') as f:
                f.write(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in records))
                f.flush()
