"""LLaVA-1.5, LLaVA-NeXT (v1.6-mistral), LLaVA-OneVision and Pixtral (llava-hf / mistral-community formats).

transformers 5 layout, shared by all of them: model.vision_tower, model.multi_modal_projector (the aligner),
model.language_model, lm_head.
"""
from ..registry import Model, ModelArch, ModelGroup, ModelMeta, register_model
from ._common import image_only_processor

LLAVA_ARCH = ModelArch(language_model=['model.language_model'], vision_tower=['model.vision_tower'],
                       aligner=['model.multi_modal_projector'], lm_head=['lm_head'])


def _same(*ids):
    return [Model(i, i) for i in ids]


register_model(ModelMeta(
    model_type='llava1_5_hf',
    requires=['transformers>=4.36'],
    model_groups=[ModelGroup(_same('llava-hf/llava-1.5-7b-hf', 'llava-hf/llava-1.5-13b-hf', 'llava-hf/bakLlava-v1-hf'),
                             tags=['vision'])],
    template='llava1_5', architectures=['LlavaForConditionalGeneration'], model_arch=LLAVA_ARCH, is_multimodal=True,
    torch_dtype='float16', description='LLaVA-1.5 (CLIP ViT-L/336 + MLP + Vicuna), llava-hf format'))

register_model(ModelMeta(
    model_type='llava_next_hf',
    requires=['transformers>=4.39'],
    model_groups=[ModelGroup(_same('llava-hf/llava-v1.6-mistral-7b-hf'), tags=['vision'])],
    template='llava_next_mistral', architectures=['LlavaNextForConditionalGeneration'], model_arch=LLAVA_ARCH,
    is_multimodal=True, torch_dtype='float16',
    description='LLaVA-NeXT v1.6 (Mistral LM; the Vicuna/34B variants have other templates, not registered)'))

register_model(ModelMeta(
    model_type='llava_onevision_hf',
    requires=['transformers>=4.45'],
    model_groups=[ModelGroup(_same(*[f'llava-hf/llava-onevision-qwen2-{s}-{k}-hf' for s in ('0.5b', '7b', '72b')
                                     for k in ('ov', 'si')]), tags=['vision', 'video']),
                  ModelGroup(_same('llava-hf/llava-onevision-qwen2-7b-ov-chat-hf',
                                   'llava-hf/llava-onevision-qwen2-72b-ov-chat-hf'), tags=['vision', 'video'])],
    template='llava_onevision', architectures=['LlavaOnevisionForConditionalGeneration'], model_arch=LLAVA_ARCH,
    load_processor=image_only_processor('llava_onevision'),
    is_multimodal=True, torch_dtype='float16', description='LLaVA-OneVision (SigLIP + Qwen2), images and videos'))

register_model(ModelMeta(
    model_type='pixtral',
    requires=['transformers>=4.45'],
    model_groups=[ModelGroup(_same('mistral-community/pixtral-12b'), tags=['vision'])],
    template='pixtral', architectures=['LlavaForConditionalGeneration'], model_arch=LLAVA_ARCH, is_multimodal=True,
    load_processor=image_only_processor('pixtral'),
    description='Pixtral-12B (Pixtral vision encoder + Mistral Nemo LM, LLaVA layout)'))

register_model(ModelMeta(
    model_type='mistral3',
    requires=['transformers>=4.50'],
    model_groups=[ModelGroup(_same('mistralai/Mistral-Small-3.1-24B-Instruct-2503',
                                   'mistralai/Mistral-Small-3.1-24B-Base-2503',
                                   'mistralai/Mistral-Small-3.2-24B-Instruct-2506'), tags=['vision'])],
    template='pixtral', architectures=['Mistral3ForConditionalGeneration'], model_arch=LLAVA_ARCH, is_multimodal=True,
    load_processor=image_only_processor('pixtral'),
    description='Mistral-Small-3.1 / 3.2 (Pixtral encoder, patch merger, Mistral LM)'))
