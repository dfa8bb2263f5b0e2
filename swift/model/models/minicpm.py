"""MiniCPM (OpenBMB): MiniCPM 1B/2B and MiniCPM3-4B, remote-code models.

ModelScope spells the organisation OpenBMB, Hugging Face openbmb.
MiniCPM3 uses multi-head latent attention (q_a/q_b, kv_a/kv_b projections).
"""
from ..registry import Model, ModelGroup, ModelMeta, register_model

register_model(
    ModelMeta(
        model_type='minicpm',
        model_groups=[
            ModelGroup([
                Model('OpenBMB/MiniCPM-2B-sft-fp32', 'openbmb/MiniCPM-2B-sft-fp32'),
                Model('OpenBMB/MiniCPM-2B-dpo-fp32', 'openbmb/MiniCPM-2B-dpo-fp32'),
                Model('OpenBMB/MiniCPM-1B-sft-bf16', 'openbmb/MiniCPM-1B-sft-bf16'),
            ]),
        ],
        template='minicpm',
        architectures=['MiniCPMForCausalLM'],
        requires=['transformers>=4.36'],
        description='MiniCPM 1B and 2B (remote code).',
    ))

register_model(
    ModelMeta(
        model_type='minicpm3',
        model_groups=[ModelGroup([Model('OpenBMB/MiniCPM3-4B', 'openbmb/MiniCPM3-4B')])],
        template='minicpm3',
        architectures=['MiniCPM3ForCausalLM'],
        lora_target_modules=[
            'q_a_proj', 'q_b_proj', 'kv_a_proj_with_mqa', 'kv_b_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'
        ],
        requires=['transformers>=4.36'],
        description='MiniCPM3-4B (remote code).',
    ))
