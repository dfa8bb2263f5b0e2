"""smolvlm-tiny: built once from the embedded SmolLM2, a standard directory plain transformers loads."""
import json

from PIL import Image


def test_smolvlm_tiny_is_a_standard_idefics3_directory(smollm_dir):
    import torch
    from safetensors import safe_open
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from swift.model.loader import get_model_dir
    from swift.model.registry import lookup_model
    from swift.model.tiny_vlm import SMOLVLM_CHAT_TEMPLATE

    meta, entry = lookup_model('smolvlm-tiny')
    assert meta.model_type == 'smolvlm' and meta.is_multimodal and 'swift/smolvlm-tiny' in entry.ids
    directory = get_model_dir('smolvlm-tiny')  # builds on first use, then reads the cache
    assert json.loads((directory / 'swift_embedded.json').read_text())['model_id'] == 'swift/smolvlm-tiny'

    processor = AutoProcessor.from_pretrained(str(directory))
    model = AutoModelForImageTextToText.from_pretrained(str(directory))
    assert type(model).__name__ == 'Idefics3ForConditionalGeneration'
    assert model.config.scale_factor == 4 and model.config.vision_config.patch_size == 16
    assert processor.chat_template == SMOLVLM_CHAT_TEMPLATE
    # the language model is the embedded SmolLM2 (same weights), its vocabulary grown by the image tokens
    with safe_open(str(smollm_dir / 'model.safetensors'), 'pt') as f:
        original = f.get_tensor('model.layers.3.mlp.down_proj.weight')
    assert torch.equal(model.model.text_model.layers[3].mlp.down_proj.weight, original)
    assert model.config.text_config.vocab_size == len(processor.tokenizer) > 49152
    for prefix in meta.model_arch.vision_tower + meta.model_arch.aligner + meta.model_arch.language_model:
        assert model.get_submodule(prefix) is not None

    messages = [{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': 'Colour?'}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(text=[prompt], images=[[Image.new('RGB', (64, 48), 'red')]], return_tensors='pt')
    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape[:2] == inputs['input_ids'].shape and torch.isfinite(logits).all()
