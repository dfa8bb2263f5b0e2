"""Phi (Microsoft): Phi-3, Phi-3.5, Phi-4, Phi-4-mini and Phi-4-reasoning.

Phi-3 fuses its projections (qkv_proj, gate_up_proj); Phi-3-small is a separate remote-code
architecture with its own names.
"""
from ..registry import Model, ModelGroup, ModelMeta, register_model
from ._common import ATTENTION_ONLY, hf_only

PHI3_LORA_TARGETS = ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj']

register_model(
    ModelMeta(
        model_type='phi3',
        model_groups=[
            ModelGroup([
                Model('LLM-Research/Phi-3-mini-4k-instruct', 'microsoft/Phi-3-mini-4k-instruct'),
                Model('LLM-Research/Phi-3-mini-128k-instruct', 'microsoft/Phi-3-mini-128k-instruct'),
                Model('LLM-Research/Phi-3.5-mini-instruct', 'microsoft/Phi-3.5-mini-instruct'),
            ]),
            # Phi-3-medium's template has no system role and opens the answer in every user turn.
            ModelGroup([
                Model('LLM-Research/Phi-3-medium-4k-instruct', 'microsoft/Phi-3-medium-4k-instruct'),
                Model('LLM-Research/Phi-3-medium-128k-instruct', 'microsoft/Phi-3-medium-128k-instruct'),
            ],
                       template='phi3_medium'),
        ],
        template='phi3',
        architectures=['Phi3ForCausalLM'],
        lora_target_modules=PHI3_LORA_TARGETS,
        requires=['transformers>=4.36'],
        description='Phi-3 mini/medium and Phi-3.5-mini.',
    ))

register_model(
    ModelMeta(
        model_type='phi3_small',
        model_groups=[
            ModelGroup([
                Model('LLM-Research/Phi-3-small-8k-instruct', 'microsoft/Phi-3-small-8k-instruct'),
                Model('LLM-Research/Phi-3-small-128k-instruct', 'microsoft/Phi-3-small-128k-instruct'),
            ]),
        ],
        template='phi3_small',
        architectures=['Phi3SmallForCausalLM'],
        lora_target_modules=['query_key_value', 'dense', 'up_proj', 'down_proj'],
        requires=['transformers>=4.36', 'tiktoken'],
        description='Phi-3-small (remote code, tiktoken tokenizer).',
    ))

register_model(
    ModelMeta(
        model_type='phi3_moe',
        model_groups=[ModelGroup([Model('LLM-Research/Phi-3.5-MoE-instruct', 'microsoft/Phi-3.5-MoE-instruct')])],
        template='phi3',
        architectures=['PhiMoEForCausalLM'],
        lora_target_modules=ATTENTION_ONLY,
        requires=['transformers>=4.36'],
        description='Phi-3.5-MoE.',
    ))

register_model(
    ModelMeta(
        model_type='phi4',
        model_groups=[ModelGroup([Model('LLM-Research/phi-4', 'microsoft/phi-4')])],
        template='phi4',
        architectures=['Phi3ForCausalLM'],
        lora_target_modules=PHI3_LORA_TARGETS,
        requires=['transformers>=4.36'],
        description='Phi-4 14B.',
    ))

register_model(
    ModelMeta(
        model_type='phi4_mini',
        model_groups=[ModelGroup([Model('LLM-Research/Phi-4-mini-instruct', 'microsoft/Phi-4-mini-instruct')])],
        template='phi4_mini',
        architectures=['Phi3ForCausalLM'],
        lora_target_modules=PHI3_LORA_TARGETS,
        requires=['transformers>=4.49'],
        description='Phi-4-mini-instruct 3.8B.',
    ))

register_model(
    ModelMeta(
        model_type='phi4_reasoning',
        model_groups=[ModelGroup(hf_only('microsoft/Phi-4-reasoning', 'microsoft/Phi-4-reasoning-plus'))],
        template='phi4_reasoning',
        architectures=['Phi3ForCausalLM'],
        lora_target_modules=PHI3_LORA_TARGETS,
        requires=['transformers>=4.51'],
        description='Phi-4-reasoning and Phi-4-reasoning-plus (14B, <think> traces).',
    ))
