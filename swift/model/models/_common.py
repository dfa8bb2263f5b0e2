"""Shorthands shared by the family files."""
from typing import List

from ..registry import Model


def same_id(*model_ids: str) -> List[Model]:
    """Checkpoints published under the same ID on ModelScope and on Hugging Face."""
    return [Model(model_id, model_id) for model_id in model_ids]


def hf_only(*model_ids: str) -> List[Model]:
    """Checkpoints whose ModelScope ID we have not verified: only the Hugging Face ID is registered."""
    return [Model(None, model_id) for model_id in model_ids]


# LoRA targets of every MoE family here: attention only. Recent transformers store the experts'
# weights as fused 3-D parameters, which are not nn.Linear modules LoRA could wrap.
ATTENTION_ONLY = ['q_proj', 'k_proj', 'v_proj', 'o_proj']


def image_only_processor(family: str):
    """ModelMeta.load_processor for a family whose transformers processor needs torchvision
    (swift/model/image_only_processor.py, imported when a model loads)."""
    def load(model_dir, trust_remote_code: bool = False):
        from ..image_only_processor import PROCESSORS
        return PROCESSORS[family].from_pretrained(model_dir, trust_remote_code=trust_remote_code)
    return load


def processor_from(module: str, name: str):
    """ModelMeta.load_processor: class `name` of swift/model/<module>.py, imported when a model loads (the
    processors import transformers, which listing the registry does not)."""
    def load(model_dir, trust_remote_code: bool = False):
        import importlib
        cls = getattr(importlib.import_module(f'swift.model.{module}'), name)
        return cls.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
    return load
