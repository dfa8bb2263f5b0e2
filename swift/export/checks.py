"""What `swift export` checks before loading a model, and `--check_args` runs alone: the plugins load, the
adapter checkpoint fills in its base model, template and system prompt (its args.json), the output directory
is free, the template name exists, and with --push_to_hub there is a token (nothing is sent yet) and, for a
push of a directory as it is, that directory. Nothing here imports torch."""
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


def push_source(args: ExportArguments) -> Path:
    """The directory --push_to_hub uploads as it is (no other export asked for): the checkpoint or --model."""
    source = adapter_paths(args.adapters)[0] if args.adapters else args.model
    if not source or not Path(source).is_dir():
        raise SwiftError(f'--push_to_hub alone uploads a local directory as it is, and {source!r} is not one: pass '
                         '--adapters checkpoint-N or --model /path/to/dir (or add --merge_lora, --quant_method, '
                         '--to_gguf or --to_ollama to push what they write)')
    return Path(source)


def check_export_args(args: ExportArguments) -> ExportArguments:
    load_plugins(args.external_plugins)
    args.read_system_file()
    fill_from_checkpoint(args)
    if args.push_to_hub:
        from swift.model.hub_upload import upload_target
        upload_target(args.hub_model_id, use_hf=args.use_hf, token=args.hub_token, private=args.hub_private_repo)
    if args.push_only:
        push_source(args)
        return args
    args.require_model(' (or --adapters a swift checkpoint: its args.json names the base model)')
    check_template_name(args.template)
    output_dir = default_output_dir(args)
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise SwiftError(f'{output_dir} already exists: remove it or pass another --output_dir')
    return args
