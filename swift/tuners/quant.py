"""Quantised loading for QLoRA: `--quant_method bnb --quant_bits 4` → a transformers BitsAndBytesConfig.

    quantization_config = build_quantization_config(args)   # None when not quantising
    model = AutoModelForCausalLM.from_pretrained(path, quantization_config=quantization_config)
    model = prepare_tuner(model, args)   # peft.prepare_model_for_kbit_training + LoRA

4-bit uses NF4 with double quantisation by default (the QLoRA recipe). bitsandbytes runs on CUDA
and, from 0.45 on, on CPU (slowly): `pip install bitsandbytes` (swift-llm[qlora]).
"""
import importlib.util
from dataclasses import dataclass, field
from typing import Optional

from swift.utils import SwiftError, did_you_mean

QUANT_METHODS = ('bnb', )
BNB_QUANT_TYPES = ('nf4', 'fp4')


@dataclass
class QuantizeArguments:
    quant_method: Optional[str] = field(default=None, metadata={'help': 'bnb: bitsandbytes (QLoRA)'})
    quant_bits: Optional[int] = field(default=None, metadata={'help': '4 or 8'})
    bnb_4bit_compute_dtype: Optional[str] = field(
        default=None, metadata={'help': 'dtype of the 4-bit matmuls (default: --torch_dtype)'})
    bnb_4bit_quant_type: str = field(default='nf4', metadata={'help': 'nf4 | fp4'})
    bnb_4bit_use_double_quant: bool = field(default=True, metadata={'help': 'also quantise the scales'})
    bnb_4bit_quant_storage: Optional[str] = field(
        default=None, metadata={'help': 'storage dtype of packed 4-bit weights (e.g. bfloat16 for FSDP)'})


def _dtype(name: Optional[str], flag: str):
    from swift.utils.device import resolve_dtype
    try:
        return resolve_dtype(name)
    except SwiftError as e:
        raise SwiftError(f'--{flag}: {e}') from None


def build_quantization_config(args):
    """A BitsAndBytesConfig for args.quant_method / quant_bits, or None when the model is not quantised.

    `args` is any object with QuantizeArguments' attributes (missing ones take their defaults), and
    optionally torch_dtype.
    """
    method = getattr(args, 'quant_method', None)
    bits = getattr(args, 'quant_bits', None)
    if method is None and bits is None:
        return None
    if method is None:
        raise SwiftError(f'--quant_bits {bits} needs --quant_method (one of: {", ".join(QUANT_METHODS)})')
    if method not in QUANT_METHODS:
        raise SwiftError(f'--quant_method {method!r} is not supported; use bnb (bitsandbytes).'
                         f'{did_you_mean(method, QUANT_METHODS)}')
    if bits not in (4, 8):
        raise SwiftError(f'--quant_method bnb needs --quant_bits 4 or 8, not {bits}')
    if importlib.util.find_spec('bitsandbytes') is None:
        raise SwiftError('--quant_method bnb needs bitsandbytes: pip install bitsandbytes '
                         '(or pip install "swift-llm[qlora]")')
    from transformers import BitsAndBytesConfig
    if bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    quant_type = getattr(args, 'bnb_4bit_quant_type', 'nf4')
    if quant_type not in BNB_QUANT_TYPES:
        raise SwiftError(f'--bnb_4bit_quant_type must be nf4 or fp4, not {quant_type!r}')
    compute_dtype = getattr(args, 'bnb_4bit_compute_dtype', None) or getattr(args, 'torch_dtype', None)
    storage = getattr(args, 'bnb_4bit_quant_storage', None)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quant_type,
        bnb_4bit_use_double_quant=bool(getattr(args, 'bnb_4bit_use_double_quant', True)),
        bnb_4bit_compute_dtype=_dtype(compute_dtype, 'bnb_4bit_compute_dtype'),
        bnb_4bit_quant_storage=_dtype(storage, 'bnb_4bit_quant_storage') if storage else None,  # None: uint8
    )
