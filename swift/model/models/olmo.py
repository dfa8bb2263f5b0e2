"""OLMo (Allen AI): OLMo (July 2024) and OLMo 2. Only Hugging Face IDs are registered."""
from ..registry import ModelGroup, ModelMeta, register_model
from ._common import hf_only

register_model(
    ModelMeta(
        model_type='olmo',
        model_groups=[
            ModelGroup(hf_only('allenai/OLMo-7B-0724-Instruct-hf', 'allenai/OLMo-7B-0724-SFT-hf')),
            ModelGroup(hf_only('allenai/OLMo-7B-0724-hf', 'allenai/OLMo-1B-0724-hf'), tags=['base']),
        ],
        template='olmo',
        architectures=['OlmoForCausalLM'],
        requires=['transformers>=4.40'],
        description='OLMo 1B and 7B (0724 release, transformers-native "-hf" checkpoints).',
    ))

register_model(
    ModelMeta(
        model_type='olmo2',
        model_groups=[
            ModelGroup(
                hf_only('allenai/OLMo-2-0425-1B-Instruct', 'allenai/OLMo-2-1124-7B-Instruct',
                        'allenai/OLMo-2-1124-13B-Instruct', 'allenai/OLMo-2-0325-32B-Instruct')),
            ModelGroup(
                hf_only('allenai/OLMo-2-0425-1B', 'allenai/OLMo-2-1124-7B', 'allenai/OLMo-2-1124-13B',
                        'allenai/OLMo-2-0325-32B'),
                tags=['base']),
        ],
        template='olmo2',
        architectures=['Olmo2ForCausalLM'],
        requires=['transformers>=4.47'],
        description='OLMo 2 (1B, 7B, 13B, 32B).',
    ))
