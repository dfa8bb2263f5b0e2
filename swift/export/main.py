"""`swift export`, top to bottom: parse → check → the one export the flags ask for.

    result = export_main(['--adapters', 'output/v0/checkpoint-40', '--merge_lora', 'true'])
    result = export_main(['--model', 'SmolLM2-135M-Instruct', '--to_gguf', 'true', '--gguf_quant', 'q8_0'])
    result = export_main(['--model', 'M', '--dataset', 'data.jsonl', '--to_cached_dataset', 'true'])
    result.output_dir
"""
from dataclasses import dataclass
from typing import Any, Dict, Sequence, Union

from swift.arguments import ExportArguments
from swift.utils.args import parse_args

from .checks import check_export_args, default_output_dir
from .merge_lora import merge_lora


@dataclass
class ExportResult:
    """The directory written and what it holds."""
    output_dir: str
    kind: str  # 'merged' | 'gguf' | 'ollama' | '<method>-int<bits>' | 'cached' (ExportArguments.export_kind)


def export_main(args: Union[ExportArguments, Sequence[str], Dict[str, Any], None] = None, **kwargs) -> ExportResult:
    """Run exactly what `swift export` runs."""
    args = check_export_args(parse_args(ExportArguments, args, **kwargs))
    if args.to_cached_dataset:
        from .cached_dataset import export_cached_dataset
        return ExportResult(str(export_cached_dataset(args, default_output_dir(args))), args.export_kind)
    if args.to_gguf or args.to_ollama:
        from .gguf_export import export_gguf
        return ExportResult(str(export_gguf(args)), args.export_kind)
    if args.quant_method:
        from .quantize import export_quantized
        return ExportResult(str(export_quantized(args)), args.export_kind)
    return ExportResult(str(merge_lora(args)), 'merged')
