"""LLaMA-Pro block expansion (https://arxiv.org/abs/2401.02415), on the Hugging Face model itself.

The decoder layers are split into `llamapro_num_groups` groups; after the last layer of each group,
copies of that layer are inserted (`llamapro_num_new_blocks` in all). In each copy the output
projections of attention and MLP (o_proj, down_proj, ...) are zeroed, so with pre-norm residual
blocks a copy adds exactly zero: the expanded model computes what the original did. Only the
copies train.

The result is an ordinary transformers model with a larger num_hidden_layers: it saves and
loads with save_pretrained / from_pretrained (no PEFT involved).
"""
import copy
from typing import List, Tuple

from swift.utils import SwiftError, get_logger

from .full import reject_quantized
from .registry import Tuner, register_tuner

logger = get_logger()

# Names of the layers that write a block's attention and MLP results into the residual stream.
OUTPUT_PROJECTIONS = ('o_proj', 'down_proj', 'out_proj', 'dense_4h_to_h', 'c_proj', 'w2', 'wo')
# Config lists with one entry per decoder layer; they grow with the layers.
PER_LAYER_CONFIG_LISTS = ('layer_types', 'no_rope_layers')


def _text_config(model):
    config = model.config
    return config.get_text_config() if hasattr(config, 'get_text_config') else config


def find_decoder_layers(model) -> Tuple[object, str, object]:
    """(parent module, attribute name, ModuleList) of the decoder layers: the list as long as num_hidden_layers."""
    import torch.nn as nn
    num_layers = getattr(_text_config(model), 'num_hidden_layers', None)
    candidates = [(name, module) for name, module in model.named_modules()
                  if isinstance(module, nn.ModuleList) and len(module) == num_layers]
    if not num_layers or not candidates:
        raise SwiftError('--tuner_type llamapro: cannot find the decoder layers (an nn.ModuleList as long as '
                         'config.num_hidden_layers) in this model')
    # Prefer the conventional name (model.layers, language_model.layers) over other equal-length lists.
    name, layers = next(((n, m) for n, m in candidates if n.split('.')[-1] == 'layers'), candidates[0])
    parent_name, _, attr = name.rpartition('.')
    return model.get_submodule(parent_name), attr, layers


def _zero_output_projections(block) -> int:
    zeroed = 0
    for name, module in block.named_modules():
        if name.split('.')[-1] in OUTPUT_PROJECTIONS and hasattr(module, 'weight'):
            module.weight.data.zero_()
            if getattr(module, 'bias', None) is not None:
                module.bias.data.zero_()
            zeroed += 1
    if not zeroed:
        raise SwiftError(f'--tuner_type llamapro: no output projection ({", ".join(OUTPUT_PROJECTIONS)}) found '
                         f'in a decoder layer of type {type(block).__name__}')
    return zeroed


def _set_layer_index(block, index: int) -> None:
    """Attention modules index the KV cache by layer_idx: a copied block needs its own slot."""
    for module in block.modules():
        if isinstance(getattr(module, 'layer_idx', None), int):
            module.layer_idx = index


def expansion_plan(num_layers: int, num_new_blocks: int, num_groups: int) -> List[int]:
    """For each layer of the expanded model, the index of the original layer it is (a copy of).

    Groups are `num_layers // num_groups` layers long (as in ms-swift, a remainder of layers at the
    top gets no copy); the new blocks are shared out over the groups, earlier groups first.
    """
    if num_new_blocks <= 0:
        raise SwiftError(f'--llamapro_num_new_blocks must be positive, not {num_new_blocks}')
    if not 0 < num_groups <= min(num_layers, num_new_blocks):
        raise SwiftError(f'--llamapro_num_groups must be between 1 and the smaller of the layer count '
                         f'({num_layers}) and --llamapro_num_new_blocks ({num_new_blocks}), not {num_groups}')
    stride = num_layers // num_groups
    copies = [num_new_blocks // num_groups + (group < num_new_blocks % num_groups) for group in range(num_groups)]
    plan = []
    for index in range(num_layers):
        plan.append(index)
        group, last_in_group = divmod(index + 1, stride)
        if last_in_group == 0 and group <= num_groups:
            plan += [index] * copies[group - 1]
    return plan


def expand_blocks(model, num_new_blocks: int, num_groups: int) -> List[int]:
    """Insert zero-output copies of decoder layers in place; returns the new blocks' positions."""
    import torch.nn as nn
    parent, attr, layers = find_decoder_layers(model)
    plan = expansion_plan(len(layers), num_new_blocks, num_groups)
    expanded, new_positions, seen = [], [], set()
    for position, source in enumerate(plan):
        if source in seen:
            block = copy.deepcopy(layers[source])
            _zero_output_projections(block)
            new_positions.append(position)
        else:
            block = layers[source]
            seen.add(source)
        _set_layer_index(block, position)
        expanded.append(block)
    setattr(parent, attr, nn.ModuleList(expanded))

    config = _text_config(model)
    for name in PER_LAYER_CONFIG_LISTS:
        values = getattr(config, name, None)
        if isinstance(values, list) and len(values) == len(layers):
            setattr(config, name, [values[source] for source in plan])
    config.num_hidden_layers = len(expanded)
    return new_positions


def prepare_llamapro(model, args):
    reject_quantized(model, 'llamapro')
    num_new_blocks = args.llamapro_num_new_blocks
    num_groups = args.llamapro_num_groups or num_new_blocks
    old_count = _text_config(model).num_hidden_layers
    new_positions = expand_blocks(model, num_new_blocks, num_groups)
    model.requires_grad_(False)
    _, _, layers = find_decoder_layers(model)
    for position in new_positions:
        layers[position].requires_grad_(True)
    logger.info(f'llamapro: {old_count} → {len(layers)} decoder layers; training the new ones at {new_positions}')
    return model


register_tuner(Tuner('llamapro', prepare_llamapro, 'LLaMA-Pro: add zero-initialised decoder blocks, train only them'))
