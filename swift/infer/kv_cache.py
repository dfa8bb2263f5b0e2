"""The KV cache of a running batch that sequences join and leave between decoding steps.

Per attention layer one preallocated buffer [row capacity, kv heads, column capacity, head dim].
Rows are sequences; columns are token slots, aligned at the right: every row's latest token is in
column `end - 1`, so a decoding step writes column `end` for all rows at once, in place (no
torch.cat of the whole cache per step, as transformers' DynamicCache does).

    joining   a prompt of length L is written to columns [end - L, end) of a free row; a longer
              prompt widens the window [start, end) to the left, a shorter one is left-padded
    leaving   the last row is copied into the freed row (one row's copy), so live rows stay 0..rows-1
    padding   columns before a row's own start are masked out through attention_mask, and its
              position ids count only its own tokens, so each row computes what it would alone

When the window reaches the end of the buffer, or rows outgrow it, the live window is copied
into a new buffer with headroom (amortised: capacity grows by half each time); when the batch
shrinks to a quarter of the buffer or empties, the buffers are shrunk or freed.
"""
from functools import lru_cache
from typing import Any, List, Optional, Sequence, Tuple

_MIN_COLUMN_HEADROOM = 64


class BatchKVCache:

    def __init__(self, max_rows: int):
        self.max_rows = max_rows
        self.keys: List[Any] = []  # per layer, None until the layer is first written
        self.values: List[Any] = []
        self.owners: List[Any] = []  # what each live row belongs to, in row order
        self.row_start: List[int] = []
        self.start = 0
        self.end = 0
        self._view = None

    # ---- shape ------------------------------------------------------------------------------
    @property
    def rows(self) -> int:
        return len(self.owners)

    @property
    def width(self) -> int:
        return self.end - self.start

    def _capacity(self) -> Tuple[int, int]:
        buffer = next((k for k in self.keys if k is not None), None)
        return (0, 0) if buffer is None else (buffer.shape[0], buffer.shape[2])

    # ---- rows joining and leaving ---------------------------------------------------------------
    def add(self, layer_kv: Sequence[Tuple[Any, Any]], owners: Sequence[Any]) -> None:
        """Add one prefilled sequence (per layer keys/values [1, heads, L, dim]) once per owner."""
        length = next(k.shape[-2] for k, _ in layer_kv if k is not None)
        if self.rows == 0:
            self.start = self.end = 0
        row_capacity, column_capacity = self._capacity()
        width = max(self.width, length)
        needs_rows = self.rows + len(owners) > row_capacity
        needs_left = self.end - length < 0
        needs_right = self.end + 1 > column_capacity
        if not self.keys or needs_rows or needs_left or needs_right:
            self._relayout(self.rows + len(owners), width, layer_kv)
        first = self.end - length
        for layer, (k, v) in enumerate(layer_kv):
            if k is None:
                continue
            rows = slice(self.rows, self.rows + len(owners))
            self.keys[layer][rows, :, first:self.end] = k
            self.values[layer][rows, :, first:self.end] = v
        self.owners.extend(owners)
        self.row_start.extend([first] * len(owners))
        self.start = min(self.row_start)

    def remove(self, owners_to_drop: Sequence[Any]) -> None:
        drop = {id(o) for o in owners_to_drop}
        indices = sorted((i for i, o in enumerate(self.owners) if id(o) in drop), reverse=True)
        for row in indices:  # descending, so the row moved in is never one still to drop
            last = self.rows - 1
            if row != last:
                self._copy_row(last, row)
                self.owners[row] = self.owners[last]
                self.row_start[row] = self.row_start[last]
            self.owners.pop()
            self.row_start.pop()
        if not self.owners:
            self.clear()
            return
        self.start = min(self.row_start)
        self._maybe_shrink()

    def clear(self) -> None:
        """Free every buffer (the batch is empty, or an error left it in an unknown state)."""
        self.keys, self.values, self.owners, self.row_start = [], [], [], []
        self.start = self.end = 0

    def _copy_row(self, source: int, target: int) -> None:
        columns = slice(self.start, self.end)
        for k, v in zip(self.keys, self.values):
            if k is not None:
                k[target, :, columns] = k[source, :, columns]
                v[target, :, columns] = v[source, :, columns]

    # ---- buffers ----------------------------------------------------------------------------------
    def _relayout(self, rows_needed: int, width: int, layer_kv: Optional[Sequence[Tuple[Any, Any]]] = None) -> None:
        """Copy the live window into new buffers sized for `rows_needed` rows and `width` columns
        plus headroom, right-aligned so that the window becomes [width - old width, width)."""
        import torch
        row_capacity, _ = self._capacity()
        rows = min(self.max_rows, max(rows_needed, min(2 * row_capacity, self.max_rows)))
        columns = width + max(width // 2, _MIN_COLUMN_HEADROOM)
        shift = width - self.end  # old column c moves to c + shift
        layers = max(len(self.keys), len(layer_kv or ()))
        keys, values = [], []
        for layer in range(layers):
            old_k = self.keys[layer] if layer < len(self.keys) else None
            old_v = self.values[layer] if layer < len(self.values) else None
            like = old_k if old_k is not None else (layer_kv[layer][0] if layer_kv else None)
            like_v = old_v if old_v is not None else (layer_kv[layer][1] if layer_kv else None)
            if like is None:
                keys.append(None)
                values.append(None)
                continue
            new_k = torch.zeros((rows, like.shape[1], columns, like.shape[3]), dtype=like.dtype, device=like.device)
            new_v = torch.zeros((rows, like_v.shape[1], columns, like_v.shape[3]), dtype=like_v.dtype,
                                device=like_v.device)
            if old_k is not None and self.rows:
                new_k[:self.rows, :, self.start + shift:width] = old_k[:self.rows, :, self.start:self.end]
                new_v[:self.rows, :, self.start + shift:width] = old_v[:self.rows, :, self.start:self.end]
            keys.append(new_k)
            values.append(new_v)
        self.keys, self.values = keys, values
        self.row_start = [s + shift for s in self.row_start]
        self.start, self.end = (self.start + shift if self.rows else width), width

    def _maybe_shrink(self) -> None:
        row_capacity, column_capacity = self._capacity()
        too_many_rows = row_capacity >= 8 and self.rows <= row_capacity // 4
        too_many_columns = column_capacity >= 4 * _MIN_COLUMN_HEADROOM and self.width <= column_capacity // 4
        if too_many_rows or too_many_columns:
            self._shrink_to_fit()

    def _shrink_to_fit(self) -> None:
        import torch
        width, rows = self.width, self.rows
        columns = width + max(width // 2, _MIN_COLUMN_HEADROOM)
        for layer, (k, v) in enumerate(zip(self.keys, self.values)):
            if k is None:
                continue
            new_k = torch.zeros((rows, k.shape[1], columns, k.shape[3]), dtype=k.dtype, device=k.device)
            new_v = torch.zeros((rows, v.shape[1], columns, v.shape[3]), dtype=v.dtype, device=v.device)
            new_k[:, :, :width] = k[:rows, :, self.start:self.end]
            new_v[:, :, :width] = v[:rows, :, self.start:self.end]
            self.keys[layer], self.values[layer] = new_k, new_v
        self.row_start = [s - self.start for s in self.row_start]
        self.start, self.end = 0, width

    # ---- one decoding step -------------------------------------------------------------------------
    def reserve_column(self) -> None:
        """Make room for the column the next step writes."""
        if self.end + 1 > self._capacity()[1]:
            self._relayout(self.rows, self.width)

    def write(self, layer: int, key_states, value_states):
        """Called by the model's attention through the transformers cache view."""
        q = key_states.shape[-2]
        rows = self.rows
        self.keys[layer][:rows, :, self.end:self.end + q] = key_states
        self.values[layer][:rows, :, self.end:self.end + q] = value_states
        return (self.keys[layer][:rows, :, self.start:self.end + q],
                self.values[layer][:rows, :, self.start:self.end + q])

    def live(self, layer: int, part: int):
        """Layer `layer`'s keys (part 0) or values (1) of the live rows and window; None for a layer not held."""
        buffers = self.keys if part == 0 else self.values
        if layer >= len(buffers) or buffers[layer] is None:
            return None
        return buffers[layer][:self.rows, :, self.start:self.end]

    def commit_column(self) -> None:
        self.end += 1

    def attention_mask(self):
        """[rows, width + 1] bool, False on each row's left padding; None when no row is padded."""
        import torch
        if all(s == self.start for s in self.row_start):
            return None
        device = next(k for k in self.keys if k is not None).device
        columns = torch.arange(self.start, self.end + 1, device=device)
        starts = torch.tensor(self.row_start, device=device)
        return columns[None, :] >= starts[:, None]

    def position_ids(self):
        """[rows, 1]: the position of the token each row is about to add (its own length so far)."""
        import torch
        device = next(k for k in self.keys if k is not None).device
        return torch.tensor([[self.end - s] for s in self.row_start], device=device)

    def transformers_cache(self):
        """The object to pass as the forward's KV cache: a transformers Cache whose layers write here."""
        if self._view is None or len(self._view.layers) != len(self.keys):
            self._view = _cache_view_class()(self, len(self.keys))
        return self._view


@lru_cache(maxsize=None)
def _cache_view_class():
    """transformers' Cache with one layer per attention layer of BatchKVCache (imported lazily)."""
    from transformers.cache_utils import Cache, DynamicLayer

    class _BatchLayer(DynamicLayer):

        def __init__(self, pool: BatchKVCache, index: int):
            super().__init__()  # assigns keys/values None: taken as "nothing of its own", below
            self.pool, self.index = pool, index
            self.is_initialized = True

        def update(self, key_states, value_states, *args, **kwargs):
            return self.pool.write(self.index, key_states, value_states)

        def _replace(self, value) -> None:
            # the pool owns the tensors; DynamicLayer's own edits (crop, reset, reorder_cache for beam search,
            # batch_select_indices, offload) assign new ones, which this view would silently lose
            if 'pool' in self.__dict__:
                raise RuntimeError(
                    f'layer {self.index} of the continuous-batching KV cache (swift/infer/kv_cache.py) cannot '
                    'have its keys/values replaced: rows join and leave through BatchKVCache, and beam search, '
                    'cache cropping or offloading are not supported on it')

        # the layer's live keys/values (read by models that look into the cache, e.g. Mllama, to tell an empty
        # layer)
        keys = property(lambda self: self.pool.live(self.index, 0), _replace)
        values = property(lambda self: self.pool.live(self.index, 1), _replace)

        def get_seq_length(self) -> int:
            return self.pool.width

        def get_mask_sizes(self, query_length: int) -> Tuple[int, int]:
            return self.pool.width + query_length, 0

    class BatchCacheView(Cache):

        def __init__(self, pool: BatchKVCache, num_layers: int):
            super().__init__(layers=[_BatchLayer(pool, i) for i in range(num_layers)])

    return BatchCacheView
