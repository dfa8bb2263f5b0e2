"""InternVL 3 / 3.5 (HF format), Gemma 3 (vision), Llama 3.2 Vision, Idefics2/3, SmolVLM2 and GLM-4.1V: one ModelMeta
each, with the module prefixes of their transformers 5 classes. MiniCPM-V: minicpmv.py; Phi vision: phi_vision.py.
"""
from ..registry import Model, ModelArch, ModelGroup, ModelMeta, register_model
from ._common import image_only_processor
from .smolvlm import IDEFICS3_ARCH


def _same(*ids):
    return [Model(i, i) for i in ids]


# InternVL, Gemma 3, Mistral3 share the LLaVA layout in transformers 5
LLAVA_LAYOUT = ModelArch(language_model=['model.language_model'], vision_tower=['model.vision_tower'],
                         aligner=['model.multi_modal_projector'], lm_head=['lm_head'])
MLLAMA_ARCH = ModelArch(language_model=['model.language_model'], vision_tower=['model.vision_model'],
                        aligner=['model.multi_modal_projector'], lm_head=['lm_head'])
GLM4V_ARCH = ModelArch(language_model=['model.language_model'],
                       vision_tower=['model.visual.embeddings', 'model.visual.patch_embed', 'model.visual.blocks',
                                     'model.visual.post_conv_layernorm', 'model.visual.post_layernorm',
                                     'model.visual.downsample'],
                       aligner=['model.visual.merger'], lm_head=['lm_head'])

register_model(ModelMeta(
    model_type='internvl_hf',
    requires=['transformers>=4.52'],
    model_groups=[ModelGroup(_same(*[f'OpenGVLab/InternVL3-{s}-hf' for s in ('1B', '2B', '8B', '9B', '14B', '38B',
                                                                            '78B')]), tags=['vision', 'video']),
                  ModelGroup(_same(*[f'OpenGVLab/InternVL3_5-{s}-HF' for s in ('1B', '2B', '4B', '8B', '14B', '38B',
                                                                              '30B-A3B', '241B-A28B')]),
                             tags=['vision', 'video'])],
    template='internvl_hf', architectures=['InternVLForConditionalGeneration'], model_arch=LLAVA_LAYOUT,
    load_processor=image_only_processor('internvl'),
    is_multimodal=True,
    description='InternVL3 / InternVL3.5 in transformers format (-hf); the template is verified for InternVL3'))

# Gemma 3 4B and up (Gemma3ForConditionalGeneration: SigLIP tower + Gemma 3 LM). `gemma3` (their type before
# they moved here) and ms-swift's `gemma3_vision` stay as aliases; the 270M/1B text models are `gemma3_text`.
register_model(ModelMeta(
    model_type='gemma3_vl',
    requires=['transformers>=4.50'],
    aliases=['gemma3_vision', 'gemma3'],
    model_groups=[ModelGroup([Model(f'LLM-Research/gemma-3-{s}-it', f'google/gemma-3-{s}-it')
                              for s in ('4b', '12b', '27b')], tags=['vision']),
                  ModelGroup([Model(f'LLM-Research/gemma-3-{s}-pt', f'google/gemma-3-{s}-pt')
                              for s in ('4b', '12b', '27b')], tags=['vision', 'base']),
                  ModelGroup(_same(*[f'google/gemma-3-{s}-it-qat-q4_0-unquantized' for s in ('4b', '12b', '27b')]),
                             tags=['vision']),
                  ModelGroup(_same('google/medgemma-4b-it', 'google/medgemma-4b-pt', 'google/medgemma-27b-it'),
                             tags=['vision'])],
    template='gemma3_vl', architectures=['Gemma3ForConditionalGeneration'], model_arch=LLAVA_LAYOUT,
    is_multimodal=True, description='Gemma 3 4B/12B/27B with SigLIP vision (it, pt, QAT) and MedGemma'))

register_model(ModelMeta(
    model_type='llama3_2_vision',
    requires=['transformers>=4.45'],
    model_groups=[ModelGroup([Model(f'LLM-Research/Llama-3.2-{s}', f'meta-llama/Llama-3.2-{s}')
                              for s in ('11B-Vision-Instruct', '90B-Vision-Instruct', '11B-Vision', '90B-Vision')],
                             tags=['vision'])],
    template='llama3_2_vision', architectures=['MllamaForConditionalGeneration'], model_arch=MLLAMA_ARCH,
    is_multimodal=True, description='Llama 3.2 Vision (Mllama: cross-attention to image features)'))

register_model(ModelMeta(
    model_type='idefics3',
    requires=['transformers>=4.46'],
    model_groups=[ModelGroup(_same('HuggingFaceM4/Idefics3-8B-Llama3'), tags=['vision'])],
    template='idefics3', architectures=['Idefics3ForConditionalGeneration'], model_arch=IDEFICS3_ARCH,
    is_multimodal=True, description='Idefics3 (SigLIP + pixel shuffle + Llama 3)'))

register_model(ModelMeta(
    model_type='smolvlm2',
    requires=['transformers>=4.50'],
    model_groups=[ModelGroup(_same('HuggingFaceTB/SmolVLM2-2.2B-Instruct', 'HuggingFaceTB/SmolVLM2-500M-Video-Instruct',
                                   'HuggingFaceTB/SmolVLM2-256M-Video-Instruct'), tags=['vision'])],
    template='smolvlm', architectures=['SmolVLMForConditionalGeneration'], model_arch=IDEFICS3_ARCH,
    is_multimodal=True, description='SmolVLM2 (Idefics3 layout; video through its processor is not wired here yet)'))

register_model(ModelMeta(
    model_type='idefics2',
    requires=['transformers>=4.40'],
    model_groups=[ModelGroup(_same('HuggingFaceM4/idefics2-8b', 'HuggingFaceM4/idefics2-8b-chatty',
                                   'HuggingFaceM4/idefics2-8b-base'), tags=['vision'])],
    template='idefics2', architectures=['Idefics2ForConditionalGeneration'], model_arch=IDEFICS3_ARCH,
    is_multimodal=True, description='Idefics2 (SigLIP + perceiver resampler + Mistral), images'))

register_model(ModelMeta(
    model_type='glm4v',
    requires=['transformers>=4.53'],
    model_groups=[ModelGroup([Model('ZhipuAI/GLM-4.1V-9B-Thinking', 'zai-org/GLM-4.1V-9B-Thinking'),
                              Model('ZhipuAI/GLM-4.1V-9B-Base', 'zai-org/GLM-4.1V-9B-Base')], tags=['vision', 'video'])],
    template='glm4v', architectures=['Glm4vForConditionalGeneration'], model_arch=GLM4V_ARCH, is_multimodal=True,
    load_processor=image_only_processor('glm4v'),
    description='GLM-4.1V (transformers Glm4v; the older remote-code glm-4v-9b is not registered)'))
