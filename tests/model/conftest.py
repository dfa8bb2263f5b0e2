"""Fixtures for the model registry tests."""
import pytest

from swift.model import registry


@pytest.fixture
def isolated_registry(monkeypatch):
    """A copy of the registry for this test only: plugins registered here vanish afterwards."""
    registry.list_model_types()  # built-ins first, so they are part of the copy
    monkeypatch.setattr(registry, 'MODEL_REGISTRY', dict(registry.MODEL_REGISTRY))
    monkeypatch.setattr(registry, '_id_index', dict(registry._id_index))
    return registry
