"""--lazy_tokenize: rows are encoded when the trainer asks for them (`__getitem__`), not all before the first step.

An image row's encoding holds its processor tensors (pixel_values: 3 x H x W floats per image tile), so encoding
a whole image dataset up front holds every image of it in memory as float32 for the whole run; lazily, only the
rows of the batches being built do (ms-swift's --lazy_tokenize, on by default for multimodal models).

Bad rows are still found before training: `LazySamples.validate` encodes every row once with the same settings
(the same template, max_length policy and file:line failures as eager encoding, logged in the same summary) and
keeps only which rows gave samples and their lengths; the tensors of each row are dropped as soon as it is
checked. That pass costs the encoding's CPU once more (the processor runs again in `__getitem__`); what lazy
encoding saves is memory. Encoding is deterministic, so a sample is the same whether encoded eagerly or lazily.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

from swift.utils import SwiftError, get_logger

from .encode import EncodeReport, _encode_serial

logger = get_logger()

_COUNTS = ('total', 'encoded', 'too_long', 'deleted', 'truncated', 'split', 'no_labels', 'failed')


class LazySamples:
    """A map-style dataset of encoded samples over `rows`: item i is encoded from its row when asked for.

    Build it with `LazySamples.validate(rows, template, **encode_settings)`; it holds the rows, the template and
    (row, piece) per sample (a row cut into pieces by truncation_strategy 'split' gives several samples), and the
    samples' token lengths (`lengths`: what packing or length grouping would need without encoding again)."""

    def __init__(self, rows: Sequence[Dict[str, Any]], template: Any, settings: Dict[str, Any],
                 items: List[Tuple[int, int]], lengths: List[int]):
        self.rows = rows
        self.template = template
        self.settings = settings
        self.items = items
        self.lengths = lengths

    @classmethod
    def validate(cls, rows: Sequence[Dict[str, Any]], template: Any, log: bool = True, **settings) -> 'LazySamples':
        """Encode each row once, keep what it gave (not its tensors) and report like encode_rows."""
        total = EncodeReport(total=0, max_length=settings.get('max_length'),
                             truncation_strategy=settings.get('truncation_strategy', 'delete'))
        items, lengths = [], []
        for index in range(len(rows)):
            samples, report = _encode_one(rows, index, template, settings)
            _add(total, report)
            items += [(index, piece) for piece in range(len(samples))]
            lengths += [len(sample['input_ids']) for sample in samples]
            del samples  # the tensors of the row: what lazy encoding does not keep
        if total.total and not items and total.failed:
            location, reason = total.failures[0]
            raise SwiftError(f'the template could not encode any row; the first failure, {location}: {reason}')
        if log:
            (logger.warning if (total.failed or total.too_long or total.no_labels) else logger.info)(
                'encoding summary (validation pass of --lazy_tokenize; rows are encoded again as training reads '
                'them):\n' + total.summary())
        return cls(rows, template, settings, items, lengths)

    @property
    def has_media(self) -> bool:
        return any(row.get(key) for row in self.rows for key in ('images', 'videos', 'audios'))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        row, piece = self.items[index]
        samples, report = _encode_one(self.rows, row, self.template, self.settings)
        if piece >= len(samples):  # only if encoding is not deterministic (e.g. a file changed on disk)
            reason = report.failures[0][1] if report.failures else 'it gives fewer samples than in validation'
            raise SwiftError(f'{_location(self.rows, row)}: --lazy_tokenize encoded this row before training but '
                             f'cannot now: {reason}')
        return samples[piece]


def _encode_one(rows: Sequence[Dict[str, Any]], index: int, template: Any, settings: Dict[str, Any]):
    """(samples, report) of row `index`, as encode_rows gives them for it within the whole dataset (a failed row:
    no samples, its failure in the report)."""
    return _encode_serial([rows[index]], template, settings.get('max_length'),
                          settings.get('truncation_strategy', 'delete'), settings.get('loss_scale'),
                          settings.get('strict', False), [_location(rows, index)])


def _location(rows: Sequence[Dict[str, Any]], index: int) -> str:
    locations: Optional[Sequence[str]] = getattr(rows, 'locations', None)
    return locations[index] if locations is not None else f'row {index}'


def _add(total: EncodeReport, report: EncodeReport) -> None:
    for name in _COUNTS:
        setattr(total, name, getattr(total, name) + getattr(report, name))
    total.lengths += report.lengths
    total.failures += report.failures[:max(0, 100 - len(total.failures))]
