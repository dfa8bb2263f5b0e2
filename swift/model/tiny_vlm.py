"""`smolvlm-tiny`: a vision-language model of SmolVLM's architecture, built on this machine.

No VLM weights can be downloaded here, so one is assembled once into swift's cache from what we have:

    language model   the embedded SmolLM2-135M-Instruct (swift/model/embedded.py), its vocabulary extended by
                     the Idefics3 image tokens (new rows initialised to the mean embedding)
    vision tower     a small SigLIP-style transformer (Idefics3VisionTransformer), randomly initialised
                     from a fixed seed: 128-pixel images, 16-pixel patches, 2 layers of width 128
    connector        Idefics3's pixel shuffle (scale factor 4, as in SmolVLM) + a linear projection
    processor        Idefics3Processor: Idefics3 image processor (no tiling, longest edge 128), the SmolLM2
                     tokenizer with the image tokens, and SmolVLM's official chat template

The result is a standard directory that plain transformers loads (AutoModelForImageTextToText,
AutoProcessor); `smolvlm-tiny` is its registry alias. The vision tower knows nothing until trained:
the model's use is to prove the multimodal pipeline (data → template → training → inference) on a CPU.

    python -m swift.model.tiny_vlm          # build (or find) it and print the directory
"""
from pathlib import Path

from swift.utils import atomic_dir

from .embedded import ensure_built, ensure_embedded_model, write_built_marker
from .registry import lookup_model
from .tiny_audio import QWEN2_AUDIO_TINY_ID, ensure_qwen2_audio_tiny
from .tiny_qwen_vl import (QWEN2_5_VL_TINY_ID, QWEN2_VL_TINY_ID, QWEN3_VL_TINY_ID, ensure_qwen2_5_vl_tiny,
                           ensure_qwen2_vl_tiny, ensure_qwen3_vl_tiny)

SMOLVLM_TINY_ID = 'swift/smolvlm-tiny'
SEED = 1234
BUILD_VERSION = 2  # bump when the recipe changes: the cache directory is rebuilt (2: seeded before the resize)
IMAGE_SIZE = 128
PATCH_SIZE = 16
SCALE_FACTOR = 4
# SmolVLM's chat template, verbatim (HuggingFaceTB/SmolVLM-Instruct chat_template.json; Apache-2.0).
SMOLVLM_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] "
    "== 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == "
    "'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")
IMAGE_TOKENS = ['<fake_token_around_image>', '<image>', '<end_of_utterance>', '<global-img>'] + [
    f'<row_{i + 1}_col_{j + 1}>' for i in range(6) for j in range(6)]


def ensure_smolvlm_tiny() -> Path:
    """The built model directory; built on first use (about half a minute)."""
    return ensure_built(SMOLVLM_TINY_ID, BUILD_VERSION, lambda target: build_idefics3(ensure_embedded_model(), target),
                        f'SmolLM2-135M-Instruct + a random SigLIP-style vision tower (seed {SEED})')


def build_idefics3(llm_dir: Path, target: Path, *, seed: int = SEED, image_size: int = IMAGE_SIZE,
                   patch_size: int = PATCH_SIZE, scale_factor: int = SCALE_FACTOR, vision_hidden: int = 128,
                   vision_layers: int = 2) -> Path:
    """An Idefics3 model directory from a Llama-architecture language model directory (smolvlm-tiny's recipe;
    tests build smaller ones from a tiny random LM)."""
    vision = dict(hidden_size=vision_hidden, intermediate_size=2 * vision_hidden, num_hidden_layers=vision_layers,
                  num_attention_heads=4, image_size=image_size, patch_size=patch_size)
    with atomic_dir(target) as tmp:
        _build(Path(llm_dir), tmp, seed, vision, scale_factor)
    return target


def build_tiny_llama(tokenizer_dir: Path, target: Path, *, seed: int = 0, hidden: int = 64, layers: int = 2) -> Path:
    """A tiny random Llama (hidden 64, 2 layers) with the tokenizer of `tokenizer_dir` (the embedded SmolLM2's in the
    tests): the language model of the tests' tiny SmolVLM (build_idefics3 on it) and their fast text model."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=2048, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=True)
    config.architectures = ['LlamaForCausalLM']
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    with atomic_dir(target) as tmp:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
    return Path(target)


def _tokenizer(llm_dir: Path):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(llm_dir))
    tokenizer.add_special_tokens({'additional_special_tokens': IMAGE_TOKENS})
    return tokenizer


def _processor(tokenizer, image_size: int, image_seq_len: int):
    from transformers import Idefics3ImageProcessorPil, Idefics3Processor
    image_processor = Idefics3ImageProcessorPil(
        do_resize=True, size={'longest_edge': image_size}, max_image_size={'longest_edge': image_size},
        do_image_splitting=False, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    return Idefics3Processor(image_processor, tokenizer, image_seq_len=image_seq_len,
                             chat_template=SMOLVLM_CHAT_TEMPLATE)


def _config(llm_dir: Path, tokenizer, vision: dict, scale_factor: int):
    from transformers import AutoConfig, Idefics3Config, Idefics3VisionConfig
    text_config = AutoConfig.from_pretrained(str(llm_dir))
    text_config.vocab_size = len(tokenizer)
    text_config.pad_token_id = tokenizer.pad_token_id
    vision_config = Idefics3VisionConfig(**vision)
    config = Idefics3Config(vision_config=vision_config.to_dict(), text_config=text_config.to_dict(),
                            scale_factor=scale_factor, image_token_id=tokenizer.convert_tokens_to_ids('<image>'),
                            tie_word_embeddings=text_config.tie_word_embeddings)
    config._name_or_path = SMOLVLM_TINY_ID
    config.architectures = ['Idefics3ForConditionalGeneration']
    return config


def _build(llm_dir: Path, out: Path, seed: int, vision: dict, scale_factor: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, Idefics3ForConditionalGeneration
    tokenizer = _tokenizer(llm_dir)
    llm = AutoModelForCausalLM.from_pretrained(str(llm_dir), dtype=torch.float32)
    # seeded before the resize too: mean_resizing draws the image tokens' embeddings from the global generator, and
    # a model built after other work in the same process (another test, a training run) must be the same model
    torch.manual_seed(seed)
    llm.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    config = _config(llm_dir, tokenizer, vision, scale_factor)
    image_seq_len = (vision['image_size'] // vision['patch_size'])**2 // scale_factor**2
    model = Idefics3ForConditionalGeneration(config)
    model.model.text_model.load_state_dict(llm.model.state_dict(), strict=True)
    model.lm_head.weight.data.copy_(llm.lm_head.weight.data)
    end_of_utterance = tokenizer.convert_tokens_to_ids('<end_of_utterance>')
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=[end_of_utterance, tokenizer.eos_token_id])
    model.save_pretrained(str(out))
    _processor(tokenizer, vision['image_size'], image_seq_len).save_pretrained(str(out))
    write_built_marker(out, SMOLVLM_TINY_ID, __doc__, seed=seed, vision=vision, build_version=BUILD_VERSION,
                       language_model=str(llm_dir))


# registered model ID → the function that builds it into the cache and returns its directory
BUILDERS = {SMOLVLM_TINY_ID: ensure_smolvlm_tiny, QWEN2_AUDIO_TINY_ID: ensure_qwen2_audio_tiny,
            QWEN2_VL_TINY_ID: ensure_qwen2_vl_tiny, QWEN2_5_VL_TINY_ID: ensure_qwen2_5_vl_tiny,
            QWEN3_VL_TINY_ID: ensure_qwen3_vl_tiny}


def built_model_dir(model_id: str):
    """The directory of a model swift builds locally (smolvlm-tiny, qwen2-audio-tiny, qwen*-vl-tiny), building it on
    first use; None for others."""
    found = lookup_model(model_id)
    entry = found[1] if found else None
    for registered_id in (entry.ids if entry else []):
        if registered_id in BUILDERS:
            return BUILDERS[registered_id]()
    return None


if __name__ == '__main__':
    print(ensure_smolvlm_tiny())
