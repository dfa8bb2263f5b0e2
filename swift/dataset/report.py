"""What loading a dataset did: rows read, formats found, rows dropped and why.

Nothing is dropped silently: every bad row is counted with its location (file:line, a JSON
array element, or a hub row index) and a reason; the first ones are kept for the summary that is
printed and saved next to the training output.
"""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from swift.utils import SwiftError, atomic_write_json, get_logger

logger = get_logger()

REPORT_FILE = 'dataset_report.json'
_KEEP_DETAILS = 1000  # bad rows remembered in full; the counts are always exact


@dataclass
class BadRow:
    location: str  # 'data.jsonl:12', 'data.json: element 3 (line 14)', 'org/name: row 7'
    reason: str

    def __str__(self) -> str:
        return f'{self.location}: {self.reason}'


@dataclass
class SourceStats:
    """Counts for one dataset spec."""
    spec: str
    source: str = ''  # what it resolved to: a path, or 'ModelScope org/name:subset/split'
    read: int = 0
    kept: int = 0
    bad: int = 0
    skipped: int = 0  # rows a registered preprocessor deliberately filtered out
    formats: Counter = field(default_factory=Counter)
    media: Counter = field(default_factory=Counter)  # images / videos / audios in the kept rows
    sampled: Optional[int] = None  # rows after #N sampling

    def to_dict(self) -> dict:
        return {
            'spec': self.spec,
            'source': self.source,
            'read': self.read,
            'kept': self.kept,
            'bad': self.bad,
            'skipped': self.skipped,
            'formats': dict(self.formats),
            'media': dict(self.media),
            'sampled': self.sampled,
        }


class LoadReport:
    """Collects per-source counts and bad rows; strict=True turns the first bad row into a SwiftError."""

    def __init__(self, strict: bool = False):
        self.strict = strict
        self.sources: List[SourceStats] = []
        self.bad_rows: List[BadRow] = []
        self.bad_count = 0
        self.train_rows = 0
        self.val_rows = 0

    def start_source(self, spec: str) -> SourceStats:
        stats = SourceStats(spec)
        self.sources.append(stats)
        return stats

    def add_bad_row(self, stats: SourceStats, location: str, reason: str) -> None:
        if self.strict:
            raise SwiftError(f'{location}: {reason} (strict mode stops at the first bad row; '
                             'drop --strict to skip bad rows and get a report of all of them)')
        stats.bad += 1
        self.bad_count += 1
        if len(self.bad_rows) < _KEEP_DETAILS:
            self.bad_rows.append(BadRow(location, reason))

    @property
    def formats(self) -> Counter:
        total = Counter()
        for s in self.sources:
            total.update(s.formats)
        return total

    @property
    def rows_read(self) -> int:
        return sum(s.read for s in self.sources)

    @property
    def rows_kept(self) -> int:
        return sum(s.kept for s in self.sources)

    def source_lines(self) -> List[str]:
        """One line per dataset spec, then the train/validation row counts."""
        lines = []
        for s in self.sources:
            formats = ', '.join(f'{name} {count}' for name, count in s.formats.most_common()) or 'none'
            line = f'{s.spec}: {s.kept} of {s.read} rows kept (formats: {formats})'
            if s.bad:
                line += f', {s.bad} bad'
            if s.skipped:
                line += f', {s.skipped} skipped by the dataset preprocessor'
            if s.sampled is not None:
                line += f', sampled to {s.sampled}'
            if s.media:
                line += '; media: ' + ', '.join(f'{count} {kind}' for kind, count in sorted(s.media.items()))
            lines.append(line)
        lines.append(f'train rows: {self.train_rows}, validation rows: {self.val_rows}')
        return lines

    def summary(self, show: int = 10) -> str:
        lines = self.source_lines()
        if self.bad_count:
            lines.append(f'{self.bad_count} bad row(s) dropped; the first {min(show, len(self.bad_rows))}:')
            lines += [f'  {row}' for row in self.bad_rows[:show]]
        return '\n'.join(lines)

    def to_dict(self) -> dict:
        return {
            'rows_read': self.rows_read,
            'rows_kept': self.rows_kept,
            'train_rows': self.train_rows,
            'val_rows': self.val_rows,
            'formats': dict(self.formats),
            'bad_count': self.bad_count,
            'bad_rows': [{'location': b.location, 'reason': b.reason} for b in self.bad_rows],
            'sources': [s.to_dict() for s in self.sources],
        }

    def log(self) -> None:
        """Print the summary: a warning when rows were dropped, so it is not missed."""
        text = self.summary()
        (logger.warning if self.bad_count else logger.info)('dataset summary:\n' + text)

    def save(self, output_dir) -> Path:
        path = Path(output_dir) / REPORT_FILE
        atomic_write_json(path, self.to_dict())
        return path
