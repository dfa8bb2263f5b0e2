"""A tiny reward model checkpoint, trained once per session: PPO, GRPO and the scorer tests use it."""
import pytest

from tests.training.rlhf.test_tiny_runs import PAIRS, run


@pytest.fixture(scope='session')
def reward_checkpoint(tiny_model_dir, tmp_path_factory):
    result = run(tiny_model_dir, tmp_path_factory.mktemp('rm'), 'rm', PAIRS)
    return result.last_checkpoint
