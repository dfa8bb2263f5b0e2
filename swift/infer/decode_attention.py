"""A faster attention for the engine's one-token decoding step in bfloat16 / float16 on CPU.

Why: torch's CPU SDPA kernel for a single query in half precision (the flash kernel, which `sdpa` picks
for a decode step) is 3-5x slower than in float32 at SmolLM2's shapes (9 query heads, 3 KV heads,
head dim 64: 68 us against 12 us at 80 cached tokens, 255 against 33 at 300, one thread; it repacks
the keys and values of every call for its half-precision kernels). In a bfloat16 batch-1 decode step
of SmolLM2-135M that is ~5 ms of ~42 ms (CPU time, docs/benchmarks.md), growing with the context.

What: the same attention computed as the flash kernel computes it, on float32 copies: scores in float32,
softmax in float32, the probabilities rounded to the model's dtype before they weigh the values (the
flash kernel's own rounding), the sum in float32, one rounding at the end. It is not bit-identical to
the kernel (float32 sums run in another order): 88-99% of outputs are equal, the rest one unit in the
last place, which is the size of the differences between SDPA's own kernels. That is enough to change
a greedy answer: on the tiny test model the engine's answers stayed `generate`'s, but on SmolLM2-135M in
bfloat16 one answer of tests/infer/test_prefix_cache.py left `generate`'s at its 11th token. So the
engine uses this path only when asked (`fast_decode_attention=True`); bfloat16 greedy equality with
`generate` holds by default.

How: registered with transformers' AttentionInterface (and the matching mask function), selected by the
engine (when asked) only around its decode step (`decode_attention(model)`), and falling back to transformers' sdpa
for anything else: a query longer than one token (prefill), float32, gradients, dropout, a float mask.
No transformers source is changed.
"""
import contextlib
import threading
from typing import Optional

NAME = 'swift_decode_sdpa'
_HALF = None  # (torch.bfloat16, torch.float16), set on registration (torch is imported lazily)
_registered = threading.Lock()
_done = False


def decode_sdpa_forward(module, query, key, value, attention_mask, dropout: float = 0.0,
                        scaling: Optional[float] = None, **kwargs):
    """transformers' attention-function signature: query [B, H, 1, D], key/value [B, Hkv, L, D]; returns
    ([B, 1, H, D], None) as sdpa_attention_forward does."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    batch, heads, q_length, dim = query.shape
    kv_heads = key.shape[1]
    plain = (q_length != 1 or query.dtype not in _HALF or dropout or torch.is_grad_enabled()
             or kwargs.get('position_bias') is not None or kwargs.get('softcap') is not None
             or (attention_mask is not None and attention_mask.dtype != torch.bool)
             or heads % kv_heads or key.shape[-1] != value.shape[-1])
    if plain:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    scale = scaling if scaling is not None else dim ** -0.5
    # one query per KV head group: [B, Hkv, heads per group, D] against [B, Hkv, L, D]
    scores = torch.matmul(query.reshape(batch, kv_heads, heads // kv_heads, dim).float(),
                          key.float().transpose(-1, -2)) * scale
    if attention_mask is not None:  # bool [B or 1, 1, 1, L], True where a row may attend
        scores = scores.masked_fill(~attention_mask, float('-inf'))
    weights = torch.exp(scores - scores.amax(-1, keepdim=True))
    total = weights.sum(-1, keepdim=True)
    out = torch.matmul(weights.to(query.dtype).float(), value.float()) / total
    return out.to(query.dtype).reshape(batch, heads, 1, dim).transpose(1, 2).contiguous(), None


def _register() -> None:
    global _done, _HALF
    with _registered:
        if _done:
            return
        import torch
        from transformers import AttentionInterface, AttentionMaskInterface
        from transformers.masking_utils import sdpa_mask
        _HALF = (torch.bfloat16, torch.float16)
        AttentionInterface.register(NAME, decode_sdpa_forward)
        AttentionMaskInterface.register(NAME, sdpa_mask)  # the same boolean masks sdpa gets
        _done = True


def _configs(model):
    """The model's config and its sub-configs (a multimodal model's text config), each once."""
    config = model.config
    seen = [config]
    for key in getattr(config, 'sub_configs', None) or {}:
        sub = getattr(config, key, None)
        if sub is not None and all(sub is not c for c in seen):
            seen.append(sub)
    return seen


def applies(model) -> bool:
    """Half precision on CPU with transformers' sdpa everywhere: the case this path is for."""
    import torch
    parameter = next(model.parameters(), None)
    if parameter is None or parameter.device.type != 'cpu' or parameter.dtype not in (torch.bfloat16, torch.float16):
        return False
    return all(getattr(c, '_attn_implementation', None) == 'sdpa' for c in _configs(model))


@contextlib.contextmanager
def decode_attention(model, enabled: bool = True):
    """Within the block, the model's attention layers call decode_sdpa_forward; the setting is restored after.
    The caller holds the model's lock: another forward in the block would take this path too (which falls back
    to sdpa for anything but an inference-only one-token query, so it would still be right)."""
    if not enabled:
        yield
        return
    _register()
    configs = _configs(model)
    before = [c._attn_implementation_internal for c in configs]
    try:
        for c in configs:
            c._attn_implementation_internal = NAME  # per config: the property's setter would recurse
        yield
    finally:
        for c, value in zip(configs, before):
            c._attn_implementation_internal = value
