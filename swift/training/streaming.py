"""--streaming: training samples encoded as the trainer consumes them, not all before the first step.

Rows are still read and checked up front (the data report needs them, and --split_dataset_ratio splits them);
what streaming saves is the wait for encoding, which overlaps with training, as in ms-swift. The dataset has no
length, so --max_steps decides when training stops; it goes over the rows again as often as it needs.
DataLoader workers (--dataloader_num_workers) each encode their own share of the rows.
"""
from typing import Any, Callable, Dict, Iterator, List, Sequence

import torch

from swift.dataset import EncodeReport, encode_rows
from swift.utils import SwiftError, get_logger

logger = get_logger()


class StreamingSamples(torch.utils.data.IterableDataset):
    """An iterable of encoded samples over `rows`; encode(rows) → (samples, report) encodes one row's worth."""

    def __init__(self, rows: Sequence[Dict[str, Any]], encode: Callable[[Sequence[Dict[str, Any]]], tuple]):
        self.rows = rows
        self.encode = encode
        self.reported = False

    def _my_indices(self) -> range:
        worker = torch.utils.data.get_worker_info()
        if worker is None:
            return range(len(self.rows))
        return range(worker.id, len(self.rows), worker.num_workers)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        total = EncodeReport(total=0)
        for index in self._my_indices():
            samples, report = self.encode([self.rows[index]], [self._location(index)])
            total.total += 1
            total.encoded += report.encoded
            total.failed += report.failed
            total.too_long += report.too_long
            yield from samples
        if not total.encoded:
            raise SwiftError('--streaming: no row could be encoded into a training sample (too long, or nothing to '
                             'train in them); see the warnings above')
        if not self.reported:
            self.reported = True
            logger.info(f'streaming: one pass encoded {total.encoded} of {total.total} rows ({total.too_long} over '
                        f'max_length, {total.failed} failed)')

    def _location(self, index: int) -> str:
        locations = getattr(self.rows, 'locations', None)
        return locations[index] if locations is not None else f'row {index}'


def streaming_samples(args, template, rows) -> StreamingSamples:
    def encode(some_rows: List[Dict[str, Any]], locations: List[str]):
        return encode_rows(some_rows, template, max_length=args.max_length,
                           truncation_strategy=args.truncation_strategy, loss_scale=args.loss_scale,
                           locations=locations, log=False)

    return StreamingSamples(rows, encode)
