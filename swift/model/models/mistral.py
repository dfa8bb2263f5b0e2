"""Mistral AI: Mistral 7B, Mixtral and Mistral-Nemo / Ministral.

Three chat formats: v0.1/v0.2 (`mistral`: `[INST] ... [/INST]`), v0.3 (`mistral_v3`) and the
Tekken-tokenizer releases Mistral-Nemo and Ministral (`mistral_nemo`).
"""
from ..registry import Model, ModelGroup, ModelMeta, register_model
from ._common import ATTENTION_ONLY, hf_only

register_model(
    ModelMeta(
        model_type='mistral',
        model_groups=[
            ModelGroup([
                Model('AI-ModelScope/Mistral-7B-Instruct-v0.1', 'mistralai/Mistral-7B-Instruct-v0.1'),
                Model('AI-ModelScope/Mistral-7B-Instruct-v0.2', 'mistralai/Mistral-7B-Instruct-v0.2'),
            ]),
            ModelGroup([Model('LLM-Research/Mistral-7B-Instruct-v0.3', 'mistralai/Mistral-7B-Instruct-v0.3')],
                       template='mistral_v3'),
            ModelGroup([
                Model('AI-ModelScope/Mistral-7B-v0.1', 'mistralai/Mistral-7B-v0.1'),
                Model('AI-ModelScope/Mistral-7B-v0.2-hf', 'alpindale/Mistral-7B-v0.2-hf'),
            ],
                       tags=['base']),
            ModelGroup(hf_only('mistralai/Mistral-7B-v0.3'), tags=['base'], template='mistral_v3'),
        ],
        template='mistral',
        architectures=['MistralForCausalLM'],
        requires=['transformers>=4.34'],
        description='Mistral 7B v0.1, v0.2 and v0.3.',
    ))

register_model(
    ModelMeta(
        model_type='mixtral',
        model_groups=[
            ModelGroup([Model('AI-ModelScope/Mixtral-8x7B-Instruct-v0.1', 'mistralai/Mixtral-8x7B-Instruct-v0.1')]),
            ModelGroup([
                Model('AI-ModelScope/Mixtral-8x7B-v0.1', 'mistralai/Mixtral-8x7B-v0.1'),
                Model('AI-ModelScope/Mixtral-8x22B-v0.1', 'mistral-community/Mixtral-8x22B-v0.1'),
            ],
                       tags=['base']),
            ModelGroup(hf_only('mistralai/Mixtral-8x22B-Instruct-v0.1'), template='mistral_v3'),
        ],
        template='mistral',
        architectures=['MixtralForCausalLM'],
        lora_target_modules=ATTENTION_ONLY,
        requires=['transformers>=4.36'],
        description='Mixtral 8x7B and 8x22B mixture-of-experts models.',
    ))

register_model(
    ModelMeta(
        model_type='mistral_nemo',
        model_groups=[
            ModelGroup([
                Model('AI-ModelScope/Mistral-Nemo-Instruct-2407', 'mistralai/Mistral-Nemo-Instruct-2407'),
                Model('AI-ModelScope/Ministral-8B-Instruct-2410', 'mistralai/Ministral-8B-Instruct-2410'),
            ]),
            ModelGroup([Model('AI-ModelScope/Mistral-Nemo-Base-2407', 'mistralai/Mistral-Nemo-Base-2407')],
                       tags=['base']),
        ],
        template='mistral_nemo',
        architectures=['MistralForCausalLM'],
        requires=['transformers>=4.43'],
        description='Mistral-Nemo 12B and Ministral 8B (Tekken tokenizer).',
    ))
