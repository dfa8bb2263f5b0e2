"""What `swift export` checks before loading a model, and `--check_args` runs alone: the plugins load, the
adapter checkpoint fills in its base model, template and system prompt (its args.json), the output directory
is free, and the template name exists. Nothing here imports torch."""
from pathlib import Path

from swift.arguments import ExportArguments
from swift.template import check_template_name
from swift.utils import SwiftError
from swift.utils.checkpoint import adapter_paths, fill_from_checkpoint
from swift.utils.plugins import load_plugins


def default_output_dir(args: ExportArguments) -> Path:
    """--output_dir, or next to the adapter (<checkpoint>-merged), or <model name>-<kind> in the working dir."""
    if args.output_dir:
        return Path(args.output_dir)
    if args.adapters:
        return Path(f'{adapter_paths(args.adapters)[0].rstrip("/")}-{args.export_kind}')
    return Path(f'{Path(str(args.model).rstrip("/")).name}-{args.export_kind}')


def check_export_args(args: ExportArguments) -> ExportArguments:
    load_plugins(args.external_plugins)
    args.read_system_file()
    fill_from_checkpoint(args)
    args.require_model(' (or --adapters a swift checkpoint: its args.json names the base model)')
    check_template_name(args.template)
    output_dir = default_output_dir(args)
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise SwiftError(f'{output_dir} already exists: remove it or pass another --output_dir')
    return args
