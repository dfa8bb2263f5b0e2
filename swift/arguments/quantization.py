"""Loading a model quantised for QLoRA: `--quant_method bnb|hqq --quant_bits N` (swift.tuners.quant builds the
config; HQQ through hqq's own API, as transformers 5 cannot: swift/model/hqq_format.py)."""
from dataclasses import dataclass, field
from typing import Optional

from swift.utils import SwiftError

from .base import ArgumentGroup, check_choice

QUANT_METHODS = ('bnb', 'hqq')
QUANT_BITS = {'bnb': (4, 8), 'hqq': (2, 3, 4, 8)}
BNB_QUANT_TYPES = ('nf4', 'fp4')


def check_hqq_axis(axis: int, quant_method) -> None:
    """--hqq_axis (swift sft and swift export): 0 or 1, and other than hqq's default 1 only with --quant_method hqq."""
    if axis not in (0, 1) or (axis != 1 and quant_method != 'hqq'):
        raise SwiftError(f'--hqq_axis {axis}: 0 or 1, and only with --quant_method hqq')


@dataclass
class QuantizeArguments(ArgumentGroup):
    GROUP_TITLE = 'quantization (QLoRA)'

    quant_method: Optional[str] = field(default=None, metadata={
        'help': 'bnb: bitsandbytes | hqq: HQQ (half-quadratic, no calibration; groups of 64 weights)'})
    quant_bits: Optional[int] = field(default=None, metadata={'help': 'bnb: 4 or 8; hqq: 2, 3, 4 or 8'})
    hqq_axis: int = field(default=1, metadata={
        'help': 'hqq: 1 groups consecutive inputs of one output row (hqq\'s default), 0 one input across rows'})
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
            raise SwiftError(f'--quant_bits {self.quant_bits} needs --quant_method '
                             f'(one of: {", ".join(QUANT_METHODS)})')
        check_choice('quant_method', self.quant_method, QUANT_METHODS)
        bits = QUANT_BITS[self.quant_method]
        if self.quant_bits not in bits:
            raise SwiftError(f'--quant_method {self.quant_method} needs --quant_bits '
                             f'{" or ".join(map(str, bits))}, not {self.quant_bits}')
        check_hqq_axis(self.hqq_axis, self.quant_method)
