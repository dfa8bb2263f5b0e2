"""`swift export`, top to bottom: parse → check → the one export the flags ask for.

    result = export_main(['--adapters', 'output/v0/checkpoint-40', '--merge_lora', 'true'])
    result = export_main(['--model', 'SmolLM2-135M-Instruct', '--to_gguf', 'true', '--gguf_quant', 'q8_0'])
    result = export_main(['--adapters', 'checkpoint-40', '--merge_lora', 'true', '--push_to_hub', 'true',
                          '--hub_model_id', 'my-org/my-model'])
    result.output_dir, result.hub_url
    export_main(['--model', 'M', '--dataset', 'data.jsonl', '--to_cached_dataset', 'true']).output_dir

With --push_to_hub the repository is created before the export (a wrong token fails in seconds, not after
the quantization) and the result is uploaded after it (push.py).
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

from swift.arguments import ExportArguments
from swift.utils.args import parse_args

from .checks import check_export_args, default_output_dir, push_source


@dataclass
class ExportResult:
    """The directory written (or, for --push_to_hub alone, pushed) and what it holds."""
    output_dir: str
    kind: str  # 'merged' | 'gguf' | 'ollama' | '<method>-int<bits>' | 'cached' | 'checkpoint' | 'model'
    hub_url: Optional[str] = None  # the repository, with --push_to_hub


def export_main(args: Union[ExportArguments, Sequence[str], Dict[str, Any], None] = None, **kwargs) -> ExportResult:
    """Run exactly what `swift export` runs."""
    args = check_export_args(parse_args(ExportArguments, args, **kwargs))
    target = None
    if args.push_to_hub:
        from .push import prepare_push
        target = prepare_push(args)
    output_dir = push_source(args) if args.push_only else _export(args)
    result = ExportResult(str(output_dir), args.export_kind)
    if target is not None:
        from .push import push_export
        result.hub_url = push_export(args, target, Path(output_dir))
    return result


def _export(args: ExportArguments) -> Path:
    """The one export the flags ask for; returns the directory written."""
    if args.to_cached_dataset:
        from .cached_dataset import export_cached_dataset
        return export_cached_dataset(args, default_output_dir(args))
    if args.to_gguf or args.to_ollama:
        from .gguf_export import export_gguf
        return export_gguf(args)
    if args.quant_method:
        from .quantize import export_quantized
        return export_quantized(args)
    from .merge_lora import merge_lora
    return merge_lora(args)
