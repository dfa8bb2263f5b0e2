"""One small file per model family; importing this package registers them all.

To add a family: write `swift/model/models/<family>.py` calling register_model(...), import it
below, and add a golden template test (docs/adding-a-model.md).
"""
from . import smollm  # noqa: F401
