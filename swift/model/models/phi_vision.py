"""Phi-4-multimodal (transformers' native Phi4MultimodalForCausalLM: images and audio) and Phi-3 / Phi-3.5-vision
(remote code, Phi3VForCausalLM).

Phi-4-multimodal's parts, as transformers 5 names them: the LM is `model.{embed_tokens,layers,norm}` + `lm_head`;
the towers (what --freeze_vit / --vit_lr act on) are the SigLIP image encoder
`model.embed_tokens_extend.image_embed.img_processor` and the conformer audio encoder
`model.embed_tokens_extend.audio_embed.encoder`; the aligners (--freeze_aligner / --aligner_lr) are the image
projection (`img_projection_up/down` and the learned separators `global_/sub_img_feature_extensor`) and the audio
projections (`up/down_proj_for_speech` for audio alone, `…_for_vision_speech` for audio with images).
The hub repository's main branch is the remote-code layout (Phi4MMForCausalLM, with the vision / speech LoRA
adapters beside the weights, what ms-swift loads with transformers<4.49); transformers' own format is a
separate revision of the same repository (transformers' tests read refs/pr/94): load that one.
"""
from ..registry import Model, ModelArch, ModelGroup, ModelMeta, register_model
from ..remote_code import PHI3_VISION
from ._common import processor_from

_IMAGE, _AUDIO = 'model.embed_tokens_extend.image_embed', 'model.embed_tokens_extend.audio_embed'
PHI4_MULTIMODAL_ARCH = ModelArch(
    language_model=['model.embed_tokens', 'model.layers', 'model.norm'],
    vision_tower=[f'{_IMAGE}.img_processor', f'{_AUDIO}.encoder'],
    aligner=[f'{_IMAGE}.img_projection_up', f'{_IMAGE}.img_projection_down', f'{_IMAGE}.global_img_feature_extensor',
             f'{_IMAGE}.sub_img_feature_extensor', f'{_AUDIO}.up_proj_for_speech', f'{_AUDIO}.down_proj_for_speech',
             f'{_AUDIO}.up_proj_for_vision_speech', f'{_AUDIO}.down_proj_for_vision_speech'],
    lm_head=['lm_head'])
PHI3V_ARCH = ModelArch(language_model=['model.layers', 'model.embed_tokens', 'model.norm'],
                       vision_tower=['model.vision_embed_tokens.img_processor'],
                       aligner=['model.vision_embed_tokens.img_projection'], lm_head=['lm_head'])
PHI_LORA_TARGETS = ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj']

def load_phi4_processor(model_dir, trust_remote_code: bool = False):
    """Phi4Processor, after checking the directory is transformers' format (not the remote-code main branch)."""
    import json
    from pathlib import Path

    from swift.utils import SwiftError
    config_file = Path(model_dir) / 'config.json'
    model_type = json.loads(config_file.read_text()).get('model_type') if config_file.is_file() else None
    if model_type not in (None, 'phi4_multimodal'):
        raise SwiftError(f'{model_dir}: config.json has model_type {model_type!r}, the remote-code layout of '
                         'Phi-4-multimodal (Phi4MMForCausalLM, the hub repository\'s main branch); swift loads '
                         "transformers' format (model_type 'phi4_multimodal'): download that revision of "
                         'microsoft/Phi-4-multimodal-instruct (--revision; transformers\' own tests use refs/pr/94)')
    return processor_from('phi4_processor', 'Phi4Processor')(model_dir, trust_remote_code=trust_remote_code)


register_model(ModelMeta(
    model_type='phi4_multimodal',
    requires=['transformers>=5.0'],  # the processor (phi4_processor.py) is built on transformers 5's PIL backend
    model_groups=[ModelGroup([Model('LLM-Research/Phi-4-multimodal-instruct', 'microsoft/Phi-4-multimodal-instruct')],
                             tags=['vision', 'audio'])],
    template='phi4_multimodal', architectures=['Phi4MultimodalForCausalLM'], model_arch=PHI4_MULTIMODAL_ARCH,
    lora_target_modules=PHI_LORA_TARGETS, is_multimodal=True, model_class='AutoModelForCausalLM',
    load_processor=load_phi4_processor,
    description='Phi-4-multimodal-instruct in transformers format (Phi4MultimodalForCausalLM), images and audio'))


register_model(ModelMeta(
    model_type='phi3_vision',
    model_groups=[ModelGroup([Model('LLM-Research/Phi-3-vision-128k-instruct', 'microsoft/Phi-3-vision-128k-instruct'),
                              Model('LLM-Research/Phi-3.5-vision-instruct', 'microsoft/Phi-3.5-vision-instruct')],
                             tags=['vision'])],
    template='phi3_vision', architectures=['Phi3VForCausalLM'], model_arch=PHI3V_ARCH,
    lora_target_modules=PHI_LORA_TARGETS, is_multimodal=True, model_class='AutoModelForCausalLM',
    load_processor=PHI3_VISION.load_processor, load_model=PHI3_VISION.load_model,
    description='Phi-3 / Phi-3.5-vision (remote code: --trust_remote_code; never run here: its processor imports '
                'torchvision, see docs/multimodal.md)'))
