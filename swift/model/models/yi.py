"""Yi (01.AI): Yi and Yi-1.5. ModelScope uses the organisation 01ai, Hugging Face 01-ai."""
from ..registry import Model, ModelGroup, ModelMeta, register_model


def _yi(name: str) -> Model:
    return Model(f'01ai/{name}', f'01-ai/{name}')


register_model(
    ModelMeta(
        model_type='yi',
        model_groups=[
            ModelGroup([
                _yi('Yi-1.5-6B-Chat'),
                _yi('Yi-1.5-9B-Chat'),
                _yi('Yi-1.5-9B-Chat-16K'),
                _yi('Yi-1.5-34B-Chat'),
                _yi('Yi-1.5-34B-Chat-16K'),
                _yi('Yi-6B-Chat'),
                _yi('Yi-34B-Chat'),
            ]),
            ModelGroup([_yi('Yi-1.5-6B'), _yi('Yi-1.5-9B'), _yi('Yi-1.5-34B'), _yi('Yi-6B'), _yi('Yi-34B')],
                       tags=['base']),
        ],
        template='yi',
        architectures=['LlamaForCausalLM'],
        description='Yi and Yi-1.5 (6B, 9B, 34B).',
    ))
