"""Micro-batches inside a training step: a batch's rows split into groups that run forward and backward one after
the other, their gradients adding up in place.

swift's causal-LM loss is a sum over trained tokens divided by the count of the whole batch (transformers'
`num_items_in_batch`), so the gradients of the micro-batches add up to the gradient of the whole batch, and the
update is the same; but only one micro-batch's activations are alive at a time. On a CPU the smaller matmuls
also stay in cache better. SwiftTrainer.training_step decides when a batch may be split (the loss must be
normalised that way) and keeps DDP from all-reducing before the last micro-batch.

Each micro-batch is also cut after its last trained label: in a causal LM no loss term depends on a later
position, so the columns after it (padding, or an untrained tail) are work that changes nothing.
"""
from typing import Any, Dict, List, Optional

from .collator import sequence_boundaries
from .packing import IGNORE_INDEX

# Keys a text batch carries (PaddingCollator, PackedCollator); a batch with any other key (media tensors, ...) is
# not split: its tensors need not be laid out one row per sample.
_ROW_KEYS = ('input_ids', 'labels', 'position_ids', 'attention_mask', 'loss_scale')
_BOUNDARY_KEYS = ('cu_seq_lens_q', 'cu_seq_lens_k', 'max_length_q', 'max_length_k')
_PASSED_KEYS = ('use_cache',)


def split_rows(inputs: Dict[str, Any], rows: int) -> Optional[List[Dict[str, Any]]]:
    """The batch as micro-batches of at most `rows` rows each, or None when it is not split (one micro-batch
    would be the whole batch, or the batch holds keys that are not one row per sample)."""
    labels = inputs.get('labels')
    if rows <= 0 or labels is None or labels.dim() != 2 or labels.shape[0] <= rows:
        return None
    if any(key not in _ROW_KEYS + _BOUNDARY_KEYS + _PASSED_KEYS for key in inputs):
        return None
    if any(key in inputs for key in _BOUNDARY_KEYS) and inputs.get('position_ids') is None:
        return None
    batch = labels.shape[0]
    for key in _ROW_KEYS:
        value = inputs.get(key)
        if value is not None and (value.dim() < 2 or value.shape[0] != batch):
            return None
    return [_part(inputs, start, min(start + rows, batch)) for start in range(0, batch, rows)]


def _part(inputs: Dict[str, Any], start: int, end: int) -> Dict[str, Any]:
    width = _trained_width(inputs['labels'][start:end])
    part = {}
    for key in _ROW_KEYS:
        value = inputs.get(key)
        if value is None:
            continue
        value = value[start:end, ..., :width]
        if key == 'attention_mask' and value.dim() == 4:  # [B, 1, L, L]: the key positions are cut as well
            value = value[..., :width, :]
        part[key] = value
    if any(key in inputs for key in _BOUNDARY_KEYS):  # packed rows: the boundaries of these rows
        part.update(sequence_boundaries(part['position_ids']))
    part.update({key: inputs[key] for key in _PASSED_KEYS if key in inputs})
    return part


def _trained_width(labels) -> int:
    """Columns up to the last trained label of any row (all of them when nothing is trained)."""
    trained = (labels != IGNORE_INDEX).any(dim=0).nonzero()
    return int(trained[-1]) + 1 if len(trained) else labels.shape[-1]
