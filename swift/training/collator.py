"""Collators: turn encoded samples into the tensors a causal LM's forward takes.

- PaddingCollator: one row per sample, padded to the longest (the ordinary batch).
- PackedCollator: one row per pack of samples (see packing.py), or with padding_free=True the
  whole batch in a single row with no pad tokens. Sequences in a row are kept apart by
  position_ids that restart at 0, which transformers turns into a block-diagonal causal mask for
  sdpa and eager attention (no flash-attn needed); or, with mask_mode='4d', by an explicit
  [B, 1, L, L] mask.

Input samples are dicts with 'input_ids', 'labels' (IGNORE_INDEX on prompt tokens) and optionally
'attention_mask'; other keys are ignored. Tensors are built lazily so that importing this module
does not import torch.
"""
from typing import Any, Dict, List, Optional, Sequence, Union

from swift.utils import SwiftError

from .packing import IGNORE_INDEX, Sample, block_diagonal_causal_mask, merge_pack, sample_length

MASK_MODES = ('position_ids', '4d')


def _padded_length(length: int, pad_to_multiple_of: Optional[int]) -> int:
    if not pad_to_multiple_of:
        return length
    return -(-length // pad_to_multiple_of) * pad_to_multiple_of


def _check_pad_token_id(pad_token_id: Optional[int]) -> int:
    if pad_token_id is None:
        raise SwiftError('The tokenizer has no pad token: set tokenizer.pad_token (the eos token is fine: '
                         'padding positions are never trained).')
    return int(pad_token_id)


def _check_pad_to_multiple_of(pad_to_multiple_of: Optional[int]) -> Optional[int]:
    if pad_to_multiple_of is not None and pad_to_multiple_of <= 0:
        raise SwiftError(f'pad_to_multiple_of must be a positive integer, got {pad_to_multiple_of}.')
    return pad_to_multiple_of


class PaddingCollator:
    """Pads a batch of samples to a common length.

    Padding positions get `label_pad` and attention_mask 0 by position. Labels are never derived by
    comparing token ids with pad_token_id: the pad token is often the eos token, and the eos that
    ends an answer must stay trained.
    """

    def __init__(self, pad_token_id: Optional[int], padding_side: str = 'right',
                 pad_to_multiple_of: Optional[int] = None, label_pad: int = IGNORE_INDEX):
        if padding_side not in ('right', 'left'):
            raise SwiftError(f"padding_side must be 'right' or 'left', got {padding_side!r}.")
        self.pad_token_id = _check_pad_token_id(pad_token_id)
        self.padding_side = padding_side
        self.pad_to_multiple_of = _check_pad_to_multiple_of(pad_to_multiple_of)
        self.label_pad = label_pad

    def __call__(self, features: Sequence[Sample]) -> Dict[str, Any]:
        import torch
        if not features:
            raise SwiftError('Cannot collate an empty batch.')
        lengths = [sample_length(f, where=f'Sample #{i} of the batch') for i, f in enumerate(features)]
        with_labels = ['labels' in f and f['labels'] is not None for f in features]
        if any(with_labels) and not all(with_labels):
            raise SwiftError('Some samples of the batch have labels and some do not: encode them the same way.')
        width = _padded_length(max(lengths), self.pad_to_multiple_of)

        batch = {
            'input_ids': [self._pad(f['input_ids'], width, self.pad_token_id) for f in features],
            'attention_mask': [self._pad(f.get('attention_mask') or [1] * n, width, 0)
                               for f, n in zip(features, lengths)],
        }
        if all(with_labels):
            batch['labels'] = [self._pad(f['labels'], width, self.label_pad) for f in features]
        tensors = {key: torch.tensor(rows, dtype=torch.long) for key, rows in batch.items()}
        if any(f.get('loss_scale') is not None for f in features):
            # per-token loss weights (--loss_scale hermes, react, ...); a sample without them weighs its labels 1
            weights = [f.get('loss_scale') or [float(t != IGNORE_INDEX) for t in f['labels']] for f in features]
            tensors['loss_scale'] = torch.tensor([self._pad(w, width, 0.0) for w in weights], dtype=torch.float32)
        return tensors

    def _pad(self, values: Sequence[int], width: int, fill: int) -> List[int]:
        padding = [fill] * (width - len(values))
        return padding + list(values) if self.padding_side == 'left' else list(values) + padding


class PackedCollator:
    """Collates packs of samples into rows where each sample attends only to itself.

    Each feature is a pack (a list of samples, from pack_samples), a row already merged with
    merge_pack (has 'position_ids'), or a single sample (a pack of one). Rows are right-padded to
    the longest; the padding is a sequence of its own (its positions restart at 0, labels are
    IGNORE_INDEX), so it never changes what real tokens see.

    padding_free=True concatenates the whole batch into a single row instead (no pad tokens unless
    pad_to_multiple_of asks for them).

    mask_mode='position_ids' (default) returns input_ids, labels, position_ids, the sequence boundaries
    (cu_seq_lens_q/k, max_length_q/k; see sequence_boundaries) and use_cache=False, and no
    attention_mask: transformers builds the block-diagonal causal mask from the restarting
    positions, but only when there is no 2D attention_mask and no cache. With use_cache left to the
    config default (True for most models) the forward would create a cache, skip packed-sequence
    detection, and let sequences attend to each other, which is why use_cache=False is part of the
    batch. Don't add an attention_mask to this batch.

    mask_mode='4d' also returns attention_mask as an explicit [B, 1, L, L] block-diagonal causal
    mask, for models whose attention does not build masks through transformers' masking_utils.
    mask_dtype=None gives a boolean mask (sdpa only); pass the model's dtype (e.g. torch.bfloat16)
    for an additive mask that works with eager and sdpa. It costs B*L*L elements of memory.
    """

    def __init__(self, pad_token_id: Optional[int], padding_free: bool = False,
                 pad_to_multiple_of: Optional[int] = None, mask_mode: str = 'position_ids', mask_dtype=None):
        if mask_mode not in MASK_MODES:
            raise SwiftError(f'Unknown mask_mode {mask_mode!r}; choose one of {", ".join(MASK_MODES)}.')
        self.pad_token_id = _check_pad_token_id(pad_token_id)
        self.padding_free = padding_free
        self.pad_to_multiple_of = _check_pad_to_multiple_of(pad_to_multiple_of)
        self.mask_mode = mask_mode
        self.mask_dtype = mask_dtype

    def __call__(self, features: Sequence[Union[Sample, Sequence[Sample]]]) -> Dict[str, Any]:
        import torch
        if not features:
            raise SwiftError('Cannot collate an empty batch.')
        rows = [self._as_row(feature, i) for i, feature in enumerate(features)]
        if self.padding_free:
            rows = [_concatenate_rows(rows)]
        width = _padded_length(max(len(row['input_ids']) for row in rows), self.pad_to_multiple_of)
        rows = [self._pad_row(row, width) for row in rows]

        batch = {key: torch.tensor([row[key] for row in rows], dtype=torch.long)
                 for key in ('input_ids', 'labels', 'position_ids')}
        if self.mask_mode == '4d':
            batch['attention_mask'] = block_diagonal_causal_mask(batch['position_ids'], self.mask_dtype)
        else:
            batch.update(sequence_boundaries(batch['position_ids']))
        batch['use_cache'] = False
        return batch

    @staticmethod
    def _as_row(feature: Union[Sample, Sequence[Sample]], index: int) -> Sample:
        if isinstance(feature, dict):
            if 'position_ids' in feature:  # already merged by merge_pack
                sample_length(feature, where=f'Row #{index} of the batch')
                return feature
            return merge_pack([feature])
        if isinstance(feature, (list, tuple)):
            return merge_pack(feature)
        raise SwiftError(f'Feature #{index} of the batch is a {type(feature).__name__}; the packed collator takes '
                         'samples (dicts) or packs (lists of samples).')

    def _pad_row(self, row: Sample, width: int) -> Sample:
        missing = width - len(row['input_ids'])
        return {
            'input_ids': list(row['input_ids']) + [self.pad_token_id] * missing,
            'labels': list(row['labels']) + [IGNORE_INDEX] * missing,
            'position_ids': list(row['position_ids']) + list(range(missing)),
        }


def sequence_boundaries(position_ids) -> Dict[str, Any]:
    """transformers' padding-free keyword arguments: where each sequence starts and ends in the flattened
    batch (`cu_seq_lens_*`, int32 as flash-attention wants) and the longest sequence (`max_length_*`).
    The model passes them down to attention: flash-attention's varlen kernels and swift's packed sdpa
    (packed_attention.py) attend per sequence with them; sdpa and eager ignore them and use the mask."""
    import torch
    flat = position_ids.reshape(-1)
    starts = (flat == 0).nonzero().flatten()
    cu_seq_lens = torch.cat([starts, torch.tensor([flat.numel()])]).to(torch.int32)
    longest = int(cu_seq_lens.diff().max())
    return {'cu_seq_lens_q': cu_seq_lens, 'cu_seq_lens_k': cu_seq_lens, 'max_length_q': longest,
            'max_length_k': longest}


def _concatenate_rows(rows: Sequence[Sample]) -> Sample:
    """Rows already carry restarting position_ids and masked boundary labels, so plain concatenation keeps
    every sequence separate."""
    return {key: [value for row in rows for value in row[key]] for key in ('input_ids', 'labels', 'position_ids')}


class MediaCollator:
    """A token collator's batch plus the media tensors (pixel_values, ...) of multimodal samples, which the
    template collates (swift/template/media.py: each family knows how its processor's tensors batch)."""

    def __init__(self, collator, template):
        self.collator = collator
        self.template = template

    def __call__(self, features: Sequence[Sample]) -> Dict[str, Any]:
        batch = self.collator(features)
        batch.update(self.template.collate_media(features, input_ids=batch.get('input_ids')))
        return batch


class PackedMediaCollator:
    """PackedCollator's rows (packs, or with padding_free the whole batch as one row) plus each row's media
    tensors: the samples' images joined in the samples' order (the template's pack_media), then batched as
    samples are (collate_media). Sequences stay apart in attention exactly as text packs do; the vision tower
    sees each image alone, so only the token rows need boundaries."""

    def __init__(self, collator: PackedCollator, template):
        self.collator = collator
        self.template = template

    def __call__(self, features: Sequence[Union[Sample, Sequence[Sample]]]) -> Dict[str, Any]:
        batch = self.collator(features)
        packs = [list(f) if isinstance(f, (list, tuple)) else [f] for f in features]
        if self.collator.padding_free:
            packs = [[sample for pack in packs for sample in pack]]
        # with the packed ids: token-level inputs (Qwen-VL's mm_token_type_ids) follow the packed rows
        batch.update(self.template.collate_media([self.template.pack_media(pack) for pack in packs],
                                                 input_ids=batch['input_ids']))
        return batch
