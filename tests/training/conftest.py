"""Checkpoints trained once per session: a tiny reward model (PPO, GRPO and the scorer tests use it) and
qwen2-vl-tiny trained on colours of shapes (test_qwen_vl_sft.py proves it; test_qwen_vl_video_sft.py starts from it)."""
import pytest

from tests.helpers.build_once import build_once
from tests.training.rlhf.test_tiny_runs import PAIRS, run


@pytest.fixture(scope='session')
def reward_checkpoint(tiny_model_dir, tmp_path_factory):
    return build_once(tmp_path_factory, 'rm', lambda folder: run(tiny_model_dir, folder, 'rm', PAIRS).last_checkpoint)


@pytest.fixture(scope='session')
def qwen_vl_shapes(tmp_path_factory):
    """(folder, train.jsonl, val.jsonl, held-out rows): shapes of four colours, 128 px (tests/helpers/shapes.py)."""
    from tests.helpers.shapes import colour_sets
    return build_once(tmp_path_factory, 'qwen-shapes', lambda folder: colour_sets(folder, 128, 30, min_side=60))


@pytest.fixture(scope='session')
def qwen_vl_trained(qwen_vl_shapes, tmp_path_factory):
    """qwen2-vl-tiny after a full fine-tune on the shapes' colours (its last checkpoint)."""
    from swift.model.tiny_qwen_vl import ensure_qwen2_vl_tiny

    from tests.helpers.media_proof import full_fine_tune
    ensure_qwen2_vl_tiny()
    _, train, _, _ = qwen_vl_shapes
    # 96 steps at a constant 3e-3: 100% held-out in the run seen (64 steps with cosine decay stayed at chance, and
    # 1e-2 settled on one colour): the random LM needs the steps to learn the format before it looks at the image
    return build_once(tmp_path_factory, 'qwen-vl-run', lambda folder: full_fine_tune(
        'qwen2-vl-tiny', train, folder, 3e-3, 12, lr_scheduler_type='constant', warmup_ratio=0.0))
