"""Prompt KV caches kept after prefill, so a later prompt that starts the same way skips that part.

A system prompt, few-shot examples or an earlier turn of the same conversation are the common
shared prefixes. After each prefill the engine stores the prompt's per-layer keys and values (the
tensors the prefill produced; no copy) under (adapter, token ids). A new prompt looks up the
stored prompt sharing its longest prefix, starts its own cache from those columns and prefills
only the rest (at least its last token, whose logits pick the first new token).

Lookup is O(prompt length): every stored prompt is indexed by chained hashes of its token blocks
of BLOCK tokens, so the longest block-aligned shared prefix is found with one hash per block of
the new prompt; the match is then extended token by token inside the entry found. Entries are
evicted least recently used first, to stay under `max_bytes`.
"""
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

BLOCK = 16  # prefix granularity of the index (matches are then extended to the exact token)
MIN_REUSE_TOKENS = BLOCK  # shorter shared prefixes are not worth a lookup's bookkeeping

LayerKV = List[Tuple[Any, Any]]  # per layer (keys, values), each [1, kv heads, tokens, head dim]


def _block_hashes(adapter: Optional[str], ids: Sequence[int]) -> List[int]:
    """hashes[i] identifies (adapter, ids[:(i + 1) * BLOCK])."""
    hashes, h = [], hash(('prefix', adapter))
    for start in range(0, len(ids) - BLOCK + 1, BLOCK):
        h = hash((h, tuple(ids[start:start + BLOCK])))
        hashes.append(h)
    return hashes


class _Entry:
    __slots__ = ('adapter', 'ids', 'layer_kv', 'nbytes', 'hashes')

    def __init__(self, adapter, ids, layer_kv, hashes):
        self.adapter, self.ids, self.layer_kv, self.hashes = adapter, ids, layer_kv, hashes
        self.nbytes = sum(t.numel() * t.element_size() for kv in layer_kv for t in kv if t is not None)


class PrefixCache:
    """An LRU of prompt KV caches bounded in bytes (0 disables it)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self._entries: 'OrderedDict[Tuple, _Entry]' = OrderedDict()  # (adapter, ids) → entry, oldest first
        self._index: Dict[int, Tuple] = {}  # block hash → key of the newest entry with that prefix
        self.nbytes = 0
        self.counters = {'prefix_cache_hits': 0, 'prefix_cache_hit_tokens': 0, 'prefix_cache_lookups': 0}

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, adapter: Optional[str], ids: Sequence[int]) -> Tuple[int, Optional[LayerKV]]:
        """(number of leading tokens of `ids` whose KV is cached, that entry's per-layer KV) or (0, None).
        The length is at most len(ids) - 1: the last token is always computed for its logits."""
        if not self.enabled or len(ids) <= MIN_REUSE_TOKENS:
            return 0, None
        self.counters['prefix_cache_lookups'] += 1
        hashes = _block_hashes(adapter, ids)
        for i in range(len(hashes) - 1, -1, -1):
            key = self._index.get(hashes[i])
            if key is None:
                continue
            entry = self._entries[key]
            matched = (i + 1) * BLOCK
            if list(entry.ids[:matched]) != list(ids[:matched]):  # a hash collision: no reuse
                return 0, None
            limit = min(len(entry.ids), len(ids) - 1)
            while matched < limit and entry.ids[matched] == ids[matched]:
                matched += 1
            matched = min(matched, len(ids) - 1)
            if matched < MIN_REUSE_TOKENS:
                return 0, None
            self._entries.move_to_end(key)
            self.counters['prefix_cache_hits'] += 1
            self.counters['prefix_cache_hit_tokens'] += matched
            return matched, entry.layer_kv
        return 0, None

    def store(self, adapter: Optional[str], ids: Sequence[int], layer_kv: LayerKV) -> None:
        """Keep a prompt's KV (tensors are kept as given: the caller must not write to them later)."""
        if not self.enabled or len(ids) < MIN_REUSE_TOKENS:
            return
        key = (adapter, tuple(ids))
        if key in self._entries:
            self._entries.move_to_end(key)
            return
        entry = _Entry(adapter, key[1], layer_kv, _block_hashes(adapter, ids))
        if entry.nbytes > self.max_bytes:
            return
        self._entries[key] = entry
        self.nbytes += entry.nbytes
        for h in entry.hashes:
            self._index[h] = key
        while self.nbytes > self.max_bytes:
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        key, entry = self._entries.popitem(last=False)
        self.nbytes -= entry.nbytes
        for h in entry.hashes:
            if self._index.get(h) == key:
                del self._index[h]

    def clear(self) -> None:
        self._entries.clear()
        self._index.clear()
        self.nbytes = 0
