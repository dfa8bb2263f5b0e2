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


def _named_tokenizer(smollm_dir: Path, named: dict, tokens=()):
    """The SmolLM2 tokenizer with the family's media tokens, named as its processor reads them
    (tokenizer.boi_token, tokenizer.image_token, ...)."""
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(smollm_dir), extra_special_tokens=named)
    if tokens:
        tokenizer.add_special_tokens({'additional_special_tokens': list(tokens)})
    return tokenizer


def _vision(**overrides) -> dict:
    return dict(dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=28,
                     patch_size=14), **overrides)


def build_gemma3(smollm_dir: Path, out: Path) -> Path:
    """Gemma 3 (SigLIP tower, average-pooled to mm_tokens_per_image soft tokens, Gemma 3 LM): 28-pixel images, four
    soft tokens per image (2x2 patches, no pooling), between `<start_of_image>` / `<end_of_image>` as Gemma3Processor writes them."""
    import torch
    from transformers import (Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessorPil, Gemma3Processor,
                              Gemma3TextConfig, SiglipVisionConfig)
    tokenizer = _named_tokenizer(smollm_dir, {'boi_token': '<start_of_image>', 'eoi_token': '<end_of_image>',
                                              'image_token': '<image_soft_token>'},
                                 ['<start_of_turn>', '<end_of_turn>', '<bos>', '<eos>'])
    text = Gemma3TextConfig(vocab_size=len(tokenizer), head_dim=16, sliding_window=64,
                            pad_token_id=tokenizer.pad_token_id, **TEXT)
    config = Gemma3Config(text_config=text.to_dict(), vision_config=SiglipVisionConfig(**_vision()).to_dict(),
                          mm_tokens_per_image=4, boi_token_index=tokenizer.boi_token_id,
                          eoi_token_index=tokenizer.eoi_token_id, image_token_index=tokenizer.image_token_id)
    config.architectures = ['Gemma3ForConditionalGeneration']
    torch.manual_seed(SEED)
    model = Gemma3ForConditionalGeneration(config)
    with torch.no_grad():  # transformers starts the projection at zero, which would hide the image from the LM
        model.model.multi_modal_projector.mm_input_projection_weight.normal_(std=0.02)
    processor = Gemma3Processor(image_processor=Gemma3ImageProcessorPil(size={'height': 28, 'width': 28}),
                                tokenizer=tokenizer, image_seq_length=4)
    return _save(model, processor, out)


def _pixtral(smollm_dir: Path, merge: int):
    from transformers import PixtralImageProcessorPil, PixtralVisionConfig
    from swift.model.image_only_processor import PixtralImageProcessor
    tokenizer = _tokenizer(smollm_dir, ['[IMG]', '[IMG_BREAK]', '[IMG_END]', '[INST]', '[/INST]'])
    vision = PixtralVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                                 head_dim=16, image_size=56, patch_size=14)
    image_processor = PixtralImageProcessorPil(size={'longest_edge': 56}, patch_size=14)
    processor = PixtralImageProcessor(image_processor, tokenizer, patch_size=14, spatial_merge_size=merge)
    return tokenizer, vision, processor


def build_pixtral(smollm_dir: Path, out: Path) -> Path:
    """Pixtral-12B's layout (LlavaForConditionalGeneration with the Pixtral vision encoder): images kept at their
    aspect ratio up to 56 pixels, 14-pixel patches, rows of `[IMG]` closed by `[IMG_BREAK]` / `[IMG_END]`."""
    import torch
    from transformers import LlavaConfig, LlavaForConditionalGeneration, MistralConfig
    tokenizer, vision, processor = _pixtral(smollm_dir, merge=1)
    text = MistralConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, head_dim=16, **TEXT)
    config = LlavaConfig(vision_config=vision.to_dict(), text_config=text.to_dict(),
                         image_token_index=tokenizer.convert_tokens_to_ids('[IMG]'), vision_feature_layer=-1,
                         vision_feature_select_strategy='full', tie_word_embeddings=False)
    config.architectures = ['LlavaForConditionalGeneration']
    torch.manual_seed(SEED)
    return _save(LlavaForConditionalGeneration(config), processor, out)


def build_mistral3(smollm_dir: Path, out: Path) -> Path:
    """Mistral-Small-3.1 (Pixtral encoder, 2x2 patch merger, Mistral LM): one `[IMG]` per merged 28-pixel cell."""
    import torch
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration, MistralConfig
    tokenizer, vision, processor = _pixtral(smollm_dir, merge=2)
    text = MistralConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, head_dim=16, **TEXT)
    config = Mistral3Config(vision_config=vision.to_dict(), text_config=text.to_dict(), spatial_merge_size=2,
                            image_token_index=tokenizer.convert_tokens_to_ids('[IMG]'), vision_feature_layer=-1,
                            tie_word_embeddings=False)
    config.architectures = ['Mistral3ForConditionalGeneration']
    torch.manual_seed(SEED)
    return _save(Mistral3ForConditionalGeneration(config), processor, out)


def build_mllama(smollm_dir: Path, out: Path) -> Path:
    """Llama 3.2 Vision (Mllama: a tiled vision encoder whose features the LM reads through cross-attention layers;
    one `<|image|>` token in the text): 28-pixel tiles, up to 2 tiles, cross-attention in the second layer."""
    import torch
    from transformers import (MllamaConfig, MllamaForConditionalGeneration, MllamaImageProcessorPil,
                              MllamaProcessor, MllamaTextConfig, MllamaVisionConfig)
    tokenizer = _tokenizer(smollm_dir, ['<|image|>', '<|python_tag|>', '<|start_header_id|>', '<|end_header_id|>',
                                        '<|eot_id|>', '<|begin_of_text|>'])
    tokenizer.bos_token = '<|begin_of_text|>'  # as Llama 3's: MllamaProcessor puts it in front of a text without it
    image_token_id = tokenizer.convert_tokens_to_ids('<|image|>')
    text = MllamaTextConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, cross_attention_layers=[1],
                            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                            eos_token_id=tokenizer.eos_token_id)
    vision = MllamaVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_global_layers=1,
                                attention_heads=2, image_size=28, patch_size=14, max_num_tiles=2,
                                vision_output_dim=64, intermediate_layers_indices=[0],
                                supported_aspect_ratios=[[1, 1], [1, 2], [2, 1]])
    config = MllamaConfig(vision_config=vision.to_dict(), text_config=text.to_dict(), image_token_index=image_token_id)
    config.architectures = ['MllamaForConditionalGeneration']
    torch.manual_seed(SEED)
    model = MllamaForConditionalGeneration(config)
    with torch.no_grad():  # transformers closes the cross-attention gates (tanh(0) = 0), which would hide the image
        for name, parameter in model.named_parameters():
            if name.endswith(('cross_attn_attn_gate', 'cross_attn_mlp_gate')):
                parameter.fill_(0.5)
    image_processor = MllamaImageProcessorPil(size={'height': 28, 'width': 28}, max_image_tiles=2)
    return _save(model, MllamaProcessor(image_processor=image_processor, tokenizer=tokenizer), out)


def build_internvl(smollm_dir: Path, out: Path) -> Path:
    """InternVL 3 in transformers format (InternViT + pixel-shuffle MLP projector + LM): one 28-pixel tile per image,
    2x2 patches shuffled to 1 `<IMG_CONTEXT>` token between `<img>` / `</img>`."""
    import torch
    from transformers import (GotOcr2ImageProcessorPil, InternVLConfig, InternVLForConditionalGeneration,
                              InternVLVisionConfig, Qwen2Config)
    from swift.model.image_only_processor import InternVLImageProcessor
    tokenizer = _named_tokenizer(smollm_dir, {'start_image_token': '<img>', 'end_image_token': '</img>',
                                              'context_image_token': '<IMG_CONTEXT>', 'video_token': '<video>'})
    text = Qwen2Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **TEXT)
    vision = InternVLVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                                  image_size=[28, 28], patch_size=[14, 14])
    config = InternVLConfig(vision_config=vision.to_dict(), text_config=text.to_dict(), image_seq_length=1,
                            image_token_id=tokenizer.context_image_token_id, tie_word_embeddings=False)
    config.architectures = ['InternVLForConditionalGeneration']
    torch.manual_seed(SEED)
    model = InternVLForConditionalGeneration(config)
    image_processor = GotOcr2ImageProcessorPil(size={'height': 28, 'width': 28}, crop_to_patches=False)
    return _save(model, InternVLImageProcessor(image_processor, tokenizer, image_seq_length=1), out)


def build_llava_onevision(smollm_dir: Path, out: Path) -> Path:
    """LLaVA-OneVision (SigLIP tower + MLP projector + Qwen2; anyres_max_9 tiling with unpadded features and a
    newline feature per row): 28-pixel tiles of 14-pixel patches, grid pinpoints up to 56 pixels."""
    import torch
    from transformers import (LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration,
                              LlavaOnevisionImageProcessorPil, Qwen2Config, SiglipVisionConfig)
    from swift.model.image_only_processor import LlavaOnevisionImageProcessor
    tokenizer = _tokenizer(smollm_dir, ['<image>', '<video>'])
    text = Qwen2Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **TEXT)
    pinpoints = [[28, 28], [28, 56], [56, 28], [56, 56]]
    config = LlavaOnevisionConfig(vision_config=SiglipVisionConfig(**_vision()).to_dict(), text_config=text.to_dict(),
                                  image_token_index=tokenizer.convert_tokens_to_ids('<image>'),
                                  video_token_index=tokenizer.convert_tokens_to_ids('<video>'),
                                  image_grid_pinpoints=pinpoints, vision_feature_layer=-1, tie_word_embeddings=False)
    config.architectures = ['LlavaOnevisionForConditionalGeneration']
    torch.manual_seed(SEED)
    model = LlavaOnevisionForConditionalGeneration(config)
    image_processor = LlavaOnevisionImageProcessorPil(size={'height': 28, 'width': 28}, image_grid_pinpoints=pinpoints)
    processor = LlavaOnevisionImageProcessor(image_processor, tokenizer, num_image_tokens=4,
                                             vision_feature_select_strategy='full')
    return _save(model, processor, out)


def build_glm4v(smollm_dir: Path, out: Path) -> Path:
    """GLM-4.1V (a ViT with 2-D rotary positions and a 2x2 patch merger + GLM-4 LM with 3-D rotary positions, as
    Qwen2-VL): images resized to multiples of 28 pixels, one `<|image|>` per merged cell."""
    import torch
    from transformers import Glm4vConfig, Glm4vForConditionalGeneration, Glm4vImageProcessorPil
    from swift.model.image_only_processor import Glm4vImageProcessor
    media = ['<|image|>', '<|video|>', '<|begin_of_image|>', '<|end_of_image|>', '<|begin_of_video|>',
             '<|end_of_video|>']
    tokenizer = _tokenizer(smollm_dir, media + ['[gMASK]', '<sop>', '<|user|>', '<|assistant|>', '<|system|>'])
    ids = [tokenizer.convert_tokens_to_ids(t) for t in media]
    text = dict(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, head_dim=16,
                rope_parameters={'rope_type': 'default', 'rope_theta': 10000.0, 'mrope_section': [2, 3, 3],
                                 'partial_rotary_factor': 1.0}, **TEXT)
    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, image_size=56, patch_size=14,
                  out_hidden_size=64, spatial_merge_size=2, temporal_patch_size=2)
    config = Glm4vConfig(text_config=text, vision_config=vision, image_token_id=ids[0], video_token_id=ids[1],
                         image_start_token_id=ids[2], image_end_token_id=ids[3], video_start_token_id=ids[4],
                         video_end_token_id=ids[5])
    config.architectures = ['Glm4vForConditionalGeneration']
    torch.manual_seed(SEED)
    model = Glm4vForConditionalGeneration(config)
    image_processor = Glm4vImageProcessorPil(size={'shortest_edge': 28 * 28, 'longest_edge': 56 * 56})
    return _save(model, Glm4vImageProcessor(image_processor, tokenizer), out)


def build_idefics2(smollm_dir: Path, out: Path) -> Path:
    """Idefics2 (SigLIP-style tower + perceiver resampler + Mistral LM): images of 28 to 56 pixels in 14-pixel
    patches, resampled to 4 latents (4 `<image>` tokens between `<fake_token_around_image>`), no image splitting."""
    import torch
    from transformers import (Idefics2Config, Idefics2ForConditionalGeneration, Idefics2ImageProcessorPil,
                              Idefics2Processor)
    tokenizer = _tokenizer(smollm_dir, ['<fake_token_around_image>', '<image>', '<end_of_utterance>'])
    text = dict(model_type='mistral', vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **TEXT)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=28,
                  patch_size=14)
    perceiver = dict(hidden_size=64, resampler_n_latents=4, resampler_depth=1, resampler_n_heads=2,
                     resampler_head_dim=16, num_key_value_heads=1)
    config = Idefics2Config(vision_config=vision, perceiver_config=perceiver, text_config=text,
                            image_token_id=tokenizer.convert_tokens_to_ids('<image>'))
    config.architectures = ['Idefics2ForConditionalGeneration']
    torch.manual_seed(SEED)
    model = Idefics2ForConditionalGeneration(config)
    image_processor = Idefics2ImageProcessorPil(size={'shortest_edge': 28, 'longest_edge': 56},
                                                do_image_splitting=False)
    return _save(model, Idefics2Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=4), out)


def build_minicpmv4_6(smollm_dir: Path, out: Path, version: str = '4_6') -> Path:
    """MiniCPM-V 4.6 (SigLIP-style NaViT tower with a 2x2 window-attention merger after its first layer, a 2x2 MLP
    merger, Qwen3.5 LM with one linear-attention (Gated DeltaNet) and one full-attention layer): images resized to
    multiples of 56 pixels around a 112-pixel slice, cut into up to 2 slices; one `<|image_pad|>` per 4x4 patches.
    version '4_7': MiniCPM-V 4.7, the same with canvas M-RoPE (the markup tokens' ids in its config)."""
    import torch
    import transformers
    from transformers import MiniCPMV4_6ImageProcessorPil
    from swift.model.image_only_processor import PROCESSORS
    processor_class = PROCESSORS['minicpmv' + version]
    tokenizer = _named_tokenizer(smollm_dir, dict(processor_class.TOKENS))
    text = dict(model_type='qwen3_5_text', vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                head_dim=16, linear_key_head_dim=16, linear_value_head_dim=16, linear_num_key_heads=2,
                linear_num_value_heads=4, layer_types=['linear_attention', 'full_attention'], **TEXT)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=112,
                  patch_size=14)
    markup = {}
    if version == '4_7':
        markup = dict(image_start_id=tokenizer.image_start_token_id, image_end_id=tokenizer.image_end_token_id,
                      slice_start_id=tokenizer.slice_start_token_id, slice_end_id=tokenizer.slice_end_token_id,
                      newline_id=tokenizer.convert_tokens_to_ids('\u010a'))  # byte-level BPE's "\n"
    config = getattr(transformers, f'MiniCPMV{version}Config')(
        text_config=text, vision_config=vision, insert_layer_id=0, image_token_id=tokenizer.image_token_id,
        video_token_id=tokenizer.video_token_id, **markup)
    model_class = getattr(transformers, f'MiniCPMV{version}ForConditionalGeneration')
    config.architectures = [model_class.__name__]
    torch.manual_seed(SEED)
    model = model_class(config)
    image_processor = MiniCPMV4_6ImageProcessorPil(scale_resolution=112, max_slice_nums=2, patch_size=14)
    return _save(model, processor_class(image_processor, tokenizer), out)
