"""Cross-attention to images in a running batch (Llama 3.2 Vision / Mllama).

Mllama's language model reads the image through cross-attention layers: at prefill the forward turns pixel_values,
aspect_ratio_ids and aspect_ratio_mask into cross-attention states and keeps their keys/values in those layers'
cache entries; decoding then passes no pixels and the layers read the cached keys/values, masked by the last row
of the prompt's cross_attention_mask (what `model.generate` appends for every new token).

Those entries are not token columns: they have one column per vision token, and rows differ in their number of
images. So the batch's KV cache (kv_cache.BatchKVCache) never holds them; each sequence keeps its own (`take`
after its prefill), and every decoding step gets them stacked, zero-padded to the batch's most images, with a
cross_attention_mask that marks the padding (`batch`). A row without images gets zero keys/values and an all-zero
mask: the model then zeroes that row's cross-attention MLP (its full_text_row_masked_out_mask) and attention over
zero values adds zero, so the layer passes the row through unchanged, as the text-only forward that skips the
layer does.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple


@dataclass
class CrossRow:
    """One prompt's cross-attention keys/values per layer and the mask row its decoded tokens use."""
    kv: Dict[int, Tuple[Any, Any]]  # layer → keys, values [1, kv heads, images * tiles * patches, head dim]
    mask: Any  # [images, tiles]: 1 on the tiles the generated tokens read


class CrossAttention:
    """The cross-attention state of an engine's running sequences (nothing for a model without such layers)."""

    def __init__(self, model):
        config = model.config
        text_config = config.get_text_config() if hasattr(config, 'get_text_config') else config
        self.layers: Tuple[int, ...] = tuple(getattr(text_config, 'cross_attention_layers', None) or ())
        self._memo: Tuple[Any, Any] = (None, None)  # the last step's rows and their stacked layers

    def __bool__(self) -> bool:
        return bool(self.layers)

    def take(self, cache, cross_attention_mask) -> Optional[CrossRow]:
        """After a prefill: the cross-attention entries of `cache`, removed from it (the batch cache holds token
        columns only), with the last row of the prompt's mask. None for a prompt without images."""
        kv = {}
        for index in self.layers:
            layer = cache.layers[index] if index < len(cache.layers) else None
            if layer is not None and layer.is_initialized and layer.keys is not None and layer.keys.numel():
                kv[index] = (layer.keys, layer.values)
                layer.keys = layer.values = None
        if not kv or cross_attention_mask is None:
            return None
        return CrossRow(kv, cross_attention_mask[0, -1])

    def attach(self, cache, rows: List[Optional[CrossRow]]) -> Dict[str, Any]:
        """Put the batch's cross-attention layers into the decoding step's `cache` (a transformers Cache over the
        batch cache) for `rows` (one per running sequence, in batch order); returns the forward's extra inputs.
        The stacked tensors are reused while the batch's rows stay the same."""
        key = tuple(id(row) for row in rows)
        if self._memo[0] != key:
            self._memo = (key, _stacked(rows, self.layers))
        layers, inputs = self._memo[1]
        for index, layer in layers.items():
            cache.layers[index] = layer
        return inputs


def _stacked(rows: List[Optional[CrossRow]], layers: Sequence[int]) -> Tuple[Dict[int, Any], Dict[str, Any]]:
    """(the cache layer at each cross-attention index, {'cross_attention_mask': ...}) of one step's rows."""
    import torch
    from transformers.cache_utils import DynamicLayer
    present = [row for row in rows if row is not None]
    if not present:  # no image in the batch: empty layers, which the model skips
        return {index: DynamicLayer() for index in layers}, {}
    images = max(row.mask.shape[0] for row in present)
    like = present[0]
    mask = torch.zeros((len(rows), 1, images, like.mask.shape[1]), dtype=like.mask.dtype, device=like.mask.device)
    for i, row in enumerate(rows):
        if row is not None:
            mask[i, 0, :row.mask.shape[0]] = row.mask
    cache_layers = {}
    for index in layers:
        cache_layers[index] = layer = DynamicLayer()
        if index in like.kv:
            keys, values = (_stack([row.kv[index][part] if row else None for row in rows], like.kv[index][part])
                            for part in (0, 1))
            layer.lazy_initialization(keys, values)
            layer.keys, layer.values = keys, values
    return cache_layers, {'cross_attention_mask': mask}


def _stack(tensors: List[Any], like) -> Any:
    """[rows, heads, longest, dim]: each row's tensor, zero-padded after its own vision tokens."""
    import torch
    longest = max(t.shape[2] for t in tensors if t is not None)
    out = torch.zeros((len(tensors), like.shape[1], longest, like.shape[3]), dtype=like.dtype, device=like.device)
    for i, tensor in enumerate(tensors):
        if tensor is not None:
            out[i, :, :tensor.shape[2]] = tensor[0]
    return out
