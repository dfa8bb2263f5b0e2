"""Which modules an adapter wraps: `--target_modules` / `--target_regex` → PEFT's `target_modules`.

Special names (ms-swift's):
- all-linear: every linear layer except the output head (PEFT's own 'all-linear' shorthand);
- all-embedding: the embedding layers.
For a multimodal model (its registry entry says so) the special names cover only the language
model's modules (ModelArch.language_model prefixes), and the vision tower's with --freeze_vit false
(swift/tuners/multimodal.py); never the aligner (trained in full with --freeze_aligner false).
"""
import re
from typing import Any, Iterable, List, Optional, Union

from swift.model.hqq_format import has_hqq_layers
from swift.model.registry import get_model_meta
from swift.utils import SwiftError

ALL_LINEAR = 'all-linear'
ALL_EMBEDDING = 'all-embedding'
SPECIAL = (ALL_LINEAR, ALL_EMBEDDING)


def model_meta_of(model) -> Optional[Any]:
    """The registry ModelMeta of a model loaded by swift.model.loader (it carries `.model_info`), else None."""
    info = getattr(model, 'model_info', None)
    model_type = getattr(info, 'model_type', None)
    if not model_type:
        return None
    try:
        return get_model_meta(model_type)
    except SwiftError:
        return None


def _output_head(model):
    get_head = getattr(model, 'get_output_embeddings', None)
    return get_head() if callable(get_head) else None


def _is_linear(module) -> bool:
    import torch.nn as nn
    # transformers' Conv1D (GPT-2 style) is a linear layer with transposed weights; hqq's HQQLinear (--quant_method
    # hqq) is a Linear layer's replacement that is no nn.Linear.
    return isinstance(module, nn.Linear) or type(module).__name__ in ('Conv1D', 'HQQLinear')


def _is_embedding(module) -> bool:
    import torch.nn as nn
    return isinstance(module, nn.Embedding)


def _module_names(model, predicate, prefixes: Iterable[str] = ()) -> List[str]:
    """Full names of the modules matching `predicate` (under `prefixes` when given), the output head excluded."""
    head = _output_head(model)
    prefixes = tuple(prefixes)
    names = []
    for name, module in model.named_modules():
        if module is head or not predicate(module):
            continue
        if prefixes and not any(name == p or name.startswith(p + '.') for p in prefixes):
            continue
        names.append(name)
    return names




def resolve_target_modules(model, args, model_meta=None, expand: bool = False) -> Union[str, List[str]]:
    """PEFT's target_modules for these arguments: a regex string, 'all-linear', or a list of names.

    expand=True never returns PEFT's 'all-linear' shorthand but the module names it stands for.
    """
    if getattr(args, 'target_regex', None):
        try:
            re.compile(args.target_regex)
        except re.error as e:
            raise SwiftError(f'--target_regex {args.target_regex!r} is not a valid regex: {e}') from None
        return args.target_regex
    targets = list(getattr(args, 'target_modules', None) or [ALL_LINEAR])
    from .multimodal import lora_prefixes  # multimodal.py imports model_meta_of from here
    prefixes = lora_prefixes(model_meta if model_meta is not None else model_meta_of(model), args)
    if targets == [ALL_LINEAR] and not prefixes and not expand and not has_hqq_layers(model):
        return ALL_LINEAR  # PEFT's shorthand (it knows nn.Linear and Conv1D, not HQQLinear)
    if not any(t in SPECIAL for t in targets):
        return targets

    full_names = []
    for target in targets:
        if target == ALL_LINEAR:
            full_names += _module_names(model, _is_linear, prefixes)
        elif target == ALL_EMBEDDING:
            full_names += _module_names(model, _is_embedding, prefixes)
    if not full_names:
        where = f' under {", ".join(prefixes)}' if prefixes else ''
        raise SwiftError(f'--target_modules {" ".join(targets)}: the model has no such modules{where}')
    leaf_names = sorted({n.rsplit('.', 1)[-1] for n in full_names})
    plain = [t for t in targets if t not in SPECIAL]
    if not prefixes:
        return sorted(set(leaf_names + plain))
    # Multimodal: the same leaf name (q_proj, ...) may exist in the vision tower, so anchor on the prefix;
    # names the user wrote out match anywhere, as PEFT's own name matching does.
    prefix_alt = '|'.join(re.escape(p) for p in prefixes)
    leaf_alt = '|'.join(re.escape(n) for n in leaf_names)
    regex = rf'^(?:{prefix_alt})(?:\..+)?\.(?:{leaf_alt})$'
    if plain:
        regex += '|' + rf'^(?:.+\.)?(?:{"|".join(re.escape(n) for n in plain)})$'
    return regex
