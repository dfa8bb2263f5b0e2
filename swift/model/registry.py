"""The model registry: one ModelMeta per model type, each listing its models' hub IDs.

A family file in swift/model/models/ calls register_model(...) once per model type:

    register_model(ModelMeta(
        model_type='qwen2_5',
        model_groups=[ModelGroup([
            Model('Qwen/Qwen2.5-0.5B-Instruct', 'Qwen/Qwen2.5-0.5B-Instruct'),
        ])],
        template='qwen2_5',
        architectures=['Qwen2ForCausalLM'],
    ))

Lookups (find_model) are by hub ID (either hub, case-insensitive), alias, or model_type.
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from swift.utils import SwiftError, did_you_mean


@dataclass
class Model:
    """One checkpoint: its ID on ModelScope and on Hugging Face (either may be None)."""
    ms_model_id: Optional[str] = None
    hf_model_id: Optional[str] = None
    aliases: List[str] = field(default_factory=list)

    @property
    def ids(self) -> List[str]:
        return [i for i in (self.ms_model_id, self.hf_model_id) if i]

    def hub_id(self, use_hf: bool) -> str:
        if use_hf:
            return self.hf_model_id or self.ms_model_id
        return self.ms_model_id or self.hf_model_id


@dataclass
class ModelGroup:
    """Models that share everything but their weights (sizes of one release)."""
    models: List[Model]
    tags: List[str] = field(default_factory=list)
    template: Optional[str] = None  # overrides ModelMeta.template for this group (e.g. base vs chat)


@dataclass
class ModelArch:
    """Module prefixes; multimodal stages use them to freeze or tune parts separately."""
    language_model: List[str] = field(default_factory=lambda: ['model'])
    vision_tower: List[str] = field(default_factory=list)
    aligner: List[str] = field(default_factory=list)
    lm_head: List[str] = field(default_factory=lambda: ['lm_head'])


@dataclass
class ModelMeta:
    model_type: str
    model_groups: List[ModelGroup]
    template: str
    architectures: List[str] = field(default_factory=list)
    model_arch: ModelArch = field(default_factory=ModelArch)
    lora_target_modules: List[str] = field(
        default_factory=lambda: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'])
    torch_dtype: str = 'bfloat16'
    requires: List[str] = field(default_factory=list)
    is_multimodal: bool = False
    # the transformers class that loads it, where the Auto class the loader picks does not map it (Qwen2-Audio
    # is no image-text-to-text model); None: AutoModelForCausalLM, or AutoModelForImageTextToText if multimodal
    model_class: Optional[str] = None
    # how its processor loads where AutoProcessor cannot (a callable (model_dir, trust_remote_code) -> processor;
    # Qwen-VL: transformers' processors need torchvision, swift/model/qwen_vl_processor.py); None: AutoProcessor
    load_processor: Optional[Callable[..., Any]] = field(default=None, repr=False, compare=False)
    # how the model loads where `model_class.from_pretrained(model_dir)` does not fit (a callable (model_class,
    # model_dir, **from_pretrained kwargs) -> model; Qwen2.5-Omni: the thinker out of the full checkpoint)
    load_model: Optional[Callable[..., Any]] = field(default=None, repr=False, compare=False)
    aliases: List[str] = field(default_factory=list)
    description: str = ''

    @property
    def models(self) -> List[Model]:
        return [m for g in self.model_groups for m in g.models]

    def template_for(self, model: Optional[Model]) -> str:
        if model is not None:
            for g in self.model_groups:
                if model in g.models and g.template:
                    return g.template
        return self.template


MODEL_REGISTRY: Dict[str, ModelMeta] = {}
_id_index: Dict[str, Tuple[str, Model]] = {}  # lowercase id or alias → (model_type, Model)


def _index_key(text: str) -> str:
    return text.strip().lower()


def register_model(meta: ModelMeta, exist_ok: bool = False) -> ModelMeta:
    """Add a model type. With exist_ok=False a second registration of the same type is an error."""
    if meta.model_type in MODEL_REGISTRY and not exist_ok:
        raise SwiftError(f'model_type {meta.model_type!r} is already registered')
    MODEL_REGISTRY[meta.model_type] = meta
    for model in meta.models:
        keys = list(model.ids) + list(model.aliases)
        # The name after the org is an alias too: 'qwen2.5-7b-instruct' finds 'Qwen/Qwen2.5-7B-Instruct'.
        keys += [i.split('/', 1)[1] for i in model.ids if '/' in i]
        for k in keys:
            _id_index.setdefault(_index_key(k), (meta.model_type, model))
    return meta


def _ensure_builtin_models() -> None:
    from . import models  # noqa: F401  (registers every family on import)


def list_model_types() -> List[str]:
    _ensure_builtin_models()
    return sorted(MODEL_REGISTRY)


def list_model_metas() -> List[ModelMeta]:
    """Every registered type, in registration order (the order family files and plugins ran)."""
    _ensure_builtin_models()
    return list(MODEL_REGISTRY.values())


def builtin_metas() -> List[ModelMeta]:
    """The built-in families (not plugins'), in model_type order."""
    from .models import BUILTIN_MODEL_TYPES
    return [get_model_meta(t) for t in sorted(BUILTIN_MODEL_TYPES)]


def get_model_meta(model_type: str) -> ModelMeta:
    _ensure_builtin_models()
    if model_type not in MODEL_REGISTRY:
        raise SwiftError(f'unknown model_type {model_type!r}.{did_you_mean(model_type, MODEL_REGISTRY)}')
    return MODEL_REGISTRY[model_type]


def lookup_model(model_id: str) -> Optional[Tuple[ModelMeta, Optional[Model]]]:
    """Registry entry for a hub ID, alias or model_type; None when unknown."""
    _ensure_builtin_models()
    key = _index_key(model_id)
    if key in _id_index:
        model_type, model = _id_index[key]
        return MODEL_REGISTRY[model_type], model
    for meta in MODEL_REGISTRY.values():
        if key == meta.model_type.lower() or key in (a.lower() for a in meta.aliases):
            return meta, None
    return None


def find_model(model_id: str) -> Tuple[ModelMeta, Optional[Model]]:
    """Like lookup_model, but an unknown ID is a SwiftError naming the closest registered IDs."""
    found = lookup_model(model_id)
    if found is None:
        candidates = [m for meta in MODEL_REGISTRY.values() for model in meta.models for m in model.ids]
        raise SwiftError(f'unknown model {model_id!r}: not a registered model ID, alias or local directory.'
                         f'{did_you_mean(model_id, candidates)}')
    return found


def all_model_ids() -> List[str]:
    _ensure_builtin_models()
    return [i for meta in MODEL_REGISTRY.values() for m in meta.models for i in m.ids]

