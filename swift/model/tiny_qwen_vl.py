"""`qwen2-vl-tiny`: a tiny random model of Qwen2-VL's architecture, built on this machine.

No Qwen-VL weights can be downloaded here, so one is assembled once into swift's cache, from a fixed seed:

    vision tower     Qwen2-VL's ViT (3-D patch embedding: 14-pixel patches, temporal patch 2), 2 blocks of width
                     64, 2-D rotary positions over the patch grid
    aligner          Qwen2-VL's patch merger (2 x 2 patches -> one token)
    language model   a random Qwen2-VL decoder, 2 layers of width 64, multimodal rotary positions (M-RoPE,
                     mrope_section [2, 3, 3]: temporal, height, width parts of each head's 16 dimensions)
    processor        Qwen2-VL's image processor (PIL backend, 28x28 to 56x56 pixels: 1 to 4 image tokens;
                     MAX_PIXELS raises the bound),
                     the embedded SmolLM2 tokenizer (it has ChatML's <|im_start|>/<|im_end|>) with Qwen2-VL's
                     vision tokens added, and Qwen2-VL-Instruct's chat template

A standard directory that plain transformers loads (Qwen2VLForConditionalGeneration; the image processor with
Qwen2VLImageProcessorPil, the tokenizer with AutoTokenizer; AutoProcessor needs torchvision, not tried here).
`qwen2-vl-tiny` is its registry alias. It knows nothing until trained: it proves the Qwen-VL path (PIL image
processor -> <|image_pad|> expansion -> M-RoPE in training and in the engine's prefill and decode) on a CPU.

    python -m swift.model.tiny_qwen_vl          # build (or find) it and print the directory
"""
import json
from pathlib import Path

from swift.utils import atomic_dir, cache_dir, get_logger

from .embedded import BUILT_MARKER, ensure_embedded_model

logger = get_logger()

QWEN2_VL_TINY_ID = 'swift/qwen2-vl-tiny'
SEED = 1234
BUILD_VERSION = 1  # bump when the recipe changes: the cache directory is rebuilt
MIN_PIXELS, MAX_PIXELS = 28 * 28, 56 * 56
VISION_TOKENS = ['<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>',
                 '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>', '<|box_end|>']
# Qwen2-VL-7B-Instruct's chat template, verbatim (Qwen/Qwen2-VL-7B-Instruct chat_template.json; Apache-2.0)
QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages "
    "%}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>"
    "\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in "
    "content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] "
    "== 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content "
    "%}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "<|im_start|>assistant\n{% endif %}")


def qwen2_vl_tiny_dir() -> Path:
    return cache_dir() / 'built' / f'qwen2-vl-tiny-v{BUILD_VERSION}'


def ensure_qwen2_vl_tiny() -> Path:
    """The built model directory; built on first use (a few seconds)."""
    target = qwen2_vl_tiny_dir()
    if (target / BUILT_MARKER).is_file():
        return target
    logger.info(f'Building {QWEN2_VL_TINY_ID} in {target} (once): a random Qwen2-VL (seed {SEED})')
    return build_qwen2_vl(ensure_embedded_model(), target)


def build_qwen2_vl(tokenizer_dir: Path, target: Path, *, seed: int = SEED, hidden: int = 64, layers: int = 2,
                   vision_width: int = 64, vision_layers: int = 2) -> Path:
    """A Qwen2-VL model directory with random weights and the tokenizer of `tokenizer_dir`."""
    with atomic_dir(target) as tmp:
        _build(Path(tokenizer_dir), tmp, seed, hidden, layers, vision_width, vision_layers)
    return target


def _tokenizer(tokenizer_dir: Path):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    tokenizer.add_special_tokens({'additional_special_tokens': VISION_TOKENS})
    tokenizer.chat_template = QWEN2_VL_CHAT_TEMPLATE
    return tokenizer


def _image_processor():
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    return Qwen2VLImageProcessorPil(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)


def _config(tokenizer, hidden: int, layers: int, vision_width: int, vision_layers: int):
    from transformers import Qwen2VLConfig
    ids = {name: tokenizer.convert_tokens_to_ids(token) for name, token in (
        ('image_token_id', '<|image_pad|>'), ('video_token_id', '<|video_pad|>'),
        ('vision_start_token_id', '<|vision_start|>'), ('vision_end_token_id', '<|vision_end|>'))}
    heads = 4
    half = hidden // heads // 2  # rotary frequencies per head, split over (temporal, height, width)
    section = [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]
    text = dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=2,
                max_position_embeddings=4096, bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.convert_tokens_to_ids('<|im_end|>'), pad_token_id=tokenizer.pad_token_id,
                rope_parameters={'rope_type': 'default', 'rope_theta': 10000.0, 'mrope_section': section})
    vision = dict(depth=vision_layers, embed_dim=vision_width, hidden_size=hidden, num_heads=4, mlp_ratio=2,
                  patch_size=14, spatial_merge_size=2, temporal_patch_size=2)
    config = Qwen2VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **ids)
    config._name_or_path = QWEN2_VL_TINY_ID
    config.architectures = ['Qwen2VLForConditionalGeneration']
    return config


def _build(tokenizer_dir: Path, out: Path, seed: int, hidden: int, layers: int, vision_width: int,
           vision_layers: int) -> None:
    import torch
    from transformers import GenerationConfig, Qwen2VLForConditionalGeneration
    tokenizer = _tokenizer(tokenizer_dir)
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(_config(tokenizer, hidden, layers, vision_width, vision_layers))
    stops = [tokenizer.convert_tokens_to_ids(t) for t in ('<|im_end|>', '<|endoftext|>')]
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                                               pad_token_id=tokenizer.pad_token_id,
                                               eos_token_id=[t for t in stops if t is not None])
    model.save_pretrained(str(out))
    _image_processor().save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    (out / BUILT_MARKER).write_text(json.dumps({
        'model_id': QWEN2_VL_TINY_ID,
        'recipe': __doc__.split('\n\n')[1],
        'seed': seed,
        'hidden': hidden,
        'layers': layers,
        'vision_width': vision_width,
        'vision_layers': vision_layers,
        'build_version': BUILD_VERSION,
        'tokenizer': str(tokenizer_dir),
    }, indent=2))


if __name__ == '__main__':
    print(ensure_qwen2_vl_tiny())
