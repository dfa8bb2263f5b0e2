"""prepare_tuner: the one call the trainer makes to turn a loaded model into the model to train.

    model = prepare_tuner(model, args)   # args: anything with TunerArguments' attributes

Steps: pick the registered tuner for args.tuner_type; get a 4-bit/8-bit model ready for adapter
training (QLoRA); apply the tuner; log how many parameters train.

Gradient checkpointing needs nothing here: transformers' gradient_checkpointing_enable (called by
the Trainer) already makes the embedding outputs require grad, so adapters behind frozen
embeddings get gradients.
"""
from typing import Tuple

from swift.utils import get_logger

from .peft_tuners import is_quantized
from .quant import keep_4bit_weights_trainable
from .registry import get_tuner
from .saving import load_adapters

logger = get_logger()


def count_parameters(model) -> Tuple[int, int]:
    """(trainable, total) weights; tied weights count once, 4-bit packed weights count unpacked."""
    trainable = total = 0
    for param in model.parameters():
        count = param.numel()
        if type(param).__name__ == 'Params4bit':
            # bitsandbytes packs two 4-bit weights per byte of its storage dtype.
            storage = getattr(param, 'quant_storage', None)
            count *= 2 * (storage.itemsize if storage is not None else 1)
        total += count
        if param.requires_grad:
            trainable += count
    return trainable, total


def log_trainable_parameters(model) -> str:
    trainable, total = count_parameters(model)
    line = f'trainable params: {trainable:,} / {total:,} ({100 * trainable / max(total, 1):.4f}%)'
    logger.info(line)
    return line


def _prepare_quantized(model, args):
    """QLoRA: freeze the quantised base, upcast norms/embeddings to fp32, optional gradient checkpointing."""
    from peft import prepare_model_for_kbit_training
    keep_4bit_weights_trainable(model)
    return prepare_model_for_kbit_training(
        model, use_gradient_checkpointing=bool(getattr(args, 'gradient_checkpointing', False)))


def prepare_tuner(model, args):
    """Apply args.tuner_type to `model`; returns the model to train (a PeftModel for adapter tuners).

    A model that already carries adapters (Swift.prepare_model'ed, or args.adapters saved ones)
    trains those adapters: wrapping it in a second, new adapter would silently drop the user's.
    """
    if is_quantized(model):
        # peft's preparation freezes every parameter: adapters the module already carries train all the same
        adapters = {n for n, p in model.named_parameters() if p.requires_grad} if getattr(
            model, 'peft_config', None) else set()
        model = _prepare_quantized(model, args)
        for name, param in model.named_parameters():
            if name in adapters:
                param.requires_grad_(True)
    saved = list(getattr(args, 'adapters', None) or [])
    if saved:
        model = load_adapters(model, saved, is_trainable=True)
        logger.info(f'tuner: continuing the adapters {", ".join(saved)}')
    elif getattr(model, 'peft_config', None):
        logger.info(f'tuner: training the adapters the model already carries ({", ".join(model.peft_config)})')
    else:
        tuner = get_tuner(getattr(args, 'tuner_type', None) or 'lora')
        model = tuner.prepare(model, args)
        logger.info(f'tuner: {tuner.name}')
    log_trainable_parameters(model)
    return model


def on_optimizer_step(model, global_step: int) -> None:
    """Per-step work some tuners need; call after optimizer.step() and before zero_grad().

    AdaLoRA re-budgets ranks from the current gradients. Other tuners: nothing to do.
    """
    peft_config = getattr(model, 'peft_config', None)
    if not peft_config:
        return
    active = getattr(model, 'active_adapter', 'default')
    config = peft_config.get(active)
    if config is not None and str(getattr(config.peft_type, 'value', config.peft_type)) == 'ADALORA':
        model.base_model.update_and_allocate(global_step)


def tuner_callback():
    """A transformers TrainerCallback that calls on_optimizer_step for the Trainer's model."""
    from transformers import TrainerCallback

    class TunerCallback(TrainerCallback):

        def on_optimizer_step(self, args, state, control, model=None, **kwargs):
            if model is not None:
                on_optimizer_step(model, state.global_step)

    return TunerCallback()
