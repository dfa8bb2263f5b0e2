"""Baichuan 2 (Baichuan Inc.): remote-code models with a fused `W_pack` q/k/v projection."""
from ..registry import ModelGroup, ModelMeta, register_model
from ._common import same_id

register_model(
    ModelMeta(
        model_type='baichuan2',
        model_groups=[
            ModelGroup(same_id('baichuan-inc/Baichuan2-7B-Chat', 'baichuan-inc/Baichuan2-13B-Chat')),
            ModelGroup(same_id('baichuan-inc/Baichuan2-7B-Base', 'baichuan-inc/Baichuan2-13B-Base'), tags=['base']),
        ],
        template='baichuan2',
        architectures=['BaichuanForCausalLM'],
        lora_target_modules=['W_pack', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
        description='Baichuan2 7B and 13B (remote code).',
    ))
