"""Arguments of `swift export`: the model (or `--adapters checkpoint-N`, whose args.json names it), what to
export (a merged model, a quantized model, a GGUF, an Ollama directory), and where."""
from dataclasses import dataclass, field
from typing import List, Optional

from swift.utils import SwiftError

from .base import BaseArguments, check_choice
from .model import AdapterArguments, ModelArguments
from .template import TemplateArguments

# method → the bit widths it writes; the formats each library serializes (swift.export.quantize)
EXPORT_QUANT_BITS = {'bnb': (4, 8), 'gptq': (4, 8), 'awq': (4, ), 'fp8': (8, )}
GGUF_QUANTS = ('f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q2_k', 'q3_k_s', 'q3_k_m', 'q3_k_l',
               'q4_k_s', 'q4_k_m', 'q5_k_s', 'q5_k_m', 'q6_k')


@dataclass
class ExportArguments(AdapterArguments, TemplateArguments, ModelArguments, BaseArguments):
    GROUP_TITLE = 'swift export'

    merge_lora: bool = field(default=False, metadata={'help': 'merge the adapter into the base weights'})
    output_dir: Optional[str] = field(
        default=None, metadata={'help': 'where to write (default: <adapter dir or model name>-<kind>); must not exist'})
    max_shard_size: str = field(default='5GB', metadata={'help': 'largest safetensors shard, e.g. 2GB'})
    to_gguf: bool = field(default=False, metadata={'help': 'write a GGUF file (llama.cpp, LM Studio)'})
    gguf_quant: str = field(default='f16', metadata={'help': ' | '.join(GGUF_QUANTS) + ' (K-quants need llama.cpp)'})
    to_ollama: bool = field(default=False, metadata={'help': 'write a GGUF and an Ollama Modelfile'})
    quant_method: Optional[str] = field(default=None, metadata={'help': ' | '.join(EXPORT_QUANT_BITS)})
    quant_bits: Optional[int] = field(default=None, metadata={'help': 'bits per weight (e.g. 4 or 8)'})
    bnb_4bit_quant_type: str = field(default='nf4', metadata={'help': 'nf4 | fp4 (--quant_method bnb)'})
    bnb_4bit_use_double_quant: bool = field(default=True, metadata={'help': 'also quantize the scales (bnb)'})
    dataset: List[str] = field(default_factory=list, metadata={
        'help': 'calibration and perplexity rows, [hf::|ms::]ID_OR_PATH[#N] (default: swift\'s built-in sample)'})
    quant_n_samples: int = field(default=64, metadata={'help': 'calibration rows (the rest measure perplexity)'})
    quant_batch_size: int = field(default=1, metadata={'help': 'calibration batch size'})
    max_length: int = field(default=512, metadata={'help': 'tokens per calibration / perplexity row'})
    group_size: int = field(default=128, metadata={'help': 'weights sharing one scale (gptq, awq)'})

    def __post_init__(self):
        super().__post_init__()
        check_choice('gguf_quant', self.gguf_quant, GGUF_QUANTS)
        actions = [name for name, on in (('--merge_lora', self.merge_lora), ('--to_gguf', self.to_gguf),
                                         ('--to_ollama', self.to_ollama),
                                         ('--quant_method', self.quant_method is not None)) if on]
        if not actions:
            raise SwiftError('nothing to export: pass --merge_lora true (with --adapters checkpoint-N), '
                             '--quant_method, --to_gguf true or --to_ollama true')
        if len(actions) > 1:
            raise SwiftError(f'{" and ".join(actions)}: one export at a time (--adapters with any of them merges '
                             'the adapter first)')
        if len(self.adapters) > 1 or (self.merge_lora and len(self.adapters) != 1):
            raise SwiftError(f'--merge_lora merges one adapter, got {len(self.adapters)}: pass one --adapters '
                             'directory (merge several by exporting one, then passing its output as --model)')
        self._check_quant()

    def _check_quant(self) -> None:
        if self.quant_method is None:
            if self.quant_bits is not None:
                raise SwiftError(f'--quant_bits {self.quant_bits} needs --quant_method '
                                 f'(one of: {", ".join(EXPORT_QUANT_BITS)})')
            return
        check_choice('quant_method', self.quant_method, tuple(EXPORT_QUANT_BITS))
        bits = EXPORT_QUANT_BITS[self.quant_method]
        if self.quant_bits not in bits:
            raise SwiftError(f'--quant_method {self.quant_method} writes {" or ".join(map(str, bits))}-bit weights, '
                             f'not --quant_bits {self.quant_bits}')
        check_choice('bnb_4bit_quant_type', self.bnb_4bit_quant_type, ('nf4', 'fp4'))
        for name in ('quant_n_samples', 'quant_batch_size', 'max_length', 'group_size'):
            if getattr(self, name) < 1:
                raise SwiftError(f'--{name} must be at least 1, not {getattr(self, name)}')

    @property
    def export_kind(self) -> str:
        """What is written: merged | gguf | ollama | <method>-int<bits> (also the default output suffix)."""
        if self.quant_method:
            return f'{self.quant_method}-int{self.quant_bits}'
        return 'gguf' if self.to_gguf else 'ollama' if self.to_ollama else 'merged'
