"""SmolVLM (Idefics3 architecture): SigLIP vision tower, pixel-shuffle connector, SmolLM2 language model.

`smolvlm-tiny` is the same architecture assembled locally from the embedded SmolLM2-135M-Instruct and a small
random vision tower (swift/model/tiny_vlm.py): what the tests and scripts/demo_vlm.py train on a CPU.
"""
from ..registry import Model, ModelArch, ModelGroup, ModelMeta, register_model

# Idefics3ForConditionalGeneration: model.vision_model / model.connector / model.text_model + lm_head
IDEFICS3_ARCH = ModelArch(language_model=['model.text_model'], vision_tower=['model.vision_model'],
                          aligner=['model.connector'], lm_head=['lm_head'])

register_model(
    ModelMeta(
        model_type='smolvlm',
        model_groups=[
            ModelGroup([
                Model('HuggingFaceTB/SmolVLM-Instruct', 'HuggingFaceTB/SmolVLM-Instruct'),
                Model('HuggingFaceTB/SmolVLM-256M-Instruct', 'HuggingFaceTB/SmolVLM-256M-Instruct'),
                Model('HuggingFaceTB/SmolVLM-500M-Instruct', 'HuggingFaceTB/SmolVLM-500M-Instruct'),
            ], tags=['vision']),
            ModelGroup([Model('swift/smolvlm-tiny', aliases=['smolvlm-tiny'])], tags=['vision', 'built locally']),
        ],
        template='smolvlm',
        architectures=['Idefics3ForConditionalGeneration'],
        model_arch=IDEFICS3_ARCH,
        is_multimodal=True,
        torch_dtype='bfloat16',
        description='SmolVLM (Hugging Face, Idefics3 architecture); smolvlm-tiny is built locally for CPU tests.',
    ))
