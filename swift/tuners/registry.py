"""The tuner registry: one Tuner per `--tuner_type`, each turning training arguments into a prepared model.

A built-in or plugin file registers a tuner once:

    def prepare_my_tuner(model, args):
        ...  # freeze, wrap or expand `model` using args.* (see TunerArguments)
        return model

    register_tuner(Tuner('my_tuner', prepare_my_tuner, description='what it trains'))

`--external_plugins my.py` (swift.utils.plugins.load_plugins) runs such a file before training.
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, List

from swift.utils import SwiftError, did_you_mean


@dataclass
class Tuner:
    name: str
    prepare: Callable[[Any, Any], Any]  # (model, args) -> the model to train
    description: str = ''


TUNER_REGISTRY: Dict[str, Tuner] = {}

# ms-swift tuner types this package does not implement yet: named so the error says so, not "unknown".
NOT_YET_SUPPORTED = {
    'longlora': 'LongLoRA (shifted sparse attention) is not supported yet; use lora with a longer max_length',
    'reft': 'ReFT (representation fine-tuning, needs pyreft) is not supported yet; use lora or ia3',
}


def register_tuner(tuner: Tuner, exist_ok: bool = False) -> Tuner:
    """Add a tuner type. With exist_ok=False a second registration of the same name is an error."""
    if tuner.name in TUNER_REGISTRY and not exist_ok:
        raise SwiftError(f'tuner_type {tuner.name!r} is already registered')
    TUNER_REGISTRY[tuner.name] = tuner
    return tuner


def _ensure_builtin_tuners() -> None:
    from . import full, llamapro, peft_tuners  # noqa: F401  (each registers its tuners on import)


def list_tuners() -> List[str]:
    _ensure_builtin_tuners()
    return sorted(TUNER_REGISTRY)


def get_tuner(name: str) -> Tuner:
    _ensure_builtin_tuners()
    if name in TUNER_REGISTRY:
        return TUNER_REGISTRY[name]
    if name in NOT_YET_SUPPORTED:
        raise SwiftError(f'--tuner_type {name}: {NOT_YET_SUPPORTED[name]}')
    raise SwiftError(f'unknown --tuner_type {name!r}; known: {", ".join(sorted(TUNER_REGISTRY))}.'
                     f'{did_you_mean(name, TUNER_REGISTRY)}')
