"""Quantised loading for QLoRA: `--quant_method bnb --quant_bits 4` → a transformers BitsAndBytesConfig;
`--quant_method hqq` → swift's HqqQuantization (the loader quantizes with hqq's own API: transformers 5 cannot).

    quantization_config = build_quantization_config(args)   # None when not quantising
    model = AutoModelForCausalLM.from_pretrained(path, quantization_config=quantization_config)
    model = prepare_tuner(model, args)   # peft.prepare_model_for_kbit_training + LoRA

4-bit uses NF4 with double quantisation by default (the QLoRA recipe). bitsandbytes runs on CUDA
and, from 0.45 on, on CPU (slowly): `pip install bitsandbytes` (swift-llm[qlora]).
"""
import dataclasses
import importlib.util
from typing import Optional

from swift.arguments import QuantizeArguments
from swift.utils import SwiftError
from swift.utils.device import resolve_dtype


def _dtype(name: Optional[str], flag: str):
    try:
        return resolve_dtype(name)
    except SwiftError as e:
        raise SwiftError(f'--{flag}: {e}') from None


def build_quantization_config(args):
    """A BitsAndBytesConfig (bnb) or HqqQuantization (hqq) for args.quant_method / quant_bits, or None when the
    model is not quantised.

    `args` is QuantizeArguments or any object with some of its attributes (the others take their
    defaults, and the same checks apply), and optionally torch_dtype.
    """
    torch_dtype = getattr(args, 'torch_dtype', None)
    if not isinstance(args, QuantizeArguments):
        names = [f.name for f in dataclasses.fields(QuantizeArguments)]
        args = QuantizeArguments(**{name: getattr(args, name) for name in names if hasattr(args, name)})
    if args.quant_method is None:
        return None
    if args.quant_method == 'hqq':
        from swift.model.hqq_format import HqqQuantization, require_hqq
        require_hqq('--quant_method hqq')
        return HqqQuantization(bits=args.quant_bits, axis=args.hqq_axis)
    if importlib.util.find_spec('bitsandbytes') is None:
        raise SwiftError('--quant_method bnb needs bitsandbytes: pip install bitsandbytes '
                         '(or pip install "swift-llm[qlora]")')
    from transformers import BitsAndBytesConfig
    if args.quant_bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    compute_dtype = args.bnb_4bit_compute_dtype or torch_dtype
    storage = args.bnb_4bit_quant_storage
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=args.bnb_4bit_quant_type,
        bnb_4bit_use_double_quant=args.bnb_4bit_use_double_quant,
        bnb_4bit_compute_dtype=_dtype(compute_dtype, 'bnb_4bit_compute_dtype'),
        bnb_4bit_quant_storage=_dtype(storage, 'bnb_4bit_quant_storage') if storage else None,  # None: uint8
    )


def keep_4bit_weights_trainable(model) -> None:
    """Keep a 4-bit model's weights in the layout that trains.

    bitsandbytes (0.49 and later, on CPUs with AVX512-BF16) repacks a 4-bit weight for fast inference the first
    time a layer runs in eval mode without gradients, and never packs it back: forward passes in training
    through a packed weight then give the adapters no gradients. One evaluation (or swift's chunked-loss
    check) would silently stop QLoRA from learning. A model being trained switches the repacking off, and
    unpacks what was packed already (a model that answered questions before training).
    """
    for module in model.modules():
        if hasattr(module, 'support_avx512bf16_for_cpu'):
            module.support_avx512bf16_for_cpu = False
        weight = getattr(module, 'weight', None)
        if getattr(getattr(weight, 'quant_state', None), 'packing_format_for_cpu', False):
            from bitsandbytes.functional import _convert_weight_packed_for_cpu_inverse  # (bitsandbytes is optional)
            weight.data, weight.quant_state = _convert_weight_packed_for_cpu_inverse(weight.data, weight.quant_state)
            module.quant_state = weight.quant_state
