"""Llama (Meta): Llama 2, 3, 3.1, 3.2 and 3.3.

ModelScope mirrors Meta's checkpoints under other organisations (LLM-Research, modelscope).
Meta renamed the Hugging Face repositories of Llama 3.1 from Meta-Llama-3.1-* to Llama-3.1-*;
the old names still redirect, so they are kept as aliases.

Llama 3.1, 3.2 and 3.3 share one chat format (a system header with the knowledge cutoff and a date); the
official templates differ in the date: Llama 3.2's is today's, Llama 3.1's and 3.3's the fixed "26 Jul 2024",
hence the templates llama3_2 and llama3_1. The model type llama3_1 is registered first: an unnamed local
LlamaForCausalLM directory resolves to it (see swift/model/resolve.py).
"""
from ..registry import Model, ModelGroup, ModelMeta, register_model
from ._common import same_id

register_model(
    ModelMeta(
        model_type='llama3_1',
        model_groups=[
            ModelGroup([
                Model('LLM-Research/Meta-Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct',
                      aliases=['meta-llama/Meta-Llama-3.1-8B-Instruct']),
                Model('LLM-Research/Meta-Llama-3.1-70B-Instruct', 'meta-llama/Llama-3.1-70B-Instruct',
                      aliases=['meta-llama/Meta-Llama-3.1-70B-Instruct']),
                Model('LLM-Research/Meta-Llama-3.1-405B-Instruct', 'meta-llama/Llama-3.1-405B-Instruct',
                      aliases=['meta-llama/Meta-Llama-3.1-405B-Instruct']),
                Model('AI-ModelScope/Llama-3.1-Nemotron-70B-Instruct-HF', 'nvidia/Llama-3.1-Nemotron-70B-Instruct-HF'),
            ]),
            ModelGroup([
                Model('LLM-Research/Meta-Llama-3.1-8B', 'meta-llama/Llama-3.1-8B', aliases=['meta-llama/Meta-Llama-3.1-8B']),
                Model('LLM-Research/Meta-Llama-3.1-70B', 'meta-llama/Llama-3.1-70B',
                      aliases=['meta-llama/Meta-Llama-3.1-70B']),
                Model('LLM-Research/Meta-Llama-3.1-405B', 'meta-llama/Llama-3.1-405B',
                      aliases=['meta-llama/Meta-Llama-3.1-405B']),
            ],
                       tags=['base']),
            ModelGroup([
                Model('LLM-Research/Meta-Llama-3.1-8B-Instruct-BNB-NF4',
                      'hugging-quants/Meta-Llama-3.1-8B-Instruct-BNB-NF4'),
                Model('LLM-Research/Meta-Llama-3.1-8B-Instruct-GPTQ-INT4',
                      'hugging-quants/Meta-Llama-3.1-8B-Instruct-GPTQ-INT4'),
                Model('LLM-Research/Meta-Llama-3.1-8B-Instruct-AWQ-INT4',
                      'hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4'),
                Model('LLM-Research/Meta-Llama-3.1-70B-Instruct-AWQ-INT4',
                      'hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4'),
            ],
                       tags=['quantized']),
        ],
        template='llama3_1',
        architectures=['LlamaForCausalLM'],
        requires=['transformers>=4.43'],
        description='Llama 3.1 (8B, 70B, 405B) and fine-tunes that keep its chat format.',
    ))

register_model(
    ModelMeta(
        model_type='llama3_2',
        model_groups=[
            ModelGroup([
                Model('LLM-Research/Llama-3.2-1B-Instruct', 'meta-llama/Llama-3.2-1B-Instruct'),
                Model('LLM-Research/Llama-3.2-3B-Instruct', 'meta-llama/Llama-3.2-3B-Instruct'),
            ]),
            ModelGroup([
                Model('LLM-Research/Llama-3.2-1B', 'meta-llama/Llama-3.2-1B'),
                Model('LLM-Research/Llama-3.2-3B', 'meta-llama/Llama-3.2-3B'),
            ],
                       tags=['base']),
        ],
        template='llama3_2',
        architectures=['LlamaForCausalLM'],
        requires=['transformers>=4.45'],
        description='Llama 3.2 text models (1B, 3B).',
    ))

register_model(
    ModelMeta(
        model_type='llama3_3',
        model_groups=[
            ModelGroup([Model('LLM-Research/Llama-3.3-70B-Instruct', 'meta-llama/Llama-3.3-70B-Instruct')]),
            ModelGroup(same_id('unsloth/Llama-3.3-70B-Instruct-bnb-4bit'), tags=['quantized']),
        ],
        template='llama3_1',
        architectures=['LlamaForCausalLM'],
        requires=['transformers>=4.45'],
        description='Llama 3.3 70B Instruct.',
    ))

register_model(
    ModelMeta(
        model_type='llama3',
        model_groups=[
            ModelGroup([
                Model('LLM-Research/Meta-Llama-3-8B-Instruct', 'meta-llama/Meta-Llama-3-8B-Instruct'),
                Model('LLM-Research/Meta-Llama-3-70B-Instruct', 'meta-llama/Meta-Llama-3-70B-Instruct'),
            ]),
            ModelGroup([
                Model('LLM-Research/Meta-Llama-3-8B', 'meta-llama/Meta-Llama-3-8B'),
                Model('LLM-Research/Meta-Llama-3-70B', 'meta-llama/Meta-Llama-3-70B'),
            ],
                       tags=['base']),
            ModelGroup([
                Model('swift/Meta-Llama-3-8B-Instruct-GPTQ-Int4', 'study-hjt/Meta-Llama-3-8B-Instruct-GPTQ-Int4'),
                Model('swift/Meta-Llama-3-8B-Instruct-AWQ', 'study-hjt/Meta-Llama-3-8B-Instruct-AWQ'),
                Model('swift/Meta-Llama-3-70B-Instruct-AWQ', 'study-hjt/Meta-Llama-3-70B-Instruct-AWQ'),
            ],
                       tags=['quantized']),
        ],
        template='llama3',
        architectures=['LlamaForCausalLM'],
        description='Llama 3 (8B, 70B).',
    ))

register_model(
    ModelMeta(
        model_type='llama',
        model_groups=[
            ModelGroup([
                Model('modelscope/Llama-2-7b-chat-ms', 'meta-llama/Llama-2-7b-chat-hf'),
                Model('modelscope/Llama-2-13b-chat-ms', 'meta-llama/Llama-2-13b-chat-hf'),
                Model('modelscope/Llama-2-70b-chat-ms', 'meta-llama/Llama-2-70b-chat-hf'),
            ]),
            ModelGroup([
                Model('modelscope/Llama-2-7b-ms', 'meta-llama/Llama-2-7b-hf'),
                Model('modelscope/Llama-2-13b-ms', 'meta-llama/Llama-2-13b-hf'),
                Model('modelscope/Llama-2-70b-ms', 'meta-llama/Llama-2-70b-hf'),
            ],
                       tags=['base']),
        ],
        template='llama',
        architectures=['LlamaForCausalLM'],
        aliases=['llama2'],
        description='Llama 2 (7B, 13B, 70B).',
    ))
