import pytest

from .adapters import trained_adapter


@pytest.fixture(scope='session')
def adapter_checkpoints(tmp_path_factory, tiny_model_dir):
    """kind → a real 2-step checkpoint of the tiny model ('lora', 'dora', 'rslora')."""
    return lambda kind: trained_adapter(tmp_path_factory, tiny_model_dir, kind)
