"""Falcon3 (TII): Llama-architecture models from 1B to 10B.

Only the Hugging Face IDs are registered: no ModelScope mirror was verified.
"""
from ..registry import ModelGroup, ModelMeta, register_model
from ._common import hf_only

register_model(
    ModelMeta(
        model_type='falcon3',
        model_groups=[
            ModelGroup(
                hf_only('tiiuae/Falcon3-1B-Instruct', 'tiiuae/Falcon3-3B-Instruct', 'tiiuae/Falcon3-7B-Instruct',
                        'tiiuae/Falcon3-10B-Instruct')),
            ModelGroup(
                hf_only('tiiuae/Falcon3-1B-Base', 'tiiuae/Falcon3-3B-Base', 'tiiuae/Falcon3-7B-Base',
                        'tiiuae/Falcon3-10B-Base'),
                tags=['base']),
        ],
        template='falcon3',
        architectures=['LlamaForCausalLM'],
        description='Falcon3 1B, 3B, 7B and 10B.',
    ))
