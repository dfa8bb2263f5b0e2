"""Attention for packed rows on PyTorch SDPA: each packed sequence attends only to itself, computed per sequence.

transformers' `sdpa` keeps the sequences of a packed row apart with a dense block-diagonal mask
over the whole row, so the kernel computes every pair of positions in the row (and, with a mask,
cannot skip the causal upper triangle) and repeats the key/value heads for grouped-query
attention. Here the row is split at the sequence boundaries and each sequence runs SDPA with
`is_causal=True`, which visits only the causal pairs inside it and keeps grouped keys/values as
they are (`enable_gqa`). The result is the same attention; the work and memory are less.

The implementation is registered with transformers' AttentionInterface as `swift_packed_sdpa`,
with sdpa's mask function, and is selected only while a packed run trains (sft.py). It takes the
per-sequence path only when the batch carries the sequence boundaries (`cu_seq_lens_q`, the
padding-free keyword arguments that transformers passes from the batch down to attention and
that flash-attention's varlen kernels read too; PackedCollator adds them). Any other call
(generation, an unpacked batch, sliding-window or soft-capped attention) is plain sdpa.
"""
from typing import List, Optional, Tuple

import torch

PACKED_SDPA = 'swift_packed_sdpa'
_UNSUPPORTED_KWARGS = ('sliding_window', 'softcap', 's_aux', 'position_bias')


_last_split: list = [None, None]  # (boundaries tensor, its split): every layer of a forward gets the same tensor


def _row_segment_lengths(cu_seq_lens: torch.Tensor, batch: int, length: int) -> Optional[List[List[int]]]:
    """The lengths of the sequences of each row, from cumulative boundaries over the flattened batch;
    None when the boundaries do not split the batch into its rows. Worked out once per forward pass."""
    if _last_split[0] is cu_seq_lens and _last_split[1][0] == (batch, length):
        return _last_split[1][1]
    split = _split_rows(cu_seq_lens, batch, length)
    _last_split[:] = [cu_seq_lens, ((batch, length), split)]
    return split


def _split_rows(cu_seq_lens: torch.Tensor, batch: int, length: int) -> Optional[List[List[int]]]:
    bounds = [int(b) for b in cu_seq_lens.tolist()]
    if bounds[0] != 0 or bounds[-1] != batch * length:
        return None
    rows: List[List[int]] = [[] for _ in range(batch)]
    for start, end in zip(bounds[:-1], bounds[1:]):
        if end <= start or start // length != (end - 1) // length:
            return None  # an empty sequence, or one that crosses a row boundary
        rows[start // length].append(end - start)
    return rows


def packed_sdpa_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                          attention_mask: Optional[torch.Tensor], dropout: float = 0.0,
                          scaling: Optional[float] = None, is_causal: Optional[bool] = None,
                          **kwargs) -> Tuple[torch.Tensor, None]:
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    cu_seq_lens = kwargs.get('cu_seq_lens_q')
    batch, heads, length, _ = query.shape
    segments = None
    if (cu_seq_lens is not None and key.shape[2] == length and getattr(module, 'is_causal', True)
            and is_causal is not False and all(kwargs.get(name) is None for name in _UNSUPPORTED_KWARGS)):
        segments = _row_segment_lengths(cu_seq_lens, batch, length)
    if segments is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    gqa = {'enable_gqa': True} if key.shape[1] != heads else {}
    rows = []
    for lengths, q, k, v in zip(segments, query.unbind(0), key.unbind(0), value.unbind(0)):
        parts = [torch.nn.functional.scaled_dot_product_attention(
            qs[None], ks[None], vs[None], dropout_p=dropout, scale=scaling, is_causal=True, **gqa)[0]
            for qs, ks, vs in zip(q.split(lengths, dim=1), k.split(lengths, dim=1), v.split(lengths, dim=1))]
        rows.append(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0])
    return torch.stack(rows).transpose(1, 2).contiguous(), None


def register_packed_sdpa() -> str:
    """Register `swift_packed_sdpa` (idempotent) and return its name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    AttentionInterface.register(PACKED_SDPA, packed_sdpa_attention)
    AttentionMaskInterface.register(PACKED_SDPA, sdpa_mask)
    return PACKED_SDPA


def use_packed_sdpa(model) -> Optional[str]:
    """Switch a model that runs sdpa to swift_packed_sdpa; returns the implementation to restore, or None
    when the model is left as it is (eager, flash-attention, ... or no AttentionInterface support)."""
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    config = getattr(base, 'config', None)
    if getattr(config, '_attn_implementation', None) != 'sdpa' or not hasattr(base, 'set_attn_implementation'):
        return None
    if not getattr(base, '_can_set_attn_implementation', lambda: False)():
        return None
    base.set_attn_implementation(register_packed_sdpa())
    return 'sdpa'
