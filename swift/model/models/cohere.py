"""Command R (Cohere): Command R / R+ (CohereForCausalLM) and Command R7B (Cohere2ForCausalLM).

Cohere renamed its Hugging Face organisation from CohereForAI to CohereLabs; the old IDs still
redirect and are kept as aliases. Only the 2024-03/04 releases have verified ModelScope mirrors.
"""
from ..registry import Model, ModelGroup, ModelMeta, register_model


def _cohere(name: str, ms_model_id: str = None) -> Model:
    return Model(ms_model_id, f'CohereLabs/{name}', aliases=[f'CohereForAI/{name}'])


register_model(
    ModelMeta(
        model_type='command_r',
        model_groups=[
            ModelGroup([
                _cohere('c4ai-command-r-v01', 'AI-ModelScope/c4ai-command-r-v01'),
                _cohere('c4ai-command-r-plus', 'AI-ModelScope/c4ai-command-r-plus'),
                _cohere('c4ai-command-r-08-2024'),
                _cohere('c4ai-command-r-plus-08-2024'),
            ]),
        ],
        template='command_r',
        architectures=['CohereForCausalLM'],
        requires=['transformers>=4.39'],
        description='Command R (35B) and Command R+ (104B).',
    ))

register_model(
    ModelMeta(
        model_type='command_r7b',
        model_groups=[ModelGroup([_cohere('c4ai-command-r7b-12-2024')])],
        template='command_r7b',
        architectures=['Cohere2ForCausalLM'],
        requires=['transformers>=4.48'],
        description='Command R7B (12-2024).',
    ))
