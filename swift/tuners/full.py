"""Full fine-tuning, optionally with parts of the model frozen (ms-swift's full + freeze_* flags).

    --tuner_type full                                   every parameter trains
    --tuner_type full --freeze_parameters_ratio 0.5     the bottom half (by parameter count) is frozen
    --tuner_type freeze --freeze_parameters model.embed_tokens --trainable_parameters model.layers.0.mlp

`freeze` is the same tuner with the requirement that something is actually frozen.
"""
from typing import Iterable, List

from swift.utils import SwiftError, did_you_mean, get_logger

from .multimodal import apply_part_freezing
from .registry import Tuner, register_tuner

logger = get_logger()


def reject_quantized(model, tuner_name: str) -> None:
    from .peft_tuners import is_quantized
    if is_quantized(model):
        raise SwiftError(f'--tuner_type {tuner_name} trains the base weights, which a quantised model cannot: '
                         f'use --tuner_type lora (QLoRA) or load the model without --quant_method')


def _params_with_prefixes(model, prefixes: Iterable[str], flag: str) -> List:
    """Parameters whose name starts with one of `prefixes` (tied aliases such as lm_head.weight included)."""
    named = list(model.named_parameters(remove_duplicate=False))
    selected = []
    for prefix in prefixes:
        matches = [p for n, p in named if n == prefix or n.startswith(prefix.rstrip('.') + '.')]
        if not matches:
            module_names = [n for n, _ in model.named_modules() if n]
            raise SwiftError(f'--{flag} {prefix!r} matches no parameter of the model.'
                             f'{did_you_mean(prefix, module_names + [n for n, _ in named])}')
        selected += matches
    return selected


def freeze_bottom_ratio(model, ratio: float) -> int:
    """Freeze parameters in registration order (embeddings first) until `ratio` of all weights is frozen.

    Returns the number of frozen weights. A parameter is frozen only if it fits entirely in the budget.
    """
    if not 0.0 <= ratio <= 1.0:
        raise SwiftError(f'--freeze_parameters_ratio must be between 0 and 1, not {ratio}')
    params = list(model.parameters())
    budget = int(sum(p.numel() for p in params) * ratio)
    frozen = 0
    for param in params:
        if frozen + param.numel() > budget:
            break
        param.requires_grad_(False)
        frozen += param.numel()
    return frozen


def apply_freezing(model, args) -> None:
    """freeze_parameters_ratio, then freeze_parameters, then trainable_parameters (which wins)."""
    ratio = getattr(args, 'freeze_parameters_ratio', 0.0) or 0.0
    if ratio:
        freeze_bottom_ratio(model, ratio)
    for param in _params_with_prefixes(model, getattr(args, 'freeze_parameters', None) or [], 'freeze_parameters'):
        param.requires_grad_(False)
    for param in _params_with_prefixes(model, getattr(args, 'trainable_parameters', None) or [],
                                       'trainable_parameters'):
        param.requires_grad_(True)


def prepare_full(model, args):
    reject_quantized(model, getattr(args, 'tuner_type', 'full'))
    model.requires_grad_(True)
    apply_part_freezing(model, args)  # multimodal parts first: --trainable_parameters may still revive some
    apply_freezing(model, args)
    if not any(p.requires_grad for p in model.parameters()):
        raise SwiftError('every parameter is frozen: lower --freeze_parameters_ratio or add --trainable_parameters')
    return model


def prepare_freeze(model, args):
    if not (getattr(args, 'freeze_parameters', None) or getattr(args, 'freeze_parameters_ratio', 0)):
        raise SwiftError('--tuner_type freeze needs --freeze_parameters PREFIX ... or --freeze_parameters_ratio R '
                         '(or use --tuner_type full to train everything)')
    return prepare_full(model, args)


register_tuner(Tuner('full', prepare_full, 'every parameter trains (minus --freeze_parameters*)'))
register_tuner(Tuner('freeze', prepare_freeze, 'full fine-tuning with --freeze_parameters / _ratio required'))
