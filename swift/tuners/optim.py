"""Optimizer parameter groups: weight decay split, and LoRA+ (https://arxiv.org/abs/2402.12354).

LoRA+ trains LoRA's B matrices with a learning rate `lr_ratio` times higher than everything else
(A matrices, DoRA magnitudes, modules_to_save): B starts at zero and benefits from larger steps.

    groups = lora_plus_param_groups(model, lr=1e-4, lr_ratio=16, weight_decay=0.1)
    optimizer = torch.optim.AdamW(groups, lr=1e-4)
"""
from typing import Dict, List, Optional

from swift.utils import SwiftError

_LORA_B_MARKERS = ('lora_B', 'lora_embedding_B')


def is_lora_b(name: str) -> bool:
    return any(f'.{marker}.' in f'.{name}.' for marker in _LORA_B_MARKERS)


def _decays(name: str, param) -> bool:
    # Biases and norm / magnitude vectors (1-D) are not decayed, as in most LLM training recipes.
    return param.ndim >= 2 and not name.endswith('.bias')


def lora_plus_param_groups(model, lr: float, lr_ratio: Optional[float] = None,
                           weight_decay: float = 0.0, part_lrs: Optional[Dict[str, float]] = None) -> List[Dict]:
    """Trainable parameters in groups: (learning rate) × (decayed or not); empty groups left out.

    With lr_ratio None or 1 this is a plain weight-decay split at one learning rate. part_lrs ({module prefix:
    lr}, multimodal --vit_lr / --aligner_lr; swift/tuners/multimodal.py) sets the base rate of those parts.
    """
    from .multimodal import part_of
    if lr_ratio is not None and lr_ratio <= 0:
        raise SwiftError(f'--lorap_lr_ratio must be positive, not {lr_ratio}')
    ratio = lr_ratio or 1.0
    buckets: Dict[tuple, List] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        base = part_of(name, part_lrs) if part_lrs else None
        lora_b = is_lora_b(name)
        rate = (lr if base is None else base) * (ratio if lora_b else 1.0)
        key = (lora_b, rate, _decays(name, param))
        buckets.setdefault(key, []).append(param)
    if lr_ratio and lr_ratio != 1.0 and not any(b for b, _, _ in buckets):
        raise SwiftError('--lorap_lr_ratio (LoRA+) needs LoRA B matrices to train: use it with --tuner_type lora')
    groups = []
    for (_, rate, decays), params in sorted(buckets.items(), key=lambda item: item[0]):
        groups.append({'params': params, 'lr': rate, 'weight_decay': weight_decay if decays else 0.0})
    return groups
