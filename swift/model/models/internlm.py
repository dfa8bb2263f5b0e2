"""InternLM (Shanghai AI Laboratory): InternLM2, InternLM2.5 and InternLM3.

ModelScope publishes them under Shanghai_AI_Laboratory, Hugging Face under internlm.
InternLM2 fuses q/k/v into `wqkv` and calls its output head `output`.
"""
from ..registry import Model, ModelArch, ModelGroup, ModelMeta, register_model


def _internlm(name: str) -> Model:
    return Model(f'Shanghai_AI_Laboratory/{name}', f'internlm/{name}')


register_model(
    ModelMeta(
        model_type='internlm2',
        model_groups=[
            ModelGroup([
                _internlm('internlm2-chat-1_8b'),
                _internlm('internlm2-chat-7b'),
                _internlm('internlm2-chat-20b'),
                _internlm('internlm2-math-7b'),
                _internlm('internlm2-math-20b'),
            ]),
            ModelGroup([_internlm('internlm2-1_8b'),
                        _internlm('internlm2-7b'),
                        _internlm('internlm2-20b')],
                       tags=['base']),
            ModelGroup([
                _internlm('internlm2_5-1_8b-chat'),
                _internlm('internlm2_5-7b-chat'),
                _internlm('internlm2_5-7b-chat-1m'),
                _internlm('internlm2_5-20b-chat'),
            ]),
            ModelGroup([_internlm('internlm2_5-1_8b'),
                        _internlm('internlm2_5-7b'),
                        _internlm('internlm2_5-20b')],
                       tags=['base']),
        ],
        template='internlm2',
        architectures=['InternLM2ForCausalLM'],
        model_arch=ModelArch(lm_head=['output']),
        lora_target_modules=['wqkv', 'wo', 'w1', 'w2', 'w3'],
        requires=['transformers>=4.38'],
        description='InternLM2 and InternLM2.5 (remote code).',
    ))

register_model(
    ModelMeta(
        model_type='internlm3',
        model_groups=[ModelGroup([_internlm('internlm3-8b-instruct')])],
        template='internlm3',
        architectures=['InternLM3ForCausalLM'],
        requires=['transformers>=4.48'],
        description='InternLM3-8B-Instruct (remote code).',
    ))
