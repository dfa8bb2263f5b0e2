"""Packing: several encoded samples share one training row without seeing each other.

A packed row is the concatenation of its samples' `input_ids` and `labels`, plus `position_ids`
that restart at 0 at the start of every sample. That is all transformers 5.x needs:
when a forward pass gets `position_ids` that restart, no 2D `attention_mask` and no cache,
`masking_utils.find_packed_sequence_indices` splits the row into sequences and builds a
block-diagonal causal mask for sdpa, eager and flex attention (flash-attention reads the same
boundaries from `position_ids`). So packing needs no flash-attn and no patching.
See docs/packing.md.

This module holds the pure parts: bin packing of sample lengths, merging a pack into one row,
and an explicit 4D block-diagonal mask for models whose forward does not build masks through
transformers' masking_utils. Turning rows into tensors is the collators' job (collator.py).
"""
from typing import Dict, List, Sequence

from swift.utils import SwiftError, did_you_mean

IGNORE_INDEX = -100
PACKING_STRATEGIES = ('ffd', 'sequential')

Sample = Dict[str, List[int]]


def sample_length(sample: Sample, where: str = 'sample') -> int:
    """Number of tokens of an encoded sample, checking that its lists line up."""
    if 'input_ids' not in sample:
        raise SwiftError(f'{where} has no input_ids (keys: {sorted(sample)}): encode it with the template first.')
    length = len(sample['input_ids'])
    for key in ('labels', 'attention_mask', 'position_ids'):
        if key in sample and sample[key] is not None and len(sample[key]) != length:
            raise SwiftError(f'{where}: {key} has {len(sample[key])} entries but input_ids has {length}; '
                             'they must have one entry per token.')
    return length


def pack_indices(lengths: Sequence[int], max_length: int, strategy: str = 'ffd') -> List[List[int]]:
    """Group sample indices into bins whose total length is at most `max_length`.

    'ffd' (first-fit decreasing) takes samples longest first and puts each in the first bin with
    room, which wastes little space. 'sequential' keeps dataset order and opens a new bin when the
    next sample does not fit. Both are deterministic (ties keep dataset order), keep every sample
    exactly once and never split one. A sample longer than max_length is an error: truncation is
    the dataset layer's decision, not the packer's.
    """
    if strategy not in PACKING_STRATEGIES:
        raise SwiftError(f'Unknown packing strategy {strategy!r}; choose one of {", ".join(PACKING_STRATEGIES)}.'
                         + did_you_mean(strategy, PACKING_STRATEGIES))
    if max_length <= 0:
        raise SwiftError(f'max_length must be positive to pack samples, got {max_length}.')
    for index, length in enumerate(lengths):
        if length <= 0:
            raise SwiftError(f'Sample #{index} is empty: drop empty samples before packing.')
        if length > max_length:
            raise SwiftError(f'Sample #{index} has {length} tokens, more than max_length={max_length}: '
                             'truncate or filter long samples in the dataset (or raise max_length) before packing.')
    if strategy == 'sequential':
        return _pack_sequential(lengths, max_length)
    return _pack_first_fit_decreasing(lengths, max_length)


def _pack_sequential(lengths: Sequence[int], max_length: int) -> List[List[int]]:
    bins: List[List[int]] = []
    used = max_length  # forces a new bin for the first sample
    for index, length in enumerate(lengths):
        if used + length > max_length:
            bins.append([])
            used = 0
        bins[-1].append(index)
        used += length
    return bins


def _pack_first_fit_decreasing(lengths: Sequence[int], max_length: int) -> List[List[int]]:
    # Python's sort is stable, so equal lengths keep dataset order: the result is deterministic.
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    free_space = _FirstFitTree(capacity=max_length, max_bins=len(lengths))
    bins: List[List[int]] = []
    for index in order:
        bin_index = free_space.place(lengths[index])
        if bin_index == len(bins):
            bins.append([])
        bins[bin_index].append(index)
    return bins


class _FirstFitTree:
    """Finds the first bin with at least `size` free space in O(log n).

    A max-segment-tree over the free space of every bin that could ever be opened (one per sample
    at most); unopened bins have full capacity, so "the first bin with room" is either an open bin
    or the next new one. The naive scan of all open bins is quadratic on large datasets.
    """

    def __init__(self, capacity: int, max_bins: int):
        self.leaves = 1
        while self.leaves < max(max_bins, 1):
            self.leaves *= 2
        self.free = [capacity] * (2 * self.leaves)

    def place(self, size: int) -> int:
        node = 1
        while node < self.leaves:
            node = 2 * node if self.free[2 * node] >= size else 2 * node + 1
        self.free[node] -= size
        bin_index = node - self.leaves
        node //= 2
        while node:
            self.free[node] = max(self.free[2 * node], self.free[2 * node + 1])
            node //= 2
        return bin_index


def pack_samples(samples: Sequence[Sample], max_length: int, strategy: str = 'ffd') -> List[List[Sample]]:
    """Bin-pack encoded samples into packs (lists of samples) of at most `max_length` tokens."""
    lengths = [sample_length(sample, where=f'Sample #{i}') for i, sample in enumerate(samples)]
    return [[samples[i] for i in group] for group in pack_indices(lengths, max_length, strategy)]


def merge_pack(pack: Sequence[Sample]) -> Sample:
    """Concatenate a pack's samples into one row with restarting position_ids.

    The label of each sample's first token becomes IGNORE_INDEX. Causal-LM losses shift labels
    left, so the logit at a sample's last token is scored against the label at the next sample's
    first token; alone, that logit is scored against nothing. Masking that one label makes the
    packed loss exactly the token-weighted mean of the samples' own losses. (A sample's own first
    label is never used by the shifted loss, so nothing trainable is lost.)
    """
    if not pack:
        raise SwiftError('Cannot merge an empty pack.')
    row: Sample = {'input_ids': [], 'labels': [], 'position_ids': []}
    for i, sample in enumerate(pack):
        length = sample_length(sample, where=f'Sample #{i} of the pack')
        if length == 0:
            raise SwiftError(f'Sample #{i} of the pack is empty: drop empty samples before packing.')
        if 0 in (sample.get('attention_mask') or ()):
            # Pad tokens inside a pack would become real tokens that other tokens attend to.
            raise SwiftError(f'Sample #{i} of the pack is already padded (attention_mask has zeros): '
                             'pack unpadded samples.')
        labels = list(sample['labels']) if sample.get('labels') is not None else list(sample['input_ids'])
        labels[0] = IGNORE_INDEX
        row['input_ids'] += list(sample['input_ids'])
        row['labels'] += labels
        row['position_ids'] += list(range(length))
    return row


def sequence_ids_from_position_ids(position_ids):
    """[B, L] tensor numbering the sequences of each row: a new sequence starts where position is 0."""
    return (position_ids == 0).long().cumsum(dim=-1)


def block_diagonal_causal_mask(position_ids, dtype=None):
    """A [B, 1, L, L] mask letting each token see only earlier tokens of its own sequence.

    For models whose attention does not build its mask through transformers' masking_utils.
    `dtype=None` gives a boolean mask (True = may attend), which SDPA accepts; a floating dtype
    gives an additive mask (0 or the dtype's minimum), which both eager and SDPA accept and which
    must match the model's dtype.
    """
    import torch
    sequence_ids = sequence_ids_from_position_ids(position_ids)
    same_sequence = sequence_ids[:, :, None] == sequence_ids[:, None, :]
    length = position_ids.shape[-1]
    causal = torch.ones(length, length, dtype=torch.bool, device=position_ids.device).tril()
    allowed = (same_sequence & causal)[:, None, :, :]
    if dtype is None or dtype == torch.bool:
        return allowed
    mask = torch.zeros(allowed.shape, dtype=dtype, device=position_ids.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


def packing_efficiency(packs: Sequence[Sequence[Sample]], max_length: int) -> float:
    """Share of the packs' max_length slots that hold real tokens (1.0 = no padding needed)."""
    if not packs:
        return 0.0
    tokens = sum(len(sample['input_ids']) for pack in packs for sample in pack)
    return tokens / (len(packs) * max_length)

