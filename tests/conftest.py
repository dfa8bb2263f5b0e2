"""Shared fixtures: paths to ../shared, the embedded real model, a tiny random model."""
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / '..' / 'shared').resolve()
sys.path.insert(0, str(REPO))
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')


@pytest.fixture(scope='session')
def shared_data() -> Path:
    path = SHARED / 'data'
    assert path.is_dir(), f'{path} is missing: tests read the shared datasets beside the checkout'
    return path


@pytest.fixture(scope='session')
def smollm_dir() -> Path:
    """The real embedded SmolLM2-135M-Instruct as a local model directory (converted once)."""
    from swift.model.embedded import ensure_embedded_model
    return ensure_embedded_model()


@pytest.fixture(scope='session')
def smollm_tokenizer(smollm_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(str(smollm_dir))


@pytest.fixture(scope='session')
def tiny_model_dir(tmp_path_factory, smollm_dir) -> Path:
    """A tiny random Llama (2 layers, hidden 64) with the SmolLM2 tokenizer: fast unit tests."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    path = tmp_path_factory.mktemp('tiny-smollm')
    tokenizer = AutoTokenizer.from_pretrained(str(smollm_dir))
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    config.architectures = ['LlamaForCausalLM']
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture(scope='session')
def tiny_vlm_dir(tmp_path_factory, tiny_model_dir) -> Path:
    """A tiny Idefics3 (SmolVLM architecture) on the tiny random Llama: 32-pixel images, 4 image tokens each."""
    from swift.model.tiny_vlm import build_idefics3
    return build_idefics3(tiny_model_dir, tmp_path_factory.mktemp('tiny-vlm') / 'model', image_size=32, patch_size=8,
                          scale_factor=2, vision_hidden=64)
