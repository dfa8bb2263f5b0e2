"""A compiled decoding step for TransformersEngine (opt-in: `--compile_decode true`).

Why: an eager one-token step of a small model on CPU spends a quarter of its time dispatching ~2,000 small
ops (norms, rotary, activations, residual adds: docs/benchmarks.md). torch.compile fuses them. Measured on 2 CPU
cores (docs/benchmarks.md): no gain at batch 1, at most 5% at batch 32 in bfloat16, 8% slower in float32: the
compiled region's own overhead (~0.6 ms per layer) cancels the fusion, and the matmuls are two thirds of a step.
Hence opt-in.

What is compiled: ONE decoder layer's forward (regional compilation: every layer is an instance of the same class,
and torch.compile treats a module's parameters as inputs, so the graph compiled for one layer serves all of them),
for the decode step only (one token per row), with the batch padded up to a bucket (1, 2, 4, ...
max_batch_size) so that each bucket has one static shape (`dynamic=False`). Prefill and everything outside the
layers (embedding, rotary table, final norm, lm_head) stay eager.

What is not: the KV cache write and the attention itself. They run eagerly (`torch.compiler.disable`: one graph
break per layer) on the engine's BatchKVCache, whose width grows every step; so no compiled shape depends on the
context length and a bucket never recompiles as sequences grow. The attention is the same function (transformers'
sdpa, or decode_attention's when asked) with the same mask as in the eager step, so the only numerical change is
inductor's fusion of the pointwise ops and norms.

How the layers reach the cache: the model runs with `use_cache=False` and attention implementation
`swift_compiled_decode` (registered with transformers' AttentionInterface, and a mask function that builds no mask
in a compiled step); the attention function reads this thread's step (the BatchKVCache, live rows, padding mask)
and calls the cache's write with `module.layer_idx` in eager code, so the compiled graph never specialises on the
layer index. Outside a compiled step on this thread (prefill, other threads) both functions are plain sdpa.

Start-up: `warm_up()` compiles the buckets smallest first in a background thread on dummy inputs; until a bucket is
ready the engine decodes it eagerly. A failed compile logs one warning and leaves the engine eager.
"""
import functools
import inspect
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from swift.utils import get_logger

logger = get_logger()

NAME = 'swift_compiled_decode'
MAX_BUCKETS = 7  # graphs per dtype: each is a compile at start-up
RECOMPILE_LIMIT = 64  # torch._dynamo's limit of graphs per code object (8 by default): buckets x dtypes x models
_thread = threading.local()  # .step: the _Step of the compiled forward running on this thread, if any
_registered = threading.Lock()
_done = False
_compiled_forwards: Dict[Tuple[type, int], Callable] = {}  # one torch.compile wrapper per layer class: shared cache


@dataclass
class _Step:
    pool: Any  # BatchKVCache, or None while warming up
    rows: int  # live rows; the rest of the bucket is padding
    mask: Any  # bool [rows, 1, 1, width + 1] or None (no row is left-padded)
    fast_attention: bool
    modules: Any = None  # the attention module of each layer (sdpa reads its GQA groups)
    next_layer: int = 0


def buckets(max_batch_size: int) -> List[int]:
    """Batch sizes compiled: powers of two below max_batch_size, and max_batch_size itself; at most MAX_BUCKETS, the
    smallest (a larger batch decodes eagerly: its step is dominated by matmuls, which compiling does not change)."""
    sizes, size = [], 1
    while size < max_batch_size:
        sizes.append(size)
        size *= 2
    sizes.append(max_batch_size)
    return sizes[:MAX_BUCKETS]


def _attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: Optional[float] = None,
               **kwargs):
    """transformers' attention-function signature. Traced in a compiled decode step: the opaque op below (one graph
    per layer, no break); run eagerly (prefill, another thread, an eager decode step): sdpa, as configured before."""
    import torch
    if torch.compiler.is_compiling():
        return torch.ops.swift.decode_attend(query, key, value, float(scaling)), None
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                  **kwargs)


def _decode_attend(query, key, value, scaling: float):
    """The eager body of swift::decode_attend: write this layer's new key/value into the engine's cache, attend over
    the rows' cached columns with the model's own sdpa (or decode_attention's), pad the output back to the bucket.
    Layers call it in order, so the step counts which layer this is (the graph holds no layer index)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from .decode_attention import decode_sdpa_forward
    step = _thread.step
    out = query.new_zeros((query.shape[0], query.shape[2], query.shape[1], query.shape[3]))
    if step.pool is None:  # warming up: only the graph around this op matters
        return out
    layer, rows = step.next_layer, step.rows
    step.next_layer += 1
    key, value = step.pool.write(layer, key[:rows], value[:rows])
    attention = decode_sdpa_forward if step.fast_attention else sdpa_attention_forward
    attended, _ = attention(step.modules[layer], query[:rows], key, value, step.mask, dropout=0.0, scaling=scaling)
    out[:rows] = attended
    return out


def _mask(*args, **kwargs):
    if getattr(_thread, 'step', None) is not None:
        return None  # the op attends with the step's own mask
    from transformers.masking_utils import sdpa_mask
    return sdpa_mask(*args, **kwargs)


def _register() -> None:
    global _done
    with _registered:
        if _done:
            return
        import torch
        from transformers import AttentionInterface, AttentionMaskInterface

        def decode_attend(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scaling: float) -> torch.Tensor:
            return _decode_attend(query, key, value, scaling)

        op = torch.library.custom_op('swift::decode_attend', mutates_args=())(decode_attend)

        @op.register_fake
        def _(query, key, value, scaling):
            return query.new_empty((query.shape[0], query.shape[2], query.shape[1], query.shape[3]))

        AttentionInterface.register(NAME, _attention)
        AttentionMaskInterface.register(NAME, _mask)
        _done = True


def _decoder_layers(model):
    """The model's repeated decoder layers (a ModuleList of one class), or None."""
    import torch
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    inner = getattr(base, 'model', None)
    layers = getattr(inner, 'layers', None)
    if not isinstance(layers, torch.nn.ModuleList) or not len(layers):
        return None
    if len({type(layer) for layer in layers}) != 1 or not hasattr(getattr(layers[0], 'self_attn', None), 'layer_idx'):
        return None
    return layers


def why_not(model, is_peft: bool) -> Optional[str]:
    """None when the compiled step applies to this model, else the reason it stays eager."""
    parameter = next(model.parameters(), None)
    if parameter is None or parameter.device.type != 'cpu':
        return 'the model is not on CPU (the compiled step is verified on CPU only)'
    if is_peft:
        return 'the model has LoRA adapters (per-request adapter choice is not traced)'
    config = model.config
    if getattr(config, 'sub_configs', None) and any(getattr(config, k, None) is not None for k in config.sub_configs):
        return 'multimodal models are not covered'
    if getattr(config, '_attn_implementation', None) != 'sdpa':
        return f'attention implementation {config._attn_implementation!r} (needs sdpa)'
    if set(getattr(config, 'layer_types', None) or ['full_attention']) != {'full_attention'}:
        return 'the model has sliding-window or non-attention layers'
    if _decoder_layers(model) is None:
        return 'no repeated decoder layers found at model.model.layers'
    return None


def _one_line(error: BaseException) -> str:
    """The root cause of a compiler error in one line (dynamo wraps it: BackendCompilerFailed, ...)."""
    root = error
    while root.__cause__ is not None or getattr(root, 'inner_exception', None) is not None:
        root = root.__cause__ or root.inner_exception
    lines = [line for line in str(root).splitlines() if line.strip()]
    return f'{type(root).__name__}: {lines[0] if lines else ""}'[:300]


class CompiledDecoder:
    """The compiled decoder layer, its ready buckets, and the per-step context the engine runs the model in."""

    def __init__(self, model, max_batch_size: int, fast_attention: bool = False, sizes: Optional[List[int]] = None,
                 backend: Any = 'inductor'):
        import torch
        _register()
        self.model = model
        self.layers = _decoder_layers(model)
        self.attention_modules = [layer.self_attn for layer in self.layers]
        self.buckets = sorted(sizes) if sizes else buckets(max_batch_size)
        self.ready: set = set()
        self.failed: Optional[str] = None
        self.compile_seconds: Dict[int, float] = {}
        self.fast_attention = fast_attention
        self._attn_before = model.config._attn_implementation_internal
        model.config._attn_implementation_internal = NAME  # permanently: the graphs were traced with it
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
        key = (type(self.layers[0]), backend if isinstance(backend, str) else id(backend))
        if key not in _compiled_forwards:
            _compiled_forwards[key] = torch.compile(inspect.unwrap(type(self.layers[0]).forward), dynamic=False,
                                                    backend=backend)
        self._forward = _compiled_forwards[key]
        self._warmer: Optional[threading.Thread] = None
        self._stop = False

    # ---- start-up ---------------------------------------------------------------------------------------
    def warm_up(self, background: bool = True) -> None:
        if background:
            self._warmer = threading.Thread(target=self._compile_all, name='swift-compile-decode', daemon=True)
            self._warmer.start()
        else:
            self._compile_all()

    def wait(self, timeout: Optional[float] = None) -> None:
        if self._warmer is not None:
            self._warmer.join(timeout)

    def _compile_all(self) -> None:
        import torch
        with torch.inference_mode():
            for size in self.buckets:
                if self._stop or self.failed:
                    return
                began = time.perf_counter()
                try:
                    self._run_dummy(size)
                except Exception as e:  # noqa: BLE001 — any compiler failure: stay eager, say so once
                    self.failed = _one_line(e)
                    logger.warning(f'compile_decode: compiling the decode step failed, decoding stays eager '
                                   f'({self.failed})')
                    return
                self.compile_seconds[size] = time.perf_counter() - began
                self.ready.add(size)
                logger.info(f'compile_decode: batch bucket {size} compiled in {self.compile_seconds[size]:.1f} s')

    def _run_dummy(self, size: int) -> None:
        """One compiled layer forward on zeros shaped as a decode step of `size` rows: compiles that bucket."""
        import torch
        base = self.model.get_base_model() if hasattr(self.model, 'get_base_model') else self.model
        parameter = next(self.model.parameters())
        hidden = torch.zeros((size, 1, self.model.config.hidden_size), dtype=parameter.dtype, device=parameter.device)
        positions = torch.zeros((size, 1), dtype=torch.long, device=parameter.device)
        position_embeddings = base.model.rotary_emb(hidden, position_ids=positions)
        _thread.step = _Step(None, size, None, self.fast_attention)
        try:
            self._forward(self.layers[0], hidden, attention_mask=None, position_ids=positions, use_cache=False,
                          position_embeddings=position_embeddings)
        finally:
            _thread.step = None

    def close(self) -> None:
        self._stop = True
        self.model.config._attn_implementation_internal = self._attn_before

    # ---- serving ------------------------------------------------------------------------------------------
    def bucket_for(self, rows: int) -> Optional[int]:
        """The smallest compiled bucket holding `rows`, or None (decode this step eagerly)."""
        if self.failed:
            return None
        size = next((b for b in self.buckets if b >= rows), None)
        return size if size in self.ready else None

    def forward(self, pool, input_ids, positions, bucket: int):
        """The model's logits [rows, vocab] for one decode step of the pool's rows, through the compiled layers."""
        import torch
        rows = input_ids.shape[0]
        if bucket > rows:  # padding rows: token 0 at position 0; their outputs are dropped
            input_ids = torch.cat([input_ids, input_ids.new_zeros((bucket - rows, 1))])
            positions = torch.cat([positions, positions.new_zeros((bucket - rows, 1))])
        mask = pool.attention_mask()
        _thread.step = _Step(pool, rows, None if mask is None else mask[:, None, None, :], self.fast_attention,
                             self.attention_modules)
        originals = [layer.__dict__.get('forward') for layer in self.layers]
        try:
            for layer in self.layers:
                layer.forward = functools.partial(self._forward, layer)
            out = self.model(input_ids=input_ids, position_ids=positions, use_cache=False, logits_to_keep=1)
        finally:
            _thread.step = None
            for layer, original in zip(self.layers, originals):
                if original is None:
                    del layer.forward
                else:
                    layer.forward = original
        return out.logits[:rows, -1, :]
