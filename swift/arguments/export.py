"""Arguments of `swift export`: the model (or `--adapters checkpoint-N`, whose args.json names it), what to
export, and where."""
from dataclasses import dataclass, field
from typing import Optional

from swift.utils import SwiftError

from .base import BaseArguments
from .model import AdapterArguments, ModelArguments
from .template import TemplateArguments


@dataclass
class ExportArguments(AdapterArguments, TemplateArguments, ModelArguments, BaseArguments):
    GROUP_TITLE = 'swift export'

    merge_lora: bool = field(default=False, metadata={'help': 'merge the adapter into the base weights'})
    output_dir: Optional[str] = field(
        default=None, metadata={'help': 'where to write (default: <adapter dir>-merged); must not exist yet'})
    max_shard_size: str = field(default='5GB', metadata={'help': 'largest safetensors shard, e.g. 2GB'})

    def __post_init__(self):
        super().__post_init__()
        if not self.merge_lora:
            # Quantized export (GPTQ / AWQ / BNB / GGUF / Ollama) will add its flags and actions here.
            raise SwiftError('nothing to export: pass --merge_lora true (with --adapters checkpoint-N)')
        if len(self.adapters) != 1:
            raise SwiftError(f'--merge_lora merges one adapter, got {len(self.adapters)}: pass one --adapters '
                             'directory (merge several by exporting one, then passing its output as --model)')
