"""BatchKVCache: rows join with different lengths, grow, leave from the middle; each row's view stays its own."""
import pytest
import torch

from swift.infer.kv_cache import BatchKVCache

LAYERS, HEADS, DIM = 2, 3, 4


def prefill(length: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(1, HEADS, length, DIM, generator=g), torch.randn(1, HEADS, length, DIM, generator=g))
            for _ in range(LAYERS)]


def row_view(cache: BatchKVCache, owner):
    """What attention sees of one row: its own columns only (padding masked)."""
    row = cache.owners.index(owner)
    start = cache.row_start[row]
    return [(cache.keys[l][row, :, start:cache.end], cache.values[l][row, :, start:cache.end]) for l in range(LAYERS)]


def step(cache: BatchKVCache, expected: dict, seed: int):
    """One decoding step: every row appends one column, as the model's attention would."""
    cache.reserve_column()
    g = torch.Generator().manual_seed(seed)
    for layer in range(LAYERS):
        k = torch.randn(cache.rows, HEADS, 1, DIM, generator=g)
        v = torch.randn(cache.rows, HEADS, 1, DIM, generator=g)
        cache.write(layer, k, v)
        for row, owner in enumerate(cache.owners):
            ek, ev = expected[owner][layer]
            expected[owner][layer] = (torch.cat([ek, k[row:row + 1]], dim=2), torch.cat([ev, v[row:row + 1]], dim=2))
    cache.commit_column()


def assert_rows_intact(cache: BatchKVCache, expected: dict):
    for owner in cache.owners:
        for (k, v), (ek, ev) in zip(row_view(cache, owner), expected[owner]):
            assert torch.equal(k, ek[0]) and torch.equal(v, ev[0])


def test_rows_join_grow_and_leave():
    cache = BatchKVCache(max_rows=8)
    expected = {}
    owners = [f'seq{i}' for i in range(6)]
    for i, length in enumerate([5, 2, 9]):  # shorter (left-padded), then longer (window widens left)
        kv = prefill(length, i)
        cache.add(kv, [owners[i]])
        expected[owners[i]] = kv
    assert cache.width == 9 and cache.rows == 3
    for s in range(100):  # past the first column capacity: the window is relaid out
        step(cache, expected, 100 + s)
    assert_rows_intact(cache, expected)
    cache.remove([owners[0]])  # from the middle: the last row moves in
    assert cache.owners == [owners[2], owners[1]]
    assert_rows_intact(cache, expected)
    kv = prefill(130, 7)  # longer than the whole window
    cache.add(kv, [owners[3], owners[4]])  # n=2: one prefill, two rows
    expected[owners[3]] = kv
    expected[owners[4]] = [(k.clone(), v.clone()) for k, v in kv]
    step(cache, expected, 300)
    assert_rows_intact(cache, expected)
    mask = cache.attention_mask()
    assert mask.shape == (4, cache.width + 1)
    assert cache.position_ids().flatten().tolist() == [expected[o][0][0].shape[2] for o in cache.owners]
    for row, owner in enumerate(cache.owners):
        assert int(mask[row].sum()) == expected[owner][0][0].shape[2] + 1
    cache.remove([owners[1], owners[2], owners[3], owners[4]])
    assert cache.rows == 0 and cache.keys == []  # an empty batch holds no memory


def test_buffers_shrink_when_the_batch_shrinks():
    cache = BatchKVCache(max_rows=32)
    owners = [f's{i}' for i in range(16)]
    for i, owner in enumerate(owners):
        cache.add(prefill(4, i), [owner])
    assert cache.keys[0].shape[0] >= 16
    cache.remove(owners[:14])
    assert cache.keys[0].shape[0] < 16  # freed rows gave their memory back


def test_no_mask_without_padding():
    cache = BatchKVCache(max_rows=4)
    cache.add(prefill(3, 0), ['a', 'b'])
    assert cache.attention_mask() is None
    assert cache.position_ids().flatten().tolist() == [3, 3]


def test_the_cache_view_refuses_transformers_replacing_its_tensors():
    """The view's layers read the pool's tensors; transformers' own layer edits assign new ones (crop for assisted
    decoding, reorder_cache for beam search), which the view cannot keep: a clear error, not a silent no-op."""
    cache = BatchKVCache(max_rows=4)
    cache.add(prefill(3, 0), ['a', 'b'])
    layer = cache.transformers_cache().layers[0]
    assert torch.equal(layer.keys, cache.keys[0][:2, :, cache.start:cache.end])
    with pytest.raises(RuntimeError, match='continuous-batching KV cache .* cannot have its keys/values replaced'):
        layer.crop(-1)  # DynamicLayer.crop: self.keys = self.keys[..., :-1, :]
    with pytest.raises(RuntimeError, match='beam search'):
        layer.reorder_cache(torch.tensor([1, 0]))
    assert layer.keys.shape[2] == 3  # untouched
