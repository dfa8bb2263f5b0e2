"""The parts of a multimodal model in training: `--freeze_llm / --freeze_vit / --freeze_aligner`, `--vit_lr`,
`--aligner_lr`, all by the registry's ModelArch prefixes (language_model, vision_tower, aligner).

    full / freeze tuners   a frozen part's parameters get requires_grad False (after the other freeze flags)
    LoRA and friends       adapters go on the linear layers of the language model (unless --freeze_llm) and of
                           the vision tower (when --freeze_vit false); the aligner, when --freeze_aligner false,
                           is trained in full and saved beside the adapter (PEFT modules_to_save)
    learning rates         --vit_lr / --aligner_lr give those parts their own optimizer group

ms-swift's defaults: the vision tower and the aligner frozen, the language model trained.
"""
from typing import Dict, List, Optional

from swift.utils import SwiftError

from .target_modules import model_meta_of


def multimodal_arch(model):
    """The ModelArch of a multimodal model loaded by swift, else None."""
    meta = model_meta_of(model)
    return meta.model_arch if meta is not None and getattr(meta, 'is_multimodal', False) else None


def _flag(args, name: str, default):
    return getattr(args, name, default)


def lora_prefixes(model_meta, args) -> List[str]:
    """Module prefixes whose linear layers get adapters; [] for a text model (every linear layer)."""
    if model_meta is None or not getattr(model_meta, 'is_multimodal', False):
        return []
    arch = model_meta.model_arch
    prefixes = [] if _flag(args, 'freeze_llm', False) else list(arch.language_model)
    if not _flag(args, 'freeze_vit', True):
        prefixes += list(arch.vision_tower)
    if not prefixes:
        raise SwiftError('--freeze_llm true and --freeze_vit true leave no linear layer for the adapter: train the '
                         'aligner alone with --tuner_type full --freeze_llm true --freeze_aligner false')
    return prefixes


def adapter_modules_to_save(model, args) -> List[str]:
    """The aligner's prefixes when it trains in full beside an adapter (--freeze_aligner false)."""
    arch = multimodal_arch(model)
    if arch is None or _flag(args, 'freeze_aligner', True):
        return []
    return list(arch.aligner)


def _frozen_prefixes(arch, args) -> List[str]:
    frozen = []
    for flag, prefixes, default in (('freeze_llm', arch.language_model + arch.lm_head, False),
                                    ('freeze_vit', arch.vision_tower, True),
                                    ('freeze_aligner', arch.aligner, True)):
        if _flag(args, flag, default):
            frozen += prefixes
    return frozen


def apply_part_freezing(model, args) -> None:
    """Full training: the frozen parts stop training."""
    arch = multimodal_arch(model)
    if arch is None:
        return
    prefixes = tuple(_frozen_prefixes(arch, args))
    for name, param in model.named_parameters():
        if any(name == p or name.startswith(p + '.') for p in prefixes):
            param.requires_grad_(False)


def _strip_peft(name: str) -> str:
    return name[len('base_model.model.'):] if name.startswith('base_model.model.') else name


def part_learning_rates(model, args) -> Dict[str, float]:
    """{module prefix: learning rate} for --vit_lr / --aligner_lr ({} when neither is set)."""
    vit_lr, aligner_lr = _flag(args, 'vit_lr', None), _flag(args, 'aligner_lr', None)
    if vit_lr is None and aligner_lr is None:
        return {}
    arch = multimodal_arch(model)
    if arch is None:
        raise SwiftError('--vit_lr / --aligner_lr apply to multimodal models (a vision tower and an aligner); '
                         'this model has none')
    rates = {}
    for prefixes, rate in ((arch.vision_tower, vit_lr), (arch.aligner, aligner_lr)):
        if rate is not None:
            rates.update({p: rate for p in prefixes})
    return rates


def part_of(name: str, rates: Dict[str, float]) -> Optional[float]:
    """The learning rate a parameter's part sets, None for the rest (PEFT's wrapper names are seen through)."""
    plain = _strip_peft(name)
    for prefix, rate in rates.items():
        if plain == prefix or plain.startswith(prefix + '.'):
            return rate
    return None
