"""`swift export`, top to bottom: parse → check → the export the flags ask for (today: --merge_lora).

    result = export_main(['--adapters', 'output/v0/checkpoint-40', '--merge_lora', 'true'])
    result.output_dir
"""
from dataclasses import dataclass
from typing import Any, Dict, Sequence, Union

from swift.arguments import ExportArguments
from swift.utils.args import parse_args

from .checks import check_export_args
from .merge_lora import merge_lora


@dataclass
class ExportResult:
    """The directory written and what it holds."""
    output_dir: str
    kind: str  # 'merged' (a standalone model with the adapter merged in)


def export_main(args: Union[ExportArguments, Sequence[str], Dict[str, Any], None] = None, **kwargs) -> ExportResult:
    """Run exactly what `swift export` runs."""
    args = check_export_args(parse_args(ExportArguments, args, **kwargs))
    # One action today; quantized export (GPTQ / AWQ / BNB / GGUF / Ollama) dispatches here on its own flags.
    return ExportResult(str(merge_lora(args)), 'merged')
