"""Tiny random-weight models of real multimodal families, built from the published configs in
../shared/data/vlm_configs (shrunk: 2 layers, small widths; token ids remapped to the SmolLM2 tokenizer with the
family's media tokens added) and the real image processors, so that our loader, templates and training see the
genuine transformers classes. No download; a fixed seed; seconds to build.
"""
import json
from pathlib import Path

SEED = 0
TEXT = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)


def _tokenizer(smollm_dir: Path, tokens):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(smollm_dir))
    tokenizer.add_special_tokens({'additional_special_tokens': list(tokens)})
    return tokenizer


def _save(model, processor, out: Path) -> Path:
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    return out


def build_llava(config_dir: Path, smollm_dir: Path, out: Path) -> Path:
    """LLaVA-1.5 (CLIP tower + MLP projector + Llama): 28-pixel images, 2x2 patches → 4 image tokens."""
    import torch
    from transformers import CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    tokenizer = _tokenizer(smollm_dir, ['<image>'])
    config = LlavaConfig.from_pretrained(str(config_dir))
    for key, value in TEXT.items():
        setattr(config.text_config, key, value)
    config.text_config.vocab_size = len(tokenizer)
    for key, value in dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=28, projection_dim=32).items():
        setattr(config.vision_config, key, value)
    config.image_token_id = tokenizer.convert_tokens_to_ids('<image>')
    config.pad_token_id = tokenizer.pad_token_id
    config.vision_feature_layer = -1  # the tiny tower has 2 layers
    torch.manual_seed(SEED)
    model = LlavaForConditionalGeneration(config)
    image_processor = CLIPImageProcessor.from_pretrained(str(config_dir), size={'shortest_edge': 28},
                                                         crop_size={'height': 28, 'width': 28})
    processor_config = json.loads((config_dir / 'processor_config.json').read_text())
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer,
                               patch_size=processor_config['patch_size'],
                               vision_feature_select_strategy=processor_config['vision_feature_select_strategy'],
                               num_additional_image_tokens=processor_config['num_additional_image_tokens'],
                               image_token='<image>')
    return _save(model, processor, out)


# Qwen2.5-VL (config in ../shared/data/vlm_configs too) is not built here: transformers 5 makes Qwen2_5_VLProcessor
# load its video processor, which needs torchvision, not installed in this environment.


def build_llava_next(smollm_dir: Path, out: Path) -> Path:
    """LLaVA-NeXT (anyres: the base image plus tiles of the best grid pinpoint, one newline feature per row):
    transformers' LlavaNextConfig defaults shrunk, 28-pixel tiles of 14-pixel patches. No published config is stored
    here for it; the architecture and the image processor are the real ones."""
    import torch
    from transformers import (CLIPVisionConfig, LlavaNextConfig, LlavaNextForConditionalGeneration,
                              LlavaNextImageProcessorPil, LlavaNextProcessor, LlamaConfig)
    tokenizer = _tokenizer(smollm_dir, ['<image>'])
    text = LlamaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **TEXT)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              image_size=28, patch_size=14, projection_dim=32)
    pinpoints = [[28, 28], [28, 56], [56, 28], [56, 56]]
    config = LlavaNextConfig(vision_config=vision.to_dict(), text_config=text.to_dict(),
                             image_token_index=tokenizer.convert_tokens_to_ids('<image>'),
                             image_grid_pinpoints=pinpoints, vision_feature_layer=-1, tie_word_embeddings=False)
    config.architectures = ['LlavaNextForConditionalGeneration']
    torch.manual_seed(SEED)
    model = LlavaNextForConditionalGeneration(config)
    image_processor = LlavaNextImageProcessorPil(size={'shortest_edge': 28}, crop_size={'height': 28, 'width': 28},
                                                 image_grid_pinpoints=pinpoints)
    processor = LlavaNextProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=14,
                                   vision_feature_select_strategy='default', num_additional_image_tokens=1,
                                   image_token='<image>')
    return _save(model, processor, out)
