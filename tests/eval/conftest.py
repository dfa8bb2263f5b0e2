"""Models for the evaluation tests: the real embedded model where scores matter, a tiny one elsewhere."""
import pytest


@pytest.fixture(scope='session')
def embedded_lm(smollm_dir):
    from swift.eval.local_lm import LocalLM
    lm = LocalLM.load(str(smollm_dir), batch_size=4, torch_dtype='float32')
    yield lm
    lm.close()


@pytest.fixture(scope='session')
def tiny_lm(tiny_model_dir):
    from swift.eval.local_lm import LocalLM
    lm = LocalLM.load(str(tiny_model_dir), batch_size=2, torch_dtype='float32')
    yield lm
    lm.close()
