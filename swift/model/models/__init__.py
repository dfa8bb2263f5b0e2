"""One small file per model family; importing this package registers them all.

To add a family: write `swift/model/models/<family>.py` calling register_model(...), import it
below, add a golden template test and regenerate docs/supported-models.md (docs/adding-a-model.md).

The import order matters in one place: a local directory whose config.json architecture is shared
by several types, and whose name matches no registered ID, resolves to the type registered first
(swift/model/resolve.py). So the general-purpose families come before those reusing their
architecture (Qwen before the Qwen-based R1 distills, Llama before SmolLM2, Yi and Falcon3).
"""
from .. import registry as _registry

_registered_before = set(_registry.MODEL_REGISTRY)

from . import qwen  # noqa: E402,F401
from . import llama  # noqa: E402,F401
from . import mistral  # noqa: E402,F401
from . import gemma  # noqa: E402,F401
from . import phi  # noqa: E402,F401
from . import deepseek  # noqa: E402,F401
from . import glm  # noqa: E402,F401
from . import internlm  # noqa: E402,F401
from . import yi  # noqa: E402,F401
from . import baichuan  # noqa: E402,F401
from . import smollm  # noqa: E402,F401
from . import falcon  # noqa: E402,F401
from . import granite  # noqa: E402,F401
from . import olmo  # noqa: E402,F401
from . import minicpm  # noqa: E402,F401
from . import cohere  # noqa: E402,F401
from . import smolvlm  # noqa: E402,F401
from . import qwen_vl  # noqa: E402,F401
from . import llava  # noqa: E402,F401
from . import vlm_others  # noqa: E402,F401
from . import minicpmv  # noqa: E402,F401
from . import phi_vision  # noqa: E402,F401

# The types these files registered (plugins may add more later): what docs/supported-models.md lists.
BUILTIN_MODEL_TYPES = tuple(t for t in _registry.MODEL_REGISTRY if t not in _registered_before)
