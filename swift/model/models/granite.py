"""Granite 3.x (IBM): dense (GraniteForCausalLM) and mixture-of-experts (GraniteMoeForCausalLM).

Every point release changed the chat format a little (3.1 added a dated default system prompt,
3.2 the thinking switch), so each release group names its own template. The type's template is
the newest, which an unnamed local Granite directory gets. Only Hugging Face IDs are registered.
"""
from ..registry import ModelGroup, ModelMeta, register_model
from ._common import ATTENTION_ONLY, hf_only

register_model(
    ModelMeta(
        model_type='granite',
        model_groups=[
            ModelGroup(hf_only('ibm-granite/granite-3.3-2b-instruct', 'ibm-granite/granite-3.3-8b-instruct')),
            ModelGroup(hf_only('ibm-granite/granite-3.3-2b-base', 'ibm-granite/granite-3.3-8b-base'), tags=['base']),
            ModelGroup(hf_only('ibm-granite/granite-3.2-2b-instruct', 'ibm-granite/granite-3.2-8b-instruct'),
                       template='granite3_2'),
            ModelGroup(hf_only('ibm-granite/granite-3.1-2b-instruct', 'ibm-granite/granite-3.1-8b-instruct'),
                       template='granite3_1'),
            ModelGroup(hf_only('ibm-granite/granite-3.1-2b-base', 'ibm-granite/granite-3.1-8b-base'),
                       tags=['base'],
                       template='granite3_1'),
            ModelGroup(hf_only('ibm-granite/granite-3.0-2b-instruct', 'ibm-granite/granite-3.0-8b-instruct'),
                       template='granite'),
            ModelGroup(hf_only('ibm-granite/granite-3.0-2b-base', 'ibm-granite/granite-3.0-8b-base'),
                       tags=['base'],
                       template='granite'),
        ],
        template='granite3_3',
        architectures=['GraniteForCausalLM'],
        requires=['transformers>=4.45'],
        description='Granite 3.0, 3.1, 3.2 and 3.3 dense models (2B, 8B).',
    ))

register_model(
    ModelMeta(
        model_type='granitemoe',
        model_groups=[
            ModelGroup(hf_only('ibm-granite/granite-3.1-1b-a400m-instruct', 'ibm-granite/granite-3.1-3b-a800m-instruct')),
            ModelGroup(hf_only('ibm-granite/granite-3.1-1b-a400m-base', 'ibm-granite/granite-3.1-3b-a800m-base'),
                       tags=['base']),
            ModelGroup(hf_only('ibm-granite/granite-3.0-1b-a400m-instruct', 'ibm-granite/granite-3.0-3b-a800m-instruct'),
                       template='granite'),
            ModelGroup(hf_only('ibm-granite/granite-3.0-1b-a400m-base', 'ibm-granite/granite-3.0-3b-a800m-base'),
                       tags=['base'],
                       template='granite'),
        ],
        template='granite3_1',
        architectures=['GraniteMoeForCausalLM'],
        lora_target_modules=ATTENTION_ONLY,
        requires=['transformers>=4.45'],
        description='Granite 3.0 and 3.1 mixture-of-experts models (1B-A400M, 3B-A800M).',
    ))
