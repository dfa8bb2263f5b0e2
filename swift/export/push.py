"""`swift export ... --push_to_hub true --hub_model_id org/name`: upload what the export wrote (or, with no
other export flag, the --adapters checkpoint or --model directory as it is) to ModelScope, or to Hugging
Face with --use_hf.

    target = prepare_push(args)                         # token found, repository created: before the export
    url = push_export(args, target, output_dir)         # after it: the files, plus a model card if none

The upload itself is swift.model.hub_upload (each hub's own client, retried after network failures).
Added to the upload, never written into the directory: README.md (model_card.py) when the directory has
none, or only the template PEFT writes into every adapter checkpoint (all "[More Information Needed]"), and
for ModelScope its configuration.json (framework and task, as ms-swift writes it) when missing.
A checkpoint's training state (optimizer, scheduler, RNG states) stays behind.
"""
import json
from pathlib import Path

from swift.arguments import ExportArguments
from swift.model.hub_upload import CHECKPOINT_STATE_PATTERNS, UploadTarget, create_repo, upload_folder, upload_target
from swift.utils import SwiftError, get_logger

from .model_card import card_facts, render_card

logger = get_logger()

MODELSCOPE_CONFIGURATION = {'framework': 'pytorch', 'task': 'text-generation', 'allow_remote': True}


def prepare_push(args: ExportArguments) -> UploadTarget:
    target = upload_target(args.hub_model_id, use_hf=args.use_hf, token=args.hub_token,
                           private=args.hub_private_repo)
    create_repo(target)
    return target


def push_export(args: ExportArguments, target: UploadTarget, directory: Path) -> str:
    extra = {}
    if _needs_card(directory / 'README.md'):
        extra['README.md'] = render_card(card_facts(args, directory)).encode()
    if not target.use_hf and not (directory / 'configuration.json').exists():
        extra['configuration.json'] = json.dumps(MODELSCOPE_CONFIGURATION).encode()
    ignore = CHECKPOINT_STATE_PATTERNS if args.export_kind == 'checkpoint' else ()
    message = args.commit_message or f'swift export: {args.export_kind} ({directory.name})'
    try:
        return upload_folder(target, directory, commit_message=message, extra_files=extra, ignore_patterns=ignore)
    except SwiftError as e:
        if args.push_only:
            raise
        retry = (f'swift export --model {directory} --push_to_hub true --hub_model_id {target.repo_id}'
                 f'{" --use_hf true" if target.use_hf else ""}')
        raise SwiftError(f'{e}. The export itself is complete in {directory}: push it with `{retry}`') from None


def _needs_card(readme: Path) -> bool:
    """No README.md, or PEFT's unfilled model-card template (it says nothing a reader could use)."""
    if not readme.is_file():
        return True
    text = readme.read_text(encoding='utf-8', errors='replace')
    return '### Framework versions' in text and '- PEFT ' in text and text.count('[More Information Needed]') > 10
