"""Gemma (Google): Gemma, Gemma 2 and Gemma 3.

Gemma 3 4B/12B/27B are vision-language checkpoints (Gemma3ForConditionalGeneration). They are
registered for text use now (is_multimodal=False); model_arch already names the vision tower
and projector so that multimodal support can freeze or tune them separately later.
"""
from ..registry import Model, ModelGroup, ModelMeta, register_model
from ._common import same_id

register_model(
    ModelMeta(
        model_type='gemma',
        model_groups=[
            ModelGroup([
                Model('AI-ModelScope/gemma-2b-it', 'google/gemma-2b-it'),
                Model('AI-ModelScope/gemma-7b-it', 'google/gemma-7b-it'),
            ]),
            ModelGroup([
                Model('AI-ModelScope/gemma-2b', 'google/gemma-2b'),
                Model('AI-ModelScope/gemma-7b', 'google/gemma-7b'),
            ],
                       tags=['base']),
        ],
        template='gemma',
        architectures=['GemmaForCausalLM'],
        requires=['transformers>=4.38'],
        description='Gemma 2B and 7B.',
    ))

register_model(
    ModelMeta(
        model_type='gemma2',
        model_groups=[
            ModelGroup([
                Model('LLM-Research/gemma-2-2b-it', 'google/gemma-2-2b-it'),
                Model('LLM-Research/gemma-2-9b-it', 'google/gemma-2-9b-it'),
                Model('LLM-Research/gemma-2-27b-it', 'google/gemma-2-27b-it'),
            ]),
            ModelGroup([
                Model('LLM-Research/gemma-2-2b', 'google/gemma-2-2b'),
                Model('LLM-Research/gemma-2-9b', 'google/gemma-2-9b'),
                Model('LLM-Research/gemma-2-27b', 'google/gemma-2-27b'),
            ],
                       tags=['base']),
        ],
        template='gemma',
        architectures=['Gemma2ForCausalLM'],
        requires=['transformers>=4.42'],
        description='Gemma 2 (2B, 9B, 27B); same chat format as Gemma.',
    ))

register_model(
    ModelMeta(
        model_type='gemma3_text',
        model_groups=[
            ModelGroup([
                Model('LLM-Research/gemma-3-1b-it', 'google/gemma-3-1b-it'),
                *same_id('google/gemma-3-270m-it'),
            ]),
            ModelGroup([
                Model('LLM-Research/gemma-3-1b-pt', 'google/gemma-3-1b-pt'),
                *same_id('google/gemma-3-270m'),
            ],
                       tags=['base']),
        ],
        template='gemma3',
        architectures=['Gemma3ForCausalLM'],
        requires=['transformers>=4.50'],
        description='Gemma 3 text-only checkpoints (270M, 1B).',
    ))

# Gemma 3 4B/12B/27B carry a vision tower: registered as `gemma3_vl` in vlm_others.py (alias `gemma3`).
