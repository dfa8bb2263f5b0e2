"""Model registry, hub download and loading."""
from .registry import (MODEL_REGISTRY, Model, ModelArch, ModelGroup, ModelMeta, find_model, get_model_meta,
                       list_model_types, lookup_model, register_model)
