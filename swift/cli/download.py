"""`swift download --model ID [--use_hf] [--revision R] [--local_dir D] [--offline]`: print the local path.

A complete local copy is used without a network call; otherwise the model is downloaded from
ModelScope (default) or Hugging Face (--use_hf, or USE_HF=1).
"""
from dataclasses import dataclass, field
from typing import List, Optional

from swift.arguments.base import BaseArguments
from swift.utils import SwiftError
from swift.utils.args import format_help, parse_args


@dataclass
class DownloadArguments(BaseArguments):
    model: Optional[str] = field(default=None, metadata={'help': 'registry ID or alias, or a hub ID (org/name)'})
    use_hf: bool = field(default=False, metadata={'help': 'download from Hugging Face instead of ModelScope'})
    revision: Optional[str] = field(default=None, metadata={'help': 'branch, tag or commit'})
    local_dir: Optional[str] = field(default=None, metadata={'help': 'put the files here instead of the hub cache'})
    offline: bool = field(default=False, metadata={'help': 'never contact a hub; only report a local copy'})
    allow_patterns: List[str] = field(default_factory=list, metadata={'help': 'only files matching these globs'})
    ignore_patterns: List[str] = field(default_factory=list, metadata={'help': 'skip files matching these globs'})

    ALIASES = {'model_id_or_path': 'model', 'model_revision': 'revision'}


def main(argv: List[str]) -> int:
    if '-h' in argv or '--help' in argv:
        print(format_help(DownloadArguments, 'swift download'))
        return 0
    args = parse_args(DownloadArguments, argv)
    if not args.model:
        raise SwiftError('--model is required: a registry ID such as smollm2-135m-instruct, or a hub ID (org/name)')
    from swift.model.hub import download_model

    # False flags mean "not given": USE_HF / HF_HUB_OFFLINE / MODELSCOPE_OFFLINE then decide.
    path = download_model(args.model, use_hf=args.use_hf or None, revision=args.revision, local_dir=args.local_dir,
                          offline=args.offline or None, allow_patterns=args.allow_patterns or None,
                          ignore_patterns=args.ignore_patterns or None)
    print(path)
    return 0
