"""MiniCPM-V: 4.6 and 4.7 natively in transformers (MiniCPMV4_6 / MiniCPMV4_7ForConditionalGeneration), 2.6 as
remote code.

Module prefixes (what --freeze_vit / --freeze_aligner / --freeze_llm / --vit_lr / --aligner_lr act on), as
ms-swift's model_arch names them: 4.6 and 4.7 `model.vision_tower` (the SigLIP NaViT tower with its
window-attention merger) / `model.merger` (the MLP merger into the LM) / `model.language_model`; 2.6 `vpm` /
`resampler` / `llm`.
"""
from ..registry import Model, ModelArch, ModelGroup, ModelMeta, register_model
from ..remote_code import MINICPMV2_6
from ._common import image_only_processor

MINICPMV4_6_ARCH = ModelArch(language_model=['model.language_model'], vision_tower=['model.vision_tower'],
                             aligner=['model.merger'], lm_head=['lm_head'])
MINICPMV_ARCH = ModelArch(language_model=['llm'], vision_tower=['vpm'], aligner=['resampler'], lm_head=['llm.lm_head'])


def _openbmb(*names):
    # ModelScope publishes them as OpenBMB/<name>, Hugging Face as openbmb/<name> (ms-swift registers both)
    return [Model(f'OpenBMB/{name}', f'openbmb/{name}') for name in names]


register_model(ModelMeta(
    model_type='minicpmv4_6',
    requires=['transformers>=5.7'],
    model_groups=[ModelGroup(_openbmb('MiniCPM-V-4.6', 'MiniCPM-V-4.6-Thinking'), tags=['vision'])],
    template='minicpmv4_6', architectures=['MiniCPMV4_6ForConditionalGeneration'], model_arch=MINICPMV4_6_ARCH,
    load_processor=image_only_processor('minicpmv4_6'), is_multimodal=True,
    description='MiniCPM-V 4.6 and 4.6-Thinking (SigLIP2 NaViT tower + MLP merger + Qwen3.5 LM), images'))

register_model(ModelMeta(
    model_type='minicpmv4_7',
    requires=['transformers>=5.18'],
    model_groups=[ModelGroup(_openbmb('MiniCPM-V-4.7-1B', 'MiniCPM-V-4.7-35B-A3B'), tags=['vision'])],
    template='minicpmv4_7', architectures=['MiniCPMV4_7ForConditionalGeneration'], model_arch=MINICPMV4_6_ARCH,
    load_processor=image_only_processor('minicpmv4_7'), is_multimodal=True,
    description='MiniCPM-V 4.7 1B (Qwen3.5 LM) and 35B-A3B (Qwen3.5 MoE LM): 4.6 with canvas M-RoPE, images'))

register_model(ModelMeta(
    model_type='minicpmv2_6',
    model_groups=[ModelGroup(_openbmb('MiniCPM-V-2_6', 'MiniCPM-V-2_6-int4'), tags=['vision'])],
    template='minicpmv2_6', architectures=['MiniCPMV'], model_arch=MINICPMV_ARCH, is_multimodal=True,
    model_class='AutoModel', load_processor=MINICPMV2_6.load_processor, load_model=MINICPMV2_6.load_model,
    description='MiniCPM-V 2.6 (remote code: --trust_remote_code; verified: no, its code was not available here, '
                'see docs/multimodal.md)'))
