"""Resuming a checkpoint written at another world size / layout: FSDP2 (2 processes) ↔ one process.

The transformers Trainer resumes a checkpoint only in the layout it was written in: an FSDP checkpoint
(`pytorch_model_fsdp.bin` / `pytorch_model_fsdp_0/`, `optimizer.bin` / `optimizer_0/`) only under FSDP, a plain one
(`model.safetensors`, `optimizer.pt`) only without it ("Checkpoint found ... is only supported when using PyTorch
FSDP", or a missing `pytorch_model_fsdp.bin`). The states are the same tensors in both layouts, so swift translates
with torch.distributed.checkpoint's own tools (no file format of its own):

- FSDP, full state dict (the named strategies) → one process: the model from `model.safetensors`, the optimizer from
  `optimizer.bin` (a full, FQN-keyed optimizer state dict) with `set_optimizer_state_dict`;
- FSDP, sharded (`--fsdp fsdp2`, DCP directories) → one process: `torch.distributed.checkpoint.load` reshards the
  saved shards into the whole model's and optimizer's state (no process group needed);
- one process → FSDP (any world size): the full state dicts are handed to `set_model_state_dict` /
  `set_optimizer_state_dict` (full_state_dict=True), which keep each rank's shard.

LoRA runs translate the same way: their checkpoints hold the adapter (adapter_model.safetensors, saved gathered
under FSDP) and the optimizer state of its parameters; the frozen base weights come from --model.

FSDP → FSDP at another world size is accelerate's own load (DCP reshards by itself). Scheduler, trainer state and
data position come from the same files in every layout; RNG states are per rank (a missing one is reported by the
Trainer and the run goes on).
"""
from pathlib import Path
from typing import Any, Dict

import torch

from swift.utils import SwiftError, get_logger

logger = get_logger()
FSDP_MODEL = 'pytorch_model_fsdp'  # accelerate's FSDP_MODEL_NAME: .bin (full) or _0/ (DCP)
FSDP_OPTIMIZER = 'optimizer'  # accelerate's: optimizer.bin (full) or optimizer_0/ (DCP)


def is_fsdp_checkpoint(checkpoint) -> bool:
    return any(p.name.startswith(FSDP_MODEL) for p in Path(checkpoint).iterdir())


def _options(**kwargs):
    from torch.distributed.checkpoint.state_dict import StateDictOptions
    return StateDictOptions(full_state_dict=True, **kwargs)


def _inner(optimizer):
    return getattr(optimizer, 'optimizer', optimizer)  # accelerate's AcceleratedOptimizer wraps the torch one


def _full_model_state(checkpoint: Path, model) -> Dict[str, torch.Tensor]:
    """The whole model's weights (model.safetensors), or a LoRA run's adapter (adapter_model.safetensors) keyed by the
    model's own parameter names, for set_model_state_dict(strict=False): the frozen base comes from --model."""
    from safetensors.torch import load_file
    weights, adapter = checkpoint / 'model.safetensors', checkpoint / 'adapter_model.safetensors'
    if weights.is_file():
        return load_file(str(weights))
    if adapter.is_file():
        return _adapter_by_name(model, load_file(str(adapter)), adapter)
    raise SwiftError(f'{checkpoint}: neither model.safetensors nor adapter_model.safetensors to resume from at '
                     'another world size')


def _adapter_by_name(model, saved: Dict[str, torch.Tensor], path: Path) -> Dict[str, torch.Tensor]:
    """PEFT saves an adapter without its name ('...lora_A.weight' for the parameter '...lora_A.default.weight',
    '...modules_to_save.default.weight' as '...weight'): the saved tensors under the names of this model's state."""
    adapter = getattr(model, 'active_adapter', 'default')
    names = {}
    for name in model.state_dict():
        if f'.modules_to_save.{adapter}.' in name:
            saved_as = name.replace(f'modules_to_save.{adapter}.', '')
        elif f'.{adapter}.' in name and 'lora_' in name:
            saved_as = name.replace(f'.{adapter}.', '.')
        else:
            continue
        # the PeftModel's names, whatever wraps it now
        names[saved_as[saved_as.find('base_model.model.'):]] = name
    missing = sorted(set(saved) - set(names))
    if missing:
        raise SwiftError(f'{path}: {len(missing)} saved tensors match no parameter of this run\'s adapter (e.g. '
                         f'{missing[0]}): resume with the checkpoint\'s --target_modules / --lora_rank')
    return {names[key]: value for key, value in saved.items()}


def _load_dcp(directory: Path, key: str, template: Dict[str, Any]) -> Dict[str, Any]:
    """A DCP checkpoint (accelerate saves {key: state}) loaded, resharded, into `template`'s shapes, in place."""
    import torch.distributed.checkpoint as dcp
    box = {key: template}
    dcp.load(box, checkpoint_id=str(directory))
    return box[key]


def load_model(trainer, checkpoint, model=None) -> bool:
    """The model's weights from a checkpoint of the other layout; False when the layouts agree (the Trainer loads)."""
    checkpoint = Path(checkpoint)
    fsdp_now, fsdp_saved = trainer.is_fsdp_enabled, is_fsdp_checkpoint(checkpoint)
    if fsdp_now == fsdp_saved:
        return False
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, set_model_state_dict
    model = trainer.model if model is None else model
    sharded = checkpoint / f'{FSDP_MODEL}_0'
    if not fsdp_now and sharded.is_dir():  # DCP shards → the whole model
        state = _load_dcp(sharded, 'model', get_model_state_dict(model))
        set_model_state_dict(model, state)
    else:
        state = _full_model_state(checkpoint, model)
        adapter_only = not (checkpoint / 'model.safetensors').is_file()
        set_model_state_dict(model, state, options=_options(strict=not adapter_only))
    logger.info(f'resumed the model from {checkpoint} ({"FSDP" if fsdp_saved else "one-process"} checkpoint, '
                f'now {"FSDP over " + str(trainer.args.world_size) + " processes" if fsdp_now else "one process"})')
    return True


def load_optimizer(trainer, checkpoint) -> bool:
    """Optimizer and scheduler from a checkpoint of the other layout; False when the layouts agree."""
    checkpoint = Path(checkpoint)
    fsdp_now, fsdp_saved = trainer.is_fsdp_enabled, is_fsdp_checkpoint(checkpoint)
    if fsdp_now == fsdp_saved:
        return False
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict, set_optimizer_state_dict
    model, optimizer = trainer.model, _inner(trainer.optimizer)
    if fsdp_saved:
        if (checkpoint / f'{FSDP_OPTIMIZER}_0').is_dir():
            # the optimizer has not stepped yet: get_optimizer_state_dict creates its state tensors (a zero-lr step),
            # which DCP then fills
            template = get_optimizer_state_dict(model, optimizer)
            state = _load_dcp(checkpoint / f'{FSDP_OPTIMIZER}_0', 'optimizer', template)
        else:
            state = torch.load(checkpoint / f'{FSDP_OPTIMIZER}.bin', map_location='cpu', weights_only=True)
        set_optimizer_state_dict(model, optimizer, state, options=_options())
    else:
        set_optimizer_state_dict(model, optimizer, _by_name(model, optimizer, checkpoint), options=_options())
    trainer.lr_scheduler.load_state_dict(torch.load(checkpoint / 'scheduler.pt', map_location='cpu',
                                                    weights_only=True))
    return True


def _by_name(model, optimizer, checkpoint: Path) -> Dict[str, Any]:
    """A one-process optimizer.pt (keyed by position in the param groups) keyed by parameter name instead: the
    optimizer being resumed was built by the same Trainer code over the same parameters, in the same order."""
    saved = torch.load(checkpoint / 'optimizer.pt', map_location='cpu', weights_only=True)
    names = {id(p): name for name, p in model.named_parameters()}
    order = [names[id(p)] for group in optimizer.param_groups for p in group['params']]
    flat = [i for group in saved['param_groups'] for i in group['params']]
    if len(flat) != len(order):
        raise SwiftError(f'{checkpoint}/optimizer.pt holds {len(flat)} parameters, this run trains {len(order)}')
    position = dict(zip(flat, order))
    groups = [{**group, 'params': [position[i] for i in group['params']]} for group in saved['param_groups']]
    return {'state': {position[i]: value for i, value in saved['state'].items()}, 'param_groups': groups}

