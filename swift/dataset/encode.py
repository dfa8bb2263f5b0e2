"""Encode standard rows into token ids with a template, applying the max_length policy.

    encoded, report = encode_rows(result.train, template, max_length=2048, truncation_strategy='delete')

template.encode(row) returns {'input_ids', 'labels', 'attention_mask', ...} (swift.template);
preference templates may return several groups, e.g. 'chosen_input_ids' and 'rejected_input_ids':
each group (prefix + 'input_ids') is measured and truncated on its own.

truncation_strategy for rows longer than max_length:
    delete   drop the row (counted)
    left     keep the last max_length tokens (per-token lists: ids, labels, masks, loss scales)
    right    keep the first max_length tokens
    split    cut the row into consecutive max_length pieces, each a sample (swift pt: no token wasted)
    error    stop with a SwiftError naming the row
A row whose labels are all -100 after truncation has nothing to learn and is dropped (counted).
A row with media (a multimodal template's 'media_spans') is never truncated inside or past its media tokens:
such a row counts as failed, with the reason, instead.
How many rows each rule touched is always logged.

By default it runs in this process, one row after another: on a small machine a worker pool costs more in
start-up and pickling than it saves, and fast tokenizers already run thousands of rows a second. num_proc > 1
(--dataset_num_proc) encodes contiguous shards in forked worker processes and joins them in order: the samples
and the report are the same as in one process.
"""
import copy
import inspect
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from swift.arguments.data import TRUNCATION_STRATEGIES
from swift.utils import SwiftError, get_logger

logger = get_logger()

IGNORE_INDEX = -100
# Per-token fields cut together with their group's input_ids.
_TOKEN_FIELDS = ('input_ids', 'labels', 'attention_mask', 'loss_scale', 'position_ids', 'token_type_ids')
_LENGTH_FIELD = 'length'  # an int some templates add: kept equal to len(input_ids)
_KEEP_FAILURES = 100


@dataclass
class EncodeReport:
    total: int = 0
    encoded: int = 0
    max_length: Optional[int] = None
    truncation_strategy: str = 'delete'
    too_long: int = 0  # rows over max_length, whatever happened to them
    deleted: int = 0
    truncated: int = 0
    split: int = 0  # rows cut into pieces (truncation_strategy 'split')
    no_labels: int = 0  # dropped: no trainable token left (or none to begin with)
    failed: int = 0  # the template could not encode the row
    failures: List[Tuple[str, str]] = field(default_factory=list)
    lengths: List[int] = field(default_factory=list)  # token count of every encoded row, before truncation

    def length_stats(self) -> Dict[str, float]:
        """min / mean / p95 / max of the token lengths (nearest-rank p95)."""
        if not self.lengths:
            return {}
        ordered = sorted(self.lengths)
        p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
        return {'min': ordered[0], 'mean': sum(ordered) / len(ordered), 'p95': p95, 'max': ordered[-1]}

    def summary(self, show: int = 5) -> str:
        lines = [f'encoded {self.encoded} of {self.total} rows']
        stats = self.length_stats()
        if stats:
            lines.append('tokens: min {min} / mean {mean:.1f} / p95 {p95} / max {max}'.format(**stats))
        if self.max_length is not None:
            action = {'delete': 'deleted', 'left': 'truncated on the left', 'right': 'truncated on the right',
                      'error': 'refused', 'split': 'split into pieces'}[self.truncation_strategy]
            lines.append(f'{self.too_long} row(s) longer than max_length {self.max_length} ({action})')
        if self.no_labels:
            lines.append(f'{self.no_labels} row(s) dropped: no trainable (label) token left')
        if self.failed:
            lines.append(f'{self.failed} row(s) the template could not encode; the first ones:')
            lines += [f'  {loc}: {reason}' for loc, reason in self.failures[:show]]
        return '\n'.join(lines)

    def to_dict(self) -> Dict[str, Any]:
        return {
            'total': self.total,
            'encoded': self.encoded,
            'max_length': self.max_length,
            'truncation_strategy': self.truncation_strategy,
            'too_long': self.too_long,
            'deleted': self.deleted,
            'truncated': self.truncated,
            'split': self.split,
            'no_labels': self.no_labels,
            'failed': self.failed,
            'failures': [{'location': loc, 'reason': reason} for loc, reason in self.failures],
            'length_stats': self.length_stats(),
        }


def _as_list(value: Any) -> Any:
    return value.tolist() if hasattr(value, 'tolist') else value


def _groups(encoded: Dict[str, Any]) -> List[str]:
    """Prefixes of the token groups: [''] for SFT, ['chosen_', 'rejected_'] for some preference templates."""
    return [key[:-len('input_ids')] for key in encoded if key.endswith('input_ids')]


def _truncate(encoded: Dict[str, Any], prefix: str, max_length: int, side: str) -> None:
    for name in _TOKEN_FIELDS:
        key = prefix + name
        if key in encoded and isinstance(encoded[key], list):
            encoded[key] = encoded[key][-max_length:] if side == 'left' else encoded[key][:max_length]
    if isinstance(encoded.get(prefix + _LENGTH_FIELD), int):
        encoded[prefix + _LENGTH_FIELD] = len(encoded[prefix + 'input_ids'])


def _split(encoded: Dict[str, Any], max_length: int) -> List[Dict[str, Any]]:
    """Consecutive pieces of at most max_length tokens of a one-group sample, each a sample of its own."""
    total = len(encoded['input_ids'])
    pieces = []
    for start in range(0, total, max_length):
        piece = dict(encoded)
        for name in _TOKEN_FIELDS:
            if isinstance(encoded.get(name), list):
                piece[name] = encoded[name][start:start + max_length]
        if isinstance(encoded.get(_LENGTH_FIELD), int):
            piece[_LENGTH_FIELD] = len(piece['input_ids'])
        pieces.append(piece)
    return pieces


def _cuts_media(encoded: Dict[str, Any], max_length: int, side: str) -> bool:
    """Whether keeping max_length tokens from `side` would cut into, or drop, a media expansion (the token spans
    a multimodal template records as 'media_spans'): the model matches media tokens to pixels one for one."""
    for prefix in _groups(encoded):  # each token group (chosen_/rejected_ of a pair) records its own spans
        spans = encoded.get(prefix + 'media_spans')
        if not spans:
            continue
        length = len(encoded[prefix + 'input_ids'])
        if length <= max_length:
            continue
        keep_from, keep_to = (length - max_length, length) if side == 'left' else (0, max_length)
        if any(start < keep_from or end > keep_to for start, end in spans):
            return True
    return False


def _has_labels(encoded: Dict[str, Any], prefixes: List[str]) -> bool:
    label_lists = [encoded[p + 'labels'] for p in prefixes if isinstance(encoded.get(p + 'labels'), list)]
    if not label_lists:
        return True  # the template gives no labels (e.g. lengths only): nothing to check
    return all(any(t != IGNORE_INDEX for t in labels) for labels in label_lists)


def _template_for_encoding(template: Any, loss_scale: Optional[str]) -> Any:
    """The template to call: encode_rows applies max_length itself, so the template must not.

    swift.template's Template takes max_length and loss_scale at construction; a shallow copy
    with max_length=None (and the requested loss_scale) leaves the caller's object unchanged.
    """
    changes = {}
    if getattr(template, 'max_length', None) is not None:
        changes['max_length'] = None
    if loss_scale is not None and hasattr(template, 'loss_scale') and template.loss_scale != loss_scale:
        changes['loss_scale'] = loss_scale
    if not changes:
        return template
    template = copy.copy(template)
    for name, value in changes.items():
        setattr(template, name, value)
    return template


def _encode_kwargs(template: Any, loss_scale: Optional[str]) -> Dict[str, Any]:
    """loss_scale goes to encode() only for templates whose encode takes it (others hold it as an attribute)."""
    if loss_scale is None or hasattr(template, 'loss_scale'):
        return {}
    try:
        params = inspect.signature(template.encode).parameters
    except (TypeError, ValueError):
        return {}
    if 'loss_scale' in params or any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return {'loss_scale': loss_scale}
    raise SwiftError(f'loss_scale={loss_scale!r} was asked for, but {type(template).__name__}.encode does not take '
                     'a loss_scale and the template has no loss_scale setting')


_SHARED: Dict[str, Any] = {}  # what forked workers read: set before the pool starts, so nothing big is pickled


def _encode_shard(bounds: Tuple[int, int]) -> Tuple[List[Dict[str, Any]], EncodeReport]:
    start, end = bounds
    rows, locations, kwargs = _SHARED['rows'], _SHARED['locations'], _SHARED['kwargs']
    shard_locations = [locations[i] if locations is not None else f'row {i}' for i in range(start, end)]
    return _encode_serial([rows[i] for i in range(start, end)], locations=shard_locations, **kwargs)


def _merge(reports: Sequence[EncodeReport], into: EncodeReport) -> EncodeReport:
    for report in reports:
        for name in ('encoded', 'too_long', 'deleted', 'truncated', 'split', 'no_labels', 'failed'):
            setattr(into, name, getattr(into, name) + getattr(report, name))
        into.failures += report.failures[:_KEEP_FAILURES - len(into.failures)]
        into.lengths += report.lengths
    return into


def _encode_parallel(rows, num_proc: int, locations, kwargs) -> Tuple[List[Dict[str, Any]], EncodeReport]:
    size = math.ceil(len(rows) / num_proc)
    shards = [(start, min(start + size, len(rows))) for start in range(0, len(rows), size)]
    _SHARED.update(rows=rows, locations=locations, kwargs=kwargs)
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')  # the Rust tokenizer's threads do not survive a fork
    try:
        with ProcessPoolExecutor(len(shards), mp_context=multiprocessing.get_context('fork')) as pool:
            results = list(pool.map(_encode_shard, shards))
    finally:
        _SHARED.clear()
    report = EncodeReport(total=len(rows), max_length=kwargs['max_length'],
                          truncation_strategy=kwargs['truncation_strategy'])
    _merge([r for _, r in results], report)
    return [sample for samples, _ in results for sample in samples], report


def encode_rows(rows: Sequence[Dict[str, Any]],
                template: Any,
                max_length: Optional[int] = None,
                truncation_strategy: str = 'delete',
                loss_scale: Optional[str] = None,
                strict: bool = False,
                locations: Optional[Sequence[str]] = None,
                log: bool = True,
                num_proc: int = 1) -> Tuple[List[Dict[str, Any]], EncodeReport]:
    """Encode every row; see the module docstring. `locations` defaults to rows.locations when present.

    loss_scale ('default' | 'last_round' | 'all') selects which tokens are trained: set on (a copy
    of) the template when it holds one, else passed to template.encode. A row the template rejects
    is counted and skipped (strict=True stops at the first); if no row encodes at all, the first
    failure is raised.
    """
    if truncation_strategy not in TRUNCATION_STRATEGIES:
        raise SwiftError(f'truncation_strategy must be one of {list(TRUNCATION_STRATEGIES)}, '
                         f'got {truncation_strategy!r}')
    if max_length is not None and max_length <= 0:
        raise SwiftError(f'max_length must be positive, got {max_length}')
    if locations is None:
        locations = getattr(rows, 'locations', None)
    if num_proc > 1 and len(rows) > 1 and 'fork' in multiprocessing.get_all_start_methods():
        encoded_rows, report = _encode_parallel(rows, min(num_proc, len(rows)), locations, dict(
            template=template, max_length=max_length, truncation_strategy=truncation_strategy, loss_scale=loss_scale,
            strict=strict))
        return _finish(encoded_rows, report, log)
    return _finish(*_encode_serial(rows, template, max_length, truncation_strategy, loss_scale, strict, locations), log)


def _encode_serial(rows, template, max_length, truncation_strategy, loss_scale, strict, locations):
    kwargs = _encode_kwargs(template, loss_scale)
    template = _template_for_encoding(template, loss_scale)
    report = EncodeReport(total=len(rows), max_length=max_length, truncation_strategy=truncation_strategy)
    encoded_rows = []
    for index, row in enumerate(rows):
        location = locations[index] if locations is not None else f'row {index}'
        try:
            encoded = dict(template.encode(row, **kwargs))
        except (SwiftError, ValueError, KeyError, TypeError, IndexError) as e:
            if strict:
                raise SwiftError(f'{location}: the template cannot encode this row: {e}') from None
            report.failed += 1
            if len(report.failures) < _KEEP_FAILURES:
                report.failures.append((location, f'{type(e).__name__}: {e}'))
            continue
        prefixes = _groups(encoded)
        if not prefixes:
            raise SwiftError(f'template.encode returned no input_ids (keys: {sorted(encoded)})')
        for prefix in prefixes:
            for name in _TOKEN_FIELDS:
                if prefix + name in encoded:
                    encoded[prefix + name] = _as_list(encoded[prefix + name])
        length = max(len(encoded[p + 'input_ids']) for p in prefixes)
        report.lengths.append(length)
        if max_length is not None and length > max_length:
            report.too_long += 1
            if truncation_strategy == 'error':
                raise SwiftError(f'{location}: {length} tokens, more than max_length {max_length} '
                                 "(truncation_strategy 'error'); raise --max_length or choose delete/left/right")
            if truncation_strategy == 'delete':
                report.deleted += 1
                continue
            if _cuts_media(encoded, max_length, truncation_strategy):
                reason = (f'{length} tokens, more than max_length {max_length}, and truncating on the '
                          f'{truncation_strategy} would cut media tokens (never done); raise --max_length')
                if strict:
                    raise SwiftError(f'{location}: {reason}')
                report.failed += 1
                if len(report.failures) < _KEEP_FAILURES:
                    report.failures.append((location, reason))
                continue
            if truncation_strategy == 'split':
                if prefixes != ['']:
                    raise SwiftError("truncation_strategy 'split' cuts one token sequence (swift pt); these samples "
                                     f'hold several ({", ".join(p + "input_ids" for p in prefixes)})')
                report.split += 1
                pieces = [p for p in _split(encoded, max_length) if _has_labels(p, prefixes)]
                report.no_labels += not pieces
                encoded_rows += pieces
                continue
            for prefix in prefixes:
                _truncate(encoded, prefix, max_length, truncation_strategy)
            report.truncated += 1
        if not _has_labels(encoded, prefixes):
            report.no_labels += 1
            continue
        encoded_rows.append(encoded)
    report.encoded = len(encoded_rows)
    return encoded_rows, report


def _finish(encoded_rows: List[Dict[str, Any]], report: EncodeReport, log: bool):
    if report.total and not encoded_rows and report.failed:
        location, reason = report.failures[0]
        raise SwiftError(f'the template could not encode any row; the first failure, {location}: {reason}')
    if log:
        (logger.warning if (report.failed or report.too_long or report.no_labels) else logger.info)(
            'encoding summary:\n' + report.summary())
    return encoded_rows, report
