"""Qwen (Alibaba): Qwen1.5, Qwen2, Qwen2.5, QwQ, Qwen3 and the Qwen3-2507 releases.

qwen2_5 is registered before qwen2 and qwq on purpose: a local Qwen2ForCausalLM directory whose
name matches no registered ID resolves to the first registered type of that architecture
(swift/model/resolve.py), and Qwen2.5 is the likeliest.
"""
from ..registry import ModelGroup, ModelMeta, register_model
from ._common import ATTENTION_ONLY, same_id

register_model(
    ModelMeta(
        model_type='qwen2_5',
        model_groups=[
            ModelGroup(
                same_id('Qwen/Qwen2.5-0.5B-Instruct', 'Qwen/Qwen2.5-1.5B-Instruct', 'Qwen/Qwen2.5-3B-Instruct',
                        'Qwen/Qwen2.5-7B-Instruct', 'Qwen/Qwen2.5-14B-Instruct', 'Qwen/Qwen2.5-32B-Instruct',
                        'Qwen/Qwen2.5-72B-Instruct', 'Qwen/Qwen2.5-7B-Instruct-1M', 'Qwen/Qwen2.5-14B-Instruct-1M')),
            ModelGroup(
                same_id('Qwen/Qwen2.5-0.5B', 'Qwen/Qwen2.5-1.5B', 'Qwen/Qwen2.5-3B', 'Qwen/Qwen2.5-7B',
                        'Qwen/Qwen2.5-14B', 'Qwen/Qwen2.5-32B', 'Qwen/Qwen2.5-72B'),
                tags=['base']),
            ModelGroup(
                same_id('Qwen/Qwen2.5-0.5B-Instruct-AWQ', 'Qwen/Qwen2.5-1.5B-Instruct-AWQ',
                        'Qwen/Qwen2.5-3B-Instruct-AWQ', 'Qwen/Qwen2.5-7B-Instruct-AWQ',
                        'Qwen/Qwen2.5-14B-Instruct-AWQ', 'Qwen/Qwen2.5-32B-Instruct-AWQ',
                        'Qwen/Qwen2.5-72B-Instruct-AWQ', 'Qwen/Qwen2.5-0.5B-Instruct-GPTQ-Int4',
                        'Qwen/Qwen2.5-1.5B-Instruct-GPTQ-Int4', 'Qwen/Qwen2.5-3B-Instruct-GPTQ-Int4',
                        'Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4', 'Qwen/Qwen2.5-14B-Instruct-GPTQ-Int4',
                        'Qwen/Qwen2.5-32B-Instruct-GPTQ-Int4', 'Qwen/Qwen2.5-72B-Instruct-GPTQ-Int4',
                        'Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8', 'Qwen/Qwen2.5-14B-Instruct-GPTQ-Int8',
                        'Qwen/Qwen2.5-32B-Instruct-GPTQ-Int8', 'Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8'),
                tags=['quantized']),
            ModelGroup(
                same_id('Qwen/Qwen2.5-Coder-0.5B-Instruct', 'Qwen/Qwen2.5-Coder-1.5B-Instruct',
                        'Qwen/Qwen2.5-Coder-3B-Instruct', 'Qwen/Qwen2.5-Coder-7B-Instruct',
                        'Qwen/Qwen2.5-Coder-14B-Instruct', 'Qwen/Qwen2.5-Coder-32B-Instruct'),
                tags=['coding']),
            ModelGroup(
                same_id('Qwen/Qwen2.5-Coder-0.5B', 'Qwen/Qwen2.5-Coder-1.5B', 'Qwen/Qwen2.5-Coder-3B',
                        'Qwen/Qwen2.5-Coder-7B', 'Qwen/Qwen2.5-Coder-14B', 'Qwen/Qwen2.5-Coder-32B'),
                tags=['coding', 'base']),
        ],
        template='qwen2_5',
        architectures=['Qwen2ForCausalLM'],
        requires=['transformers>=4.37'],
        description='Qwen2.5 and Qwen2.5-Coder (instruct, base, AWQ/GPTQ, 1M context).',
    ))

register_model(
    ModelMeta(
        model_type='qwen2',
        model_groups=[
            ModelGroup(
                same_id('Qwen/Qwen1.5-0.5B-Chat', 'Qwen/Qwen1.5-1.8B-Chat', 'Qwen/Qwen1.5-4B-Chat',
                        'Qwen/Qwen1.5-7B-Chat', 'Qwen/Qwen1.5-14B-Chat', 'Qwen/Qwen1.5-32B-Chat',
                        'Qwen/Qwen1.5-72B-Chat', 'Qwen/Qwen1.5-110B-Chat')),
            ModelGroup(
                same_id('Qwen/Qwen1.5-0.5B', 'Qwen/Qwen1.5-1.8B', 'Qwen/Qwen1.5-4B', 'Qwen/Qwen1.5-7B',
                        'Qwen/Qwen1.5-14B', 'Qwen/Qwen1.5-32B', 'Qwen/Qwen1.5-72B', 'Qwen/Qwen1.5-110B'),
                tags=['base']),
            ModelGroup(
                same_id('Qwen/Qwen2-0.5B-Instruct', 'Qwen/Qwen2-1.5B-Instruct', 'Qwen/Qwen2-7B-Instruct',
                        'Qwen/Qwen2-72B-Instruct')),
            ModelGroup(same_id('Qwen/Qwen2-0.5B', 'Qwen/Qwen2-1.5B', 'Qwen/Qwen2-7B', 'Qwen/Qwen2-72B'), tags=['base']),
            ModelGroup(
                same_id('Qwen/Qwen2-0.5B-Instruct-AWQ', 'Qwen/Qwen2-1.5B-Instruct-AWQ', 'Qwen/Qwen2-7B-Instruct-AWQ',
                        'Qwen/Qwen2-72B-Instruct-AWQ', 'Qwen/Qwen2-0.5B-Instruct-GPTQ-Int4',
                        'Qwen/Qwen2-1.5B-Instruct-GPTQ-Int4', 'Qwen/Qwen2-7B-Instruct-GPTQ-Int4',
                        'Qwen/Qwen2-72B-Instruct-GPTQ-Int4'),
                tags=['quantized']),
            ModelGroup(
                same_id('Qwen/Qwen2-Math-1.5B-Instruct', 'Qwen/Qwen2-Math-7B-Instruct', 'Qwen/Qwen2-Math-72B-Instruct'),
                tags=['math']),
            ModelGroup(same_id('Qwen/CodeQwen1.5-7B-Chat', 'Qwen/CodeQwen1.5-7B'), tags=['coding']),
        ],
        template='qwen',
        architectures=['Qwen2ForCausalLM'],
        requires=['transformers>=4.37'],
        description='Qwen1.5 and Qwen2 (chat, base, AWQ/GPTQ, Math, CodeQwen1.5).',
    ))

register_model(
    ModelMeta(
        model_type='qwen2_moe',
        model_groups=[
            ModelGroup(same_id('Qwen/Qwen1.5-MoE-A2.7B-Chat', 'Qwen/Qwen2-57B-A14B-Instruct')),
            ModelGroup(same_id('Qwen/Qwen1.5-MoE-A2.7B', 'Qwen/Qwen2-57B-A14B'), tags=['base']),
        ],
        template='qwen',
        architectures=['Qwen2MoeForCausalLM'],
        lora_target_modules=ATTENTION_ONLY,
        requires=['transformers>=4.40'],
        description='Qwen1.5-MoE and Qwen2-MoE.',
    ))

register_model(
    ModelMeta(
        model_type='qwq',
        model_groups=[ModelGroup(same_id('Qwen/QwQ-32B', 'Qwen/QwQ-32B-AWQ'))],
        template='qwq',
        architectures=['Qwen2ForCausalLM'],
        requires=['transformers>=4.37'],
        description='QwQ-32B reasoning model (Qwen2.5 architecture, <think> template).',
    ))

# Qwen3: the original releases are hybrid thinking models (enable_thinking switch, template qwen3).
# The 2507 releases split them in two: *-Thinking-2507 always think (qwen3_thinking) and
# *-Instruct-2507 never do; their chat format is plain ChatML without a default system prompt.
register_model(
    ModelMeta(
        model_type='qwen3',
        model_groups=[
            ModelGroup(
                same_id('Qwen/Qwen3-0.6B', 'Qwen/Qwen3-1.7B', 'Qwen/Qwen3-4B', 'Qwen/Qwen3-8B', 'Qwen/Qwen3-14B',
                        'Qwen/Qwen3-32B')),
            ModelGroup(
                same_id('Qwen/Qwen3-0.6B-Base', 'Qwen/Qwen3-1.7B-Base', 'Qwen/Qwen3-4B-Base', 'Qwen/Qwen3-8B-Base',
                        'Qwen/Qwen3-14B-Base'),
                tags=['base']),
            ModelGroup(
                same_id('Qwen/Qwen3-0.6B-FP8', 'Qwen/Qwen3-1.7B-FP8', 'Qwen/Qwen3-4B-FP8', 'Qwen/Qwen3-8B-FP8',
                        'Qwen/Qwen3-14B-FP8', 'Qwen/Qwen3-32B-FP8', 'Qwen/Qwen3-4B-AWQ', 'Qwen/Qwen3-8B-AWQ',
                        'Qwen/Qwen3-14B-AWQ', 'Qwen/Qwen3-32B-AWQ'),
                tags=['quantized']),
            ModelGroup(
                same_id('Qwen/Qwen3-4B-Thinking-2507', 'Qwen/Qwen3-4B-Thinking-2507-FP8'),
                tags=['thinking'],
                template='qwen3_thinking'),
            ModelGroup(same_id('Qwen/Qwen3-4B-Instruct-2507', 'Qwen/Qwen3-4B-Instruct-2507-FP8'), template='chatml'),
        ],
        template='qwen3',
        architectures=['Qwen3ForCausalLM'],
        requires=['transformers>=4.51'],
        description='Qwen3 dense models: hybrid thinking (qwen3), Thinking-2507 and Instruct-2507.',
    ))

register_model(
    ModelMeta(
        model_type='qwen3_moe',
        model_groups=[
            ModelGroup(same_id('Qwen/Qwen3-30B-A3B', 'Qwen/Qwen3-235B-A22B')),
            ModelGroup(same_id('Qwen/Qwen3-30B-A3B-Base'), tags=['base']),
            ModelGroup(same_id('Qwen/Qwen3-30B-A3B-FP8', 'Qwen/Qwen3-235B-A22B-FP8'), tags=['quantized']),
            ModelGroup(
                same_id('Qwen/Qwen3-30B-A3B-Thinking-2507', 'Qwen/Qwen3-30B-A3B-Thinking-2507-FP8',
                        'Qwen/Qwen3-235B-A22B-Thinking-2507', 'Qwen/Qwen3-235B-A22B-Thinking-2507-FP8'),
                tags=['thinking'],
                template='qwen3_thinking'),
            ModelGroup(
                same_id('Qwen/Qwen3-30B-A3B-Instruct-2507', 'Qwen/Qwen3-30B-A3B-Instruct-2507-FP8',
                        'Qwen/Qwen3-235B-A22B-Instruct-2507', 'Qwen/Qwen3-235B-A22B-Instruct-2507-FP8'),
                template='chatml'),
        ],
        template='qwen3',
        architectures=['Qwen3MoeForCausalLM'],
        lora_target_modules=ATTENTION_ONLY,
        requires=['transformers>=4.51'],
        description='Qwen3 mixture-of-experts models: hybrid thinking, Thinking-2507 and Instruct-2507.',
    ))
