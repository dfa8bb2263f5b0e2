"""`qwen2-vl-tiny`, `qwen2.5-vl-tiny`, `qwen3-vl-tiny`: tiny random models of the Qwen-VL architectures, built here.

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

`qwen2.5-vl-tiny` and `qwen3-vl-tiny` follow the same recipe in their own classes
(Qwen2_5_VLForConditionalGeneration: window attention in the tower, the last block full; Qwen3VLForConditionalGeneration:
16-pixel patches, a learned position embedding, a DeepStack merger, interleaved M-RoPE), each with its family's
official chat template (Qwen2.5-VL's is Qwen2-VL's text; Qwen3-VL's ships as package data,
swift/model/chat_templates/qwen3_vl.jinja).

    python -m swift.model.tiny_qwen_vl [qwen2_vl|qwen2_5_vl|qwen3_vl]    # build (or find) one, print its directory
"""
from pathlib import Path
from typing import Dict, NamedTuple

from swift.utils import atomic_dir

from .embedded import ensure_built, ensure_embedded_model, write_built_marker

QWEN2_VL_TINY_ID = 'swift/qwen2-vl-tiny'
QWEN2_5_VL_TINY_ID = 'swift/qwen2.5-vl-tiny'
QWEN3_VL_TINY_ID = 'swift/qwen3-vl-tiny'
SEED = 1234
BUILD_VERSION = 1  # bump when the recipe changes: the cache directory is rebuilt
MIN_PIXELS, MAX_PIXELS = 28 * 28, 56 * 56  # 1 to 4 image tokens (28 = patch 14 x merge 2)
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




class Family(NamedTuple):
    model_id: str
    architecture: str  # the transformers class
    patch_size: int
    chat_template: str  # the official one, verbatim (a file name under chat_templates/ when shipped as data)


FAMILIES: Dict[str, Family] = {
    'qwen2_vl': Family(QWEN2_VL_TINY_ID, 'Qwen2VLForConditionalGeneration', 14, QWEN2_VL_CHAT_TEMPLATE),
    # Qwen/Qwen2.5-VL-7B-Instruct's chat_template.json holds the same text as Qwen2-VL's
    'qwen2_5_vl': Family(QWEN2_5_VL_TINY_ID, 'Qwen2_5_VLForConditionalGeneration', 14, QWEN2_VL_CHAT_TEMPLATE),
    # Qwen/Qwen3-VL-2B-Instruct's chat template (Apache-2.0), shipped verbatim as package data
    'qwen3_vl': Family(QWEN3_VL_TINY_ID, 'Qwen3VLForConditionalGeneration', 16, 'qwen3_vl.jinja'),
}


def chat_template(family: str) -> str:
    template = FAMILIES[family].chat_template
    if template.endswith('.jinja'):
        return (Path(__file__).parent / 'chat_templates' / template).read_text(encoding='utf-8')
    return template


def _ensure(family: str) -> Path:
    return ensure_built(FAMILIES[family].model_id, BUILD_VERSION,
                        lambda target: build_qwen2_vl(ensure_embedded_model(), target, family=family),
                        f'a random {FAMILIES[family].architecture} (seed {SEED})')


def ensure_qwen2_vl_tiny() -> Path:
    """The built model directory; built on first use (a few seconds)."""
    return _ensure('qwen2_vl')


def ensure_qwen2_5_vl_tiny() -> Path:
    return _ensure('qwen2_5_vl')


def ensure_qwen3_vl_tiny() -> Path:
    return _ensure('qwen3_vl')


def build_qwen2_vl(tokenizer_dir: Path, target: Path, *, seed: int = SEED, hidden: int = 64, layers: int = 2,
                   vision_width: int = 64, vision_layers: int = 2, family: str = 'qwen2_vl') -> Path:
    """A Qwen-VL model directory of `family` (qwen2_vl, qwen2_5_vl, qwen3_vl) with random weights and the tokenizer
    of `tokenizer_dir`."""
    with atomic_dir(target) as tmp:
        _build(Path(tokenizer_dir), tmp, seed, hidden, layers, vision_width, vision_layers, family)
    return target


def _tokenizer(tokenizer_dir: Path, family: str):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    tokenizer.add_special_tokens({'additional_special_tokens': VISION_TOKENS})
    tokenizer.chat_template = chat_template(family)
    return tokenizer


def _image_processor(family: str):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    factor = (FAMILIES[family].patch_size * 2)**2  # pixels of one image token (merge 2 x 2)
    extra = {'image_mean': [0.5] * 3, 'image_std': [0.5] * 3} if family == 'qwen3_vl' else {}  # as released
    return Qwen2VLImageProcessorPil(patch_size=FAMILIES[family].patch_size, min_pixels=factor,
                                    max_pixels=4 * factor, **extra)


def _vision_config(family: str, hidden: int, width: int, layers: int) -> dict:
    common = dict(depth=layers, num_heads=4, patch_size=FAMILIES[family].patch_size, spatial_merge_size=2,
                  temporal_patch_size=2)
    if family == 'qwen2_vl':
        return dict(common, embed_dim=width, hidden_size=hidden, mlp_ratio=2)
    common.update(hidden_size=width, intermediate_size=2 * width, out_hidden_size=hidden)
    if family == 'qwen2_5_vl':  # windows of 2 x 2 merged tokens, the last block attends to the whole image
        return dict(common, window_size=2 * 2 * FAMILIES[family].patch_size, fullatt_block_indexes=[layers - 1])
    return dict(common, num_position_embeddings=64, deepstack_visual_indexes=[0])


def _config(tokenizer, hidden: int, layers: int, vision_width: int, vision_layers: int, family: str = 'qwen2_vl'):
    import transformers
    ids = {name: tokenizer.convert_tokens_to_ids(token) for name, token in (
        ('image_token_id', '<|image_pad|>'), ('video_token_id', '<|video_pad|>'),
        ('vision_start_token_id', '<|vision_start|>'), ('vision_end_token_id', '<|vision_end|>'))}
    heads = 4
    half = hidden // heads // 2  # rotary frequencies per head, split over (temporal, height, width)
    section = [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]
    rope = {'rope_type': 'default', 'rope_theta': 10000.0, 'mrope_section': section}
    text = dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=2,
                max_position_embeddings=4096, bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.convert_tokens_to_ids('<|im_end|>'), pad_token_id=tokenizer.pad_token_id,
                rope_parameters=rope)
    if family == 'qwen3_vl':
        text.update(head_dim=hidden // heads, rope_parameters=dict(rope, mrope_interleaved=True))
    config_cls = {'qwen2_vl': transformers.Qwen2VLConfig, 'qwen2_5_vl': transformers.Qwen2_5_VLConfig,
                  'qwen3_vl': transformers.Qwen3VLConfig}[family]
    config = config_cls(text_config=text, vision_config=_vision_config(family, hidden, vision_width, vision_layers),
                        tie_word_embeddings=True, **ids)
    config._name_or_path = FAMILIES[family].model_id
    config.architectures = [FAMILIES[family].architecture]
    return config


def _build(tokenizer_dir: Path, out: Path, seed: int, hidden: int, layers: int, vision_width: int,
           vision_layers: int, family: str) -> None:
    import torch
    import transformers
    from transformers import GenerationConfig
    tokenizer = _tokenizer(tokenizer_dir, family)
    torch.manual_seed(seed)
    model_cls = getattr(transformers, FAMILIES[family].architecture)
    model = model_cls(_config(tokenizer, hidden, layers, vision_width, vision_layers, family))
    stops = [tokenizer.convert_tokens_to_ids(t) for t in ('<|im_end|>', '<|endoftext|>')]
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                                               pad_token_id=tokenizer.pad_token_id,
                                               eos_token_id=[t for t in stops if t is not None])
    model.save_pretrained(str(out))
    _image_processor(family).save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    write_built_marker(out, FAMILIES[family].model_id, __doc__, family=family, seed=seed, hidden=hidden,
                       layers=layers, vision_width=vision_width, vision_layers=vision_layers,
                       build_version=BUILD_VERSION, tokenizer=str(tokenizer_dir))


if __name__ == '__main__':
    import sys
    print(_ensure(sys.argv[1] if len(sys.argv) > 1 else 'qwen2_vl'))
