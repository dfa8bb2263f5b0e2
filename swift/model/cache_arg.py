"""The keyword a model's forward takes its KV cache under.

transformers renamed `past_key_values` to `cache` during 5.x (the old name warns and is removed in 5.40); our
range starts at 5.0, so the name is read from the model's own forward signature instead of assumed.
"""
import functools
import inspect
from typing import Any, Dict


@functools.lru_cache(maxsize=None)
def _cache_keyword(forward_owner: type) -> str:
    parameters = inspect.signature(forward_owner.forward).parameters
    return 'cache' if 'cache' in parameters else 'past_key_values'


def _innermost(model: Any) -> Any:
    """The transformers model under a PEFT wrapper (whose forward takes **kwargs and says nothing)."""
    get_base_model = getattr(model, 'get_base_model', None)
    return get_base_model() if callable(get_base_model) else model


def cache_kwargs(model: Any, cache: Any) -> Dict[str, Any]:
    """{'cache': cache} or {'past_key_values': cache}, whichever this model's transformers version takes."""
    return {_cache_keyword(type(_innermost(model))): cache}


def output_cache(output: Any) -> Any:
    """The KV cache a forward returned, under either name (a ModelOutput is a dict: `get` does not warn)."""
    cache = output.get('cache')
    return cache if cache is not None else output.get('past_key_values')
