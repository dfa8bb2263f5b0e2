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
    from swift.model.tiny_vlm import build_tiny_llama
    return build_tiny_llama(smollm_dir, tmp_path_factory.mktemp('tiny-smollm'))


@pytest.fixture(scope='session')
def tiny_vlm_dir(tmp_path_factory, tiny_model_dir) -> Path:
    """A tiny Idefics3 (SmolVLM architecture) on the tiny random Llama: 32-pixel images, 4 image tokens each."""
    from swift.model.tiny_vlm import build_idefics3
    return build_idefics3(tiny_model_dir, tmp_path_factory.mktemp('tiny-vlm') / 'model', image_size=32, patch_size=8,
                          scale_factor=2, vision_hidden=64)
