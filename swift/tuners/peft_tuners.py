"""Adapter tuners built on PEFT: lora (with DoRA, rsLoRA, PiSSA/OLoRA/LoftQ init), adalora, vera, boft, ia3.

Each turns TunerArguments into a PEFT config and wraps the model with `peft.get_peft_model`.
"""
import os
import re
from typing import Union

from swift.model.hqq_format import has_hqq_layers
from swift.utils import SwiftError, did_you_mean, get_logger

from .registry import Tuner, register_tuner
from .saving import remember_initial_adapter
from .multimodal import adapter_modules_to_save
from .target_modules import model_meta_of, resolve_target_modules

logger = get_logger()

LORA_BIAS = ('none', 'all', 'lora_only')
# init_weights values that PEFT accepts and need nothing but the model
_INIT_NAMES = ('gaussian', 'pissa', 'olora', 'orthogonal', 'loftq')
# ... and those that need a dataset pass before training (not wired into swift's trainer)
_DATA_DRIVEN_INIT = ('eva', 'corda', 'lora_ga')
# inits that rewrite the base weights: a plain-LoRA copy is saved beside the adapter (see saving.py)
MUTATING_INIT_PREFIXES = ('pissa', 'olora')


def parse_init_weights(value: Union[bool, str]) -> Union[bool, str]:
    """--init_weights → PEFT's init_lora_weights: True/False or one of the named schemes."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('true', 'false'):
        return text == 'true'
    if text in _INIT_NAMES or re.fullmatch(r'pissa_niter_\d+', text):
        return text
    if text in _DATA_DRIVEN_INIT:
        raise SwiftError(f'--init_weights {text}: this initialisation needs a pass over training data, '
                         f'which swift does not run yet; use pissa, olora or gaussian')
    raise SwiftError(f'--init_weights {value!r} is not known: use true, false, gaussian, pissa, '
                     f'pissa_niter_[n], olora, orthogonal or loftq.{did_you_mean(text, _INIT_NAMES)}')


def is_quantized(model) -> bool:
    """True for a model loaded with bitsandbytes (or another transformers quantizer), or quantized by hqq in place
    (--quant_method hqq: its layers are HQQLinear)."""
    return bool(getattr(model, 'is_loaded_in_4bit', False) or getattr(model, 'is_loaded_in_8bit', False)
                or getattr(model, 'hf_quantizer', None) is not None
                or has_hqq_layers(model))


def _common(model, args) -> dict:
    modules_to_save = list(args.modules_to_save) + adapter_modules_to_save(model, args)
    return dict(task_type='CAUSAL_LM', target_modules=resolve_target_modules(model, args, model_meta_of(model)),
                modules_to_save=modules_to_save or None)


def _wrap(model, config, tuner_name: str):
    """peft.get_peft_model, with PEFT's complaints about the configuration shown as SwiftErrors."""
    from peft import get_peft_model
    try:
        return get_peft_model(model, config)
    except ValueError as e:
        raise SwiftError(f'--tuner_type {tuner_name}: PEFT rejected the configuration: {e}') from None


def _check_lora_args(args, init_weights) -> None:
    if args.lora_bias not in LORA_BIAS:
        raise SwiftError(f'--lora_bias must be one of {", ".join(LORA_BIAS)}, not {args.lora_bias!r}')
    if args.lora_rank <= 0:
        raise SwiftError(f'--lora_rank must be positive, not {args.lora_rank}')
    if isinstance(init_weights, str) and init_weights.startswith(MUTATING_INIT_PREFIXES):
        # The converted plain-LoRA copy (which load_adapters prefers) keeps only lora_A/lora_B.
        if args.use_dora:
            raise SwiftError(f'--init_weights {init_weights} cannot be combined with --use_dora')
        if args.modules_to_save:
            raise SwiftError(f'--init_weights {init_weights} cannot be combined with --modules_to_save')


def prepare_lora(model, args):
    from peft import LoraConfig
    init_weights = parse_init_weights(getattr(args, 'init_weights', True))
    _check_lora_args(args, init_weights)
    loftq = init_weights == 'loftq'
    if loftq:
        _check_loftq_possible(model)
    config = LoraConfig(r=args.lora_rank, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                        bias=args.lora_bias, use_dora=args.use_dora, use_rslora=args.use_rslora,
                        init_lora_weights=True if loftq else init_weights,
                        trainable_token_indices=list(args.trainable_token_indices) or None,
                        **_common(model, args))
    from .fused_lora import register_fused_lora
    register_fused_lora(config, model)
    peft_model = _wrap(model, config, 'lora')
    if loftq:
        _init_loftq(peft_model)
    if isinstance(init_weights, str) and init_weights.startswith(MUTATING_INIT_PREFIXES):
        remember_initial_adapter(peft_model)
    return peft_model


def _check_loftq_possible(model) -> None:
    import torch
    if not getattr(model, 'is_loaded_in_4bit', False):
        raise SwiftError('--init_weights loftq sets LoRA to cancel the 4-bit quantisation error: '
                         'load the model with --quant_method bnb --quant_bits 4')
    if not (torch.cuda.is_available() or (hasattr(torch, 'xpu') and torch.xpu.is_available())):
        raise SwiftError('--init_weights loftq: PEFT computes LoftQ on a CUDA or XPU device, and none is available')


def _init_loftq(peft_model) -> None:
    """LoftQ on a bitsandbytes 4-bit model: LoRA starts as the quantisation error's low-rank approximation.

    The base stays the ordinary 4-bit model, so the saved adapter applies to a fresh 4-bit load.
    PEFT reads the unquantised weights from the model's safetensors files.
    """
    from peft import replace_lora_weights_loftq
    source = getattr(peft_model.get_base_model().config, '_name_or_path', None)
    # A local directory must be named explicitly; a hub ID is found in the local hub cache by PEFT.
    model_path = source if source and os.path.isdir(source) else None
    try:
        replace_lora_weights_loftq(peft_model, model_path=model_path)
    except (ValueError, OSError) as e:
        raise SwiftError(f'--init_weights loftq: {e}') from None


def _adalora_total_step(args) -> int:
    max_steps = getattr(args, 'max_steps', None) or -1  # the training arguments' step count, when set
    total = args.adalora_total_step or (max_steps if max_steps > 0 else None)
    if not total:
        raise SwiftError('--tuner_type adalora schedules ranks over the whole run: set --adalora_total_step '
                         '(or --max_steps) to the number of optimizer steps')
    if args.adalora_tinit >= total - args.adalora_tfinal:
        raise SwiftError(f'AdaLoRA leaves no budgeting phase: --adalora_tinit ({args.adalora_tinit}) must be below '
                         f'total steps ({total}) minus --adalora_tfinal ({args.adalora_tfinal})')
    return total


def prepare_adalora(model, args):
    from peft import AdaLoraConfig
    config = AdaLoraConfig(
        target_r=args.adalora_target_r, init_r=args.adalora_init_r, tinit=args.adalora_tinit,
        tfinal=args.adalora_tfinal, deltaT=args.adalora_deltaT, beta1=args.adalora_beta1, beta2=args.adalora_beta2,
        orth_reg_weight=args.adalora_orth_reg_weight, total_step=_adalora_total_step(args),
        lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout, **_common(model, args))
    return _wrap(model, config, 'adalora')


def prepare_vera(model, args):
    from peft import VeraConfig
    config = VeraConfig(r=args.vera_rank, projection_prng_key=args.vera_projection_prng_key,
                        vera_dropout=args.vera_dropout, d_initial=args.vera_d_initial, save_projection=True,
                        **_common(model, args))
    return _wrap(model, config, 'vera')


def prepare_boft(model, args):
    from peft import BOFTConfig
    # PEFT takes exactly one of block size / block number: a given block number wins over the default size.
    block_size = 0 if args.boft_block_num else args.boft_block_size
    config = BOFTConfig(boft_block_size=block_size, boft_block_num=args.boft_block_num,
                        boft_n_butterfly_factor=args.boft_n_butterfly_factor, boft_dropout=args.boft_dropout,
                        **_common(model, args))
    return _wrap(model, config, 'boft')


def _ia3_feedforward_modules(model, args, targets) -> list:
    """IA3 scales feed-forward layers on their input side: which targets are feed-forward.

    PEFT knows them for common model types; the names must be a subset of the targets (PEFT checks
    this again when the adapter is loaded, so PEFT's all-linear shorthand cannot be used here).
    """
    if args.ia3_feedforward_modules:
        modules = list(args.ia3_feedforward_modules)
    else:
        from peft.utils import TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING as known
        model_type = getattr(getattr(model, 'config', None), 'model_type', None)
        if model_type not in known:
            raise SwiftError(f'--tuner_type ia3: PEFT has no default feed-forward modules for model type '
                             f'{model_type!r}; set --ia3_feedforward_modules (e.g. down_proj)')
        modules = list(known[model_type])
    if isinstance(targets, list) and not set(modules) <= set(targets):
        raise SwiftError(f'--ia3_feedforward_modules {" ".join(modules)} must all be among the target modules '
                         f'({" ".join(targets)})')
    return modules


def prepare_ia3(model, args):
    from peft import IA3Config
    targets = resolve_target_modules(model, args, model_meta_of(model), expand=True)
    config = IA3Config(task_type='CAUSAL_LM', target_modules=targets,
                       feedforward_modules=_ia3_feedforward_modules(model, args, targets),
                       modules_to_save=list(args.modules_to_save) or None)
    return _wrap(model, config, 'ia3')


register_tuner(Tuner('lora', prepare_lora, 'LoRA (also DoRA, rsLoRA, PiSSA, OLoRA, LoftQ init)'))
register_tuner(Tuner('adalora', prepare_adalora, 'AdaLoRA: LoRA with ranks budgeted during training'))
register_tuner(Tuner('vera', prepare_vera, 'VeRA: shared random projections, trained scaling vectors'))
register_tuner(Tuner('boft', prepare_boft, 'BOFT: butterfly orthogonal fine-tuning'))
register_tuner(Tuner('ia3', prepare_ia3, 'IA3: learned rescaling of activations'))
