"""Loading a model quantised for QLoRA: `--quant_method bnb --quant_bits 4` (swift.tuners.quant builds the config)."""
from dataclasses import dataclass, field
from typing import Optional

from swift.utils import SwiftError

from .base import ArgumentGroup, check_choice

QUANT_METHODS = ('bnb', )
# Why not HQQ for training (swift sft --quant_method hqq): checked with transformers 5.25.0 and hqq 0.2.8.post1.
HQQ_REFUSAL = ('swift sft --quant_method hqq is not supported: transformers 5.x has no HQQ path in its weight loader '
               'yet (from_pretrained with HqqConfig raises NotImplementedError "QuantizationMethod.HQQ is not '
               'available yet", checked with transformers 5.25), so swift cannot load a model quantised with HQQ for '
               'QLoRA. Use --quant_method bnb --quant_bits 4|8 for QLoRA; `swift export --quant_method hqq` writes '
               'an HQQ model in hqq\'s own format (docs/export.md).')
BNB_QUANT_TYPES = ('nf4', 'fp4')


@dataclass
class QuantizeArguments(ArgumentGroup):
    GROUP_TITLE = 'quantization (QLoRA)'

    quant_method: Optional[str] = field(default=None, metadata={'help': 'bnb: bitsandbytes (QLoRA)'})
    quant_bits: Optional[int] = field(default=None, metadata={'help': '4 or 8'})
    bnb_4bit_compute_dtype: Optional[str] = field(
        default=None, metadata={'help': 'dtype of the 4-bit matmuls (default: --torch_dtype)'})
    bnb_4bit_quant_type: str = field(default='nf4', metadata={'help': 'nf4 | fp4'})
    bnb_4bit_use_double_quant: bool = field(default=True, metadata={'help': 'also quantise the scales'})
    bnb_4bit_quant_storage: Optional[str] = field(
        default=None, metadata={'help': 'storage dtype of packed 4-bit weights (e.g. bfloat16 for FSDP)'})

    def __post_init__(self):
        super().__post_init__()
        check_choice('bnb_4bit_quant_type', self.bnb_4bit_quant_type, BNB_QUANT_TYPES)
        if self.quant_method is None and self.quant_bits is None:
            return
        if self.quant_method is None:
            raise SwiftError(f'--quant_bits {self.quant_bits} needs --quant_method (one of: {", ".join(QUANT_METHODS)})')
        if self.quant_method == 'hqq':
            raise SwiftError(HQQ_REFUSAL)
        check_choice('quant_method', self.quant_method, QUANT_METHODS)
        if self.quant_bits not in (4, 8):
            raise SwiftError(f'--quant_method {self.quant_method} needs --quant_bits 4 or 8, not {self.quant_bits}')
