"""Built-in templates, one small file per family; importing this package registers them all."""
from . import chatml, cohere, deepseek, gemma, glm, granite, llama, mistral, others, phi, qwen, raw  # noqa: F401
from . import smolvlm  # noqa: F401
from . import llava, minicpmv, qwen_vl, vlm_others  # noqa: F401
from . import phi_vision  # noqa: F401
