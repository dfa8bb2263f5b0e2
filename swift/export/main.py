"""`swift export`: parse the arguments and run the export they ask for."""
from pathlib import Path
from typing import Any, Dict, Sequence, Union

from swift.utils.args import parse_args

from .arguments import ExportArguments


def export_main(args: Union[ExportArguments, Sequence[str], Dict[str, Any], None] = None, **kwargs) -> Path:
    """Run `swift export` (flags, a dict or ExportArguments); returns the directory written."""
    args = parse_args(ExportArguments, args, **kwargs)
    # One action today; quantized export (GPTQ / AWQ / BNB / GGUF / Ollama) dispatches here on its own flags.
    from .merge_lora import merge_lora
    return merge_lora(args)
