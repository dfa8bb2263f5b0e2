"""Qwen2-VL, Qwen2.5-VL, Qwen3-VL (dense and MoE), Qwen2-Audio, Qwen2.5-Omni.

Module prefixes (transformers 5): the vision encoder is `model.visual` with its patch merger inside it
(`model.visual.merger`, the aligner), so the vision tower is named by its other parts to keep the two disjoint.
"""
from ..registry import Model, ModelArch, ModelGroup, ModelMeta, register_model
from ._common import processor_from


def _same(*ids):
    return [Model(i, i) for i in ids]


# Qwen2/2.5-VL: model.visual.{patch_embed, blocks, merger}; model.language_model; lm_head
QWEN2_VL_ARCH = ModelArch(language_model=['model.language_model'],
                          vision_tower=['model.visual.patch_embed', 'model.visual.blocks'],
                          aligner=['model.visual.merger'], lm_head=['lm_head'])
# Qwen3-VL adds a learned position embedding to the tower and DeepStack mergers to the aligner
QWEN3_VL_ARCH = ModelArch(language_model=['model.language_model'],
                          vision_tower=['model.visual.patch_embed', 'model.visual.pos_embed', 'model.visual.blocks'],
                          aligner=['model.visual.merger', 'model.visual.deepstack_merger_list'], lm_head=['lm_head'])
# Qwen2-Audio: model.audio_tower (Whisper-style encoder), model.multi_modal_projector, model.language_model
QWEN2_AUDIO_ARCH = ModelArch(language_model=['model.language_model'], vision_tower=['model.audio_tower'],
                             aligner=['model.multi_modal_projector'], lm_head=['lm_head'])
# Qwen2.5-Omni: swift loads the thinker (encoders + LM; the talker speaks and is not trained here, as in ms-swift)
QWEN2_5_OMNI_ARCH = ModelArch(language_model=['model.language_model'],
                              vision_tower=['model.visual.patch_embed', 'model.visual.blocks', 'model.audio_tower'],
                              aligner=['model.visual.merger'], lm_head=['lm_head'])

VIDEO = ['vision', 'video']
load_qwen_vl_processor = processor_from('qwen_vl_processor', 'QwenVLImageProcessor')


def load_omni_thinker(model_class, model_dir: str, **kwargs):
    """Qwen2.5-Omni's trainable part, the thinker: from a full checkpoint (config qwen2_5_omni: thinker, talker and
    token2wav) its thinker_config and the `thinker.` weights, the talker's left unread; a thinker-only directory as
    it is."""
    import json
    from pathlib import Path

    from transformers import AutoConfig
    config_dir, adapter = model_dir, Path(model_dir) / 'adapter_config.json'
    if adapter.is_file() and not (Path(model_dir) / 'config.json').is_file():  # transformers loads base + adapter
        config_dir = json.loads(adapter.read_text())['base_model_name_or_path']
    config = AutoConfig.from_pretrained(config_dir, trust_remote_code=kwargs.get('trust_remote_code', False))
    if getattr(config, 'thinker_config', None) is not None:
        kwargs.update(config=config.thinker_config, key_mapping={r'^thinker\.': ''})
    return model_class.from_pretrained(model_dir, **kwargs)

register_model(ModelMeta(
    model_type='qwen2_vl',
    requires=['transformers>=4.45'],
    model_groups=[
        ModelGroup(_same(*[f'Qwen/Qwen2-VL-{s}-Instruct{q}' for s in ('2B', '7B', '72B')
                           for q in ('', '-AWQ', '-GPTQ-Int4', '-GPTQ-Int8')]), tags=VIDEO),
        ModelGroup(_same('Qwen/Qwen2-VL-2B', 'Qwen/Qwen2-VL-7B', 'Qwen/Qwen2-VL-72B'), tags=VIDEO),
        ModelGroup(_same('Qwen/QVQ-72B-Preview'), tags=VIDEO),
        # a tiny random Qwen2-VL built on this machine (swift/model/tiny_qwen_vl.py)
        ModelGroup([Model('swift/qwen2-vl-tiny', aliases=['qwen2-vl-tiny'])], tags=['vision', 'built locally']),
    ],
    template='qwen2_vl', architectures=['Qwen2VLForConditionalGeneration'], model_arch=QWEN2_VL_ARCH,
    is_multimodal=True, load_processor=load_qwen_vl_processor,
    description='Qwen2-VL (images; videos need torchvision, not encoded here)'))

register_model(ModelMeta(
    model_type='qwen2_5_vl',
    requires=['transformers>=4.49'],
    model_groups=[ModelGroup(_same(*[f'Qwen/Qwen2.5-VL-{s}-Instruct{q}' for s in ('3B', '7B', '32B', '72B')
                                     for q in ('', '-AWQ')]), tags=VIDEO),
                    # a tiny random Qwen2.5-VL built on this machine (swift/model/tiny_qwen_vl.py)
                    ModelGroup([Model('swift/qwen2.5-vl-tiny', aliases=['qwen2.5-vl-tiny'])],
                               tags=['vision', 'built locally'])],
    template='qwen2_5_vl', architectures=['Qwen2_5_VLForConditionalGeneration'], model_arch=QWEN2_VL_ARCH,
    is_multimodal=True, load_processor=load_qwen_vl_processor,
    description='Qwen2.5-VL (images; same official template as Qwen2-VL)'))

register_model(ModelMeta(
    model_type='qwen3_vl',
    requires=['transformers>=4.57'],
    model_groups=[ModelGroup(_same(*[f'Qwen/Qwen3-VL-{s}-Instruct{q}' for s in ('2B', '4B', '8B', '32B')
                                     for q in ('', '-FP8')]), tags=VIDEO),
                    # a tiny random Qwen3-VL built on this machine (swift/model/tiny_qwen_vl.py)
                    ModelGroup([Model('swift/qwen3-vl-tiny', aliases=['qwen3-vl-tiny'])],
                               tags=['vision', 'built locally'])],
    template='qwen3_vl', architectures=['Qwen3VLForConditionalGeneration'], model_arch=QWEN3_VL_ARCH,
    is_multimodal=True, load_processor=load_qwen_vl_processor, description='Qwen3-VL instruct (dense)'))

register_model(ModelMeta(
    model_type='qwen3_vl_moe',
    requires=['transformers>=4.57'],
    model_groups=[ModelGroup(_same(*[f'Qwen/Qwen3-VL-{s}-Instruct{q}' for s in ('30B-A3B', '235B-A22B')
                                     for q in ('', '-FP8')]), tags=VIDEO)],
    template='qwen3_vl', architectures=['Qwen3VLMoeForConditionalGeneration'], model_arch=QWEN3_VL_ARCH,
    is_multimodal=True, load_processor=load_qwen_vl_processor, description='Qwen3-VL instruct (mixture of experts)'))

register_model(ModelMeta(
    model_type='qwen2_audio',
    requires=['transformers>=4.45'],
    model_groups=[ModelGroup(_same('Qwen/Qwen2-Audio-7B-Instruct', 'Qwen/Qwen2-Audio-7B'), tags=['audio']),
                  # a tiny random Qwen2-Audio built on this machine (swift/model/tiny_audio.py)
                  ModelGroup([Model('swift/qwen2-audio-tiny', aliases=['qwen2-audio-tiny'])],
                             tags=['audio', 'built locally'])],
    template='qwen2_audio', architectures=['Qwen2AudioForConditionalGeneration'], model_arch=QWEN2_AUDIO_ARCH,
    is_multimodal=True, model_class='Qwen2AudioForConditionalGeneration',
    description='Qwen2-Audio (audio in, text out)'))

register_model(ModelMeta(
    model_type='qwen2_5_omni',
    requires=['transformers>=4.52'],
    model_groups=[ModelGroup(_same('Qwen/Qwen2.5-Omni-3B', 'Qwen/Qwen2.5-Omni-7B', 'Qwen/Qwen2.5-Omni-7B-AWQ',
                                   'Qwen/Qwen2.5-Omni-7B-GPTQ-Int4'), tags=['vision', 'video', 'audio'])],
    template='qwen2_5_omni', model_arch=QWEN2_5_OMNI_ARCH, is_multimodal=True,
    # a released checkpoint (the full model) or a thinker-only one (what training the thinker saves)
    architectures=['Qwen2_5OmniForConditionalGeneration', 'Qwen2_5OmniThinkerForConditionalGeneration'],
    model_class='Qwen2_5OmniThinkerForConditionalGeneration', load_model=load_omni_thinker,
    load_processor=processor_from('qwen_omni_processor', 'QwenOmniProcessor'),
    description='Qwen2.5-Omni thinker (images and audio in, text out; videos need torchvision, not encoded here)'))
