"""Packed rows for models with multimodal rotary positions (M-RoPE: Qwen2-VL, Qwen2.5-VL, Qwen3-VL, GLM-4V).

A packed training row carries 1-D `position_ids` that restart at 0 at every sample (swift/training/packing.py).
A text model needs nothing more, but an M-RoPE model gives image and video tokens 3-D (temporal, height, width)
positions, which its `get_rope_index` computes from the ids, `mm_token_type_ids` and the media grids. Called on the
whole packed row it would number the samples as one sequence: the second sample's positions would not start where
they start when it is alone. So each sample (each stretch between restarts) gets its own 3-D positions, computed by
the model's own `get_rope_index` with every sample as a row of one call (the call consumes the grids in order, row
after row, as the packed media are laid out), and the model receives transformers' packed layout `[4, batch,
length]`: the restarting text positions first (from which the attention mask keeps the samples apart), then the
three M-RoPE axes. This is how ms-swift packs Qwen-VL rows (per-sample rope index, text positions prepended).

`attach_packed_mrope(model)` adds that as a forward pre-hook on the module that owns `get_rope_index` (no library
source is changed) for the length of a packed training run; a model without one is left alone.
"""
import inspect
from typing import Any, Callable, Dict, Optional

# get_rope_index's keyword arguments besides ids, types and grids (Qwen2.5-VL videos: seconds per temporal patch)
_EXTRA_ROPE_KEYS = ('second_per_grid_ts', )


def packed_mrope_positions(rope_index: Callable, input_ids, position_ids, mm_token_type_ids, image_grid_thw=None,
                           video_grid_thw=None, **extra):
    """[4, batch, length] positions of packed rows: `position_ids` ([batch, length], restarting at each sample)
    followed by each sample's own 3-D positions from `rope_index` (the model's get_rope_index)."""
    import torch
    segments = []  # (row, start, end) of every sample, rows in order: the order the media grids are laid out in
    for row in range(position_ids.shape[0]):
        starts = (position_ids[row] == 0).nonzero().flatten().tolist()
        if not starts or starts[0] != 0:
            starts = [0] + starts
        ends = starts[1:] + [position_ids.shape[1]]
        segments += [(row, start, end) for start, end in zip(starts, ends)]
    width = max(end - start for _, start, end in segments)
    ids = input_ids.new_zeros((len(segments), width))
    types = mm_token_type_ids.new_zeros((len(segments), width))
    mask = torch.zeros((len(segments), width), dtype=torch.long, device=input_ids.device)
    for i, (row, start, end) in enumerate(segments):
        ids[i, :end - start] = input_ids[row, start:end]
        types[i, :end - start] = mm_token_type_ids[row, start:end]
        mask[i, :end - start] = 1
    per_sample, _ = rope_index(input_ids=ids, mm_token_type_ids=types, image_grid_thw=image_grid_thw,
                               video_grid_thw=video_grid_thw, attention_mask=mask, **extra)
    mrope = position_ids.new_zeros((3, *position_ids.shape))
    for i, (row, start, end) in enumerate(segments):
        mrope[:, row, start:end] = per_sample[:, i, :end - start]
    return torch.cat([position_ids[None], mrope], dim=0)


def _rope_owner(model):
    """The submodule whose forward computes M-RoPE positions (it has get_rope_index and takes mm_token_type_ids)."""
    for module in model.modules():
        if callable(getattr(module, 'get_rope_index', None)) and \
                'mm_token_type_ids' in inspect.signature(module.forward).parameters:
            return module
    return None


def attach_packed_mrope(model) -> Optional[Any]:
    """Give packed batches per-sample M-RoPE positions (module docstring) until the returned handle's `remove()`;
    None (nothing attached) for a model without M-RoPE."""
    owner = _rope_owner(model)
    if owner is None:
        return None

    def hook(module, args, kwargs: Dict[str, Any]):
        positions, ids, types = kwargs.get('position_ids'), kwargs.get('input_ids'), kwargs.get('mm_token_type_ids')
        if positions is None or positions.ndim != 2 or ids is None or types is None:
            return None  # not a packed batch with tokens: the model computes its own positions
        if kwargs.get('attention_mask') is not None or _cached_length(kwargs) > 0:
            return None  # a padded batch or a decoding step: not packed
        extra = {key: kwargs[key] for key in _EXTRA_ROPE_KEYS if kwargs.get(key) is not None}
        kwargs['position_ids'] = packed_mrope_positions(
            module.get_rope_index, ids, positions, types, kwargs.get('image_grid_thw'), kwargs.get('video_grid_thw'),
            **extra)
        return args, kwargs

    return owner.register_forward_pre_hook(hook, with_kwargs=True)


def _cached_length(kwargs) -> int:
    cache = kwargs.get('cache', kwargs.get('past_key_values'))
    return cache.get_seq_length() if cache is not None else 0
