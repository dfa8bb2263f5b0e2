"""DeepSeek: DeepSeek LLM, DeepSeek-MoE, V2/V2.5, V3/V3.1, R1 and the R1 distills.

Chat formats: the first generation (`deepseek`: "User: ...\n\nAssistant:"), V2.5 and V3
(`deepseek_v3`: <｜User｜>/<｜Assistant｜> tokens; V2.5 introduced it), R1 (`deepseek_r1`),
the R1 distills (`deepseek_r1_distill`, which opens <think>) and V3.1 (`deepseek_v3_1`).
DeepSeek-V2/V3 use multi-head latent attention, so their LoRA targets are MLA projections.
"""
from ..registry import ModelGroup, ModelMeta, register_model
from ._common import ATTENTION_ONLY, same_id

MLA_LORA_TARGETS = ['q_proj', 'q_a_proj', 'q_b_proj', 'kv_a_proj_with_mqa', 'kv_b_proj', 'o_proj']

register_model(
    ModelMeta(
        model_type='deepseek',
        model_groups=[
            ModelGroup(same_id('deepseek-ai/deepseek-llm-7b-chat', 'deepseek-ai/deepseek-llm-67b-chat')),
            ModelGroup(same_id('deepseek-ai/deepseek-llm-7b-base', 'deepseek-ai/deepseek-llm-67b-base'), tags=['base']),
            ModelGroup(same_id('deepseek-ai/deepseek-math-7b-instruct', 'deepseek-ai/deepseek-math-7b-rl'), tags=['math']),
            ModelGroup(same_id('deepseek-ai/deepseek-math-7b-base'), tags=['math', 'base']),
        ],
        template='deepseek',
        architectures=['LlamaForCausalLM'],
        description='DeepSeek LLM 7B/67B and DeepSeek-Math 7B.',
    ))

register_model(
    ModelMeta(
        model_type='deepseek_moe',
        model_groups=[
            ModelGroup(same_id('deepseek-ai/deepseek-moe-16b-chat')),
            ModelGroup(same_id('deepseek-ai/deepseek-moe-16b-base'), tags=['base']),
        ],
        template='deepseek',
        architectures=['DeepseekForCausalLM'],
        lora_target_modules=ATTENTION_ONLY,
        description='DeepSeek-MoE 16B (remote code).',
    ))

register_model(
    ModelMeta(
        model_type='deepseek_v2',
        model_groups=[
            ModelGroup(
                same_id('deepseek-ai/DeepSeek-V2-Lite-Chat', 'deepseek-ai/DeepSeek-V2-Chat',
                        'deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct', 'deepseek-ai/DeepSeek-Coder-V2-Instruct')),
            ModelGroup(
                same_id('deepseek-ai/DeepSeek-V2-Lite', 'deepseek-ai/DeepSeek-V2', 'deepseek-ai/DeepSeek-Coder-V2-Lite-Base',
                        'deepseek-ai/DeepSeek-Coder-V2-Base'),
                tags=['base']),
            ModelGroup(same_id('deepseek-ai/DeepSeek-V2.5', 'deepseek-ai/DeepSeek-V2.5-1210'), template='deepseek_v3'),
        ],
        template='deepseek',
        architectures=['DeepseekV2ForCausalLM'],
        lora_target_modules=MLA_LORA_TARGETS,
        requires=['transformers>=4.39.3'],
        description='DeepSeek-V2, V2-Lite, Coder-V2 and V2.5 (remote code before native support).',
    ))

register_model(
    ModelMeta(
        model_type='deepseek_v3',
        model_groups=[
            ModelGroup(same_id('deepseek-ai/DeepSeek-V3', 'deepseek-ai/DeepSeek-V3-0324')),
            ModelGroup(same_id('deepseek-ai/DeepSeek-V3-Base'), tags=['base']),
            ModelGroup(
                same_id('deepseek-ai/DeepSeek-V3.1', 'deepseek-ai/DeepSeek-V3.1-Terminus'), template='deepseek_v3_1'),
            ModelGroup(same_id('deepseek-ai/DeepSeek-V3.1-Base'), tags=['base'], template='deepseek_v3_1'),
        ],
        template='deepseek_v3',
        architectures=['DeepseekV3ForCausalLM'],
        lora_target_modules=MLA_LORA_TARGETS,
        requires=['transformers>=4.39.3'],
        description='DeepSeek-V3 and V3.1 (671B mixture of experts).',
    ))

register_model(
    ModelMeta(
        model_type='deepseek_r1',
        model_groups=[
            ModelGroup(same_id('deepseek-ai/DeepSeek-R1', 'deepseek-ai/DeepSeek-R1-0528', 'deepseek-ai/DeepSeek-R1-Zero')),
        ],
        template='deepseek_r1',
        architectures=['DeepseekV3ForCausalLM'],
        lora_target_modules=MLA_LORA_TARGETS,
        requires=['transformers>=4.39.3'],
        description='DeepSeek-R1 reasoning models (V3 architecture).',
    ))

register_model(
    ModelMeta(
        model_type='deepseek_r1_distill',
        model_groups=[
            ModelGroup(
                same_id('deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B', 'deepseek-ai/DeepSeek-R1-Distill-Qwen-7B',
                        'deepseek-ai/DeepSeek-R1-Distill-Qwen-14B', 'deepseek-ai/DeepSeek-R1-Distill-Qwen-32B')),
            ModelGroup(same_id('deepseek-ai/DeepSeek-R1-Distill-Llama-8B', 'deepseek-ai/DeepSeek-R1-Distill-Llama-70B')),
            # Distilled from R1-0528 into Qwen3-8B; it ships R1-0528's own chat template.
            ModelGroup(same_id('deepseek-ai/DeepSeek-R1-0528-Qwen3-8B'), template='deepseek_r1'),
        ],
        template='deepseek_r1_distill',
        architectures=['Qwen2ForCausalLM', 'LlamaForCausalLM', 'Qwen3ForCausalLM'],
        requires=['transformers>=4.37'],
        description='DeepSeek-R1 distilled into Qwen2.5, Llama 3 and Qwen3 (R1-0528-Qwen3-8B needs transformers>=4.51).',
    ))
