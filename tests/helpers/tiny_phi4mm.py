"""A tiny random Phi-4-multimodal (transformers' Phi4MultimodalForCausalLM: SigLIP-style vision tower with HD crops,
a conformer audio encoder, their projectors and a Phi-3-style LM), built from the real classes with a fixed seed:
the SmolLM2 tokenizer with Phi-4's chat and media tokens added, swift's torchvision-free image processor and
transformers' audio feature extractor. The crops stay 448 pixels of 14 (the processor's token count assumes it:
256 global features); the towers are 2 layers of width 32, so an image costs a few hundred milliseconds.
"""
from pathlib import Path

SEED = 0
CHAT_TOKENS = ['<|system|>', '<|user|>', '<|assistant|>', '<|end|>', '<|tool|>', '<|/tool|>']
# The chat template of the transformers-format checkpoint (microsoft/Phi-4-multimodal-instruct, processor
# chat_template), as transformers' tests/models/phi4_multimodal/test_processor_phi4_multimodal.py carries it
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>' }}{% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' %}"
    "{{ '<|image|>' }}{% elif content['type'] == 'audio' %}{{ '<|audio|>' }}{% elif content['type'] == 'text' %}"
    "{{ content['text'] }}{% endif %}{% endfor %}{% endif %}{% if message['role'] == 'system' and 'tools' in message "
    "and message['tools'] is not none %}{{ '<|tool|>' + message['tools'] + '<|/tool|>' + '<|end|>' }}{% endif %}"
    "{{ '<|end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% else %}{{ eos_token }}"
    "{% endif %}")


def build_phi4_multimodal(smollm_dir: Path, out: Path) -> Path:
    import torch
    from transformers import (AutoTokenizer, Phi4MultimodalConfig, Phi4MultimodalFeatureExtractor,
                              Phi4MultimodalForCausalLM)
    from swift.model.phi4_processor import Phi4MultimodalImageProcessorPil, Phi4Processor
    tokenizer = AutoTokenizer.from_pretrained(str(smollm_dir), extra_special_tokens={'image_token': '<|image|>',
                                                                                       'audio_token': '<|audio|>'})
    tokenizer.add_special_tokens({'additional_special_tokens': CHAT_TOKENS})
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                  image_token_id=tokenizer.image_token_id)  # 448-pixel crops of 14-pixel patches, as released
    audio = dict(hidden_size=32, intermediate_size=64, num_blocks=2, num_attention_heads=2, ext_pw_out_channel=32,
                 depthwise_separable_out_channel=32, nemo_conv_channels=32, audio_token_id=tokenizer.audio_token_id)
    config = Phi4MultimodalConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                  max_position_embeddings=4096, original_max_position_embeddings=4096,
                                  pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                                  eos_token_id=[tokenizer.eos_token_id], vision_config=vision, audio_config=audio)
    config.architectures = ['Phi4MultimodalForCausalLM']
    torch.manual_seed(SEED)
    model = Phi4MultimodalForCausalLM(config)
    processor = Phi4Processor(Phi4MultimodalImageProcessorPil(), Phi4MultimodalFeatureExtractor(), tokenizer,
                              chat_template=CHAT_TEMPLATE)
    out = Path(out)
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    return out
