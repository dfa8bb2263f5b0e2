"""`swift download --model ID [--use_hf] [--revision R] [--local_dir D] [--offline]`: print the local path.

A complete local copy is used without a network call; otherwise the model is downloaded from
ModelScope (default) or Hugging Face (--use_hf, or USE_HF=1).
"""
from typing import List

from swift.arguments import DownloadArguments
from swift.model.hub import download_model
from swift.utils.args import format_help, parse_args
from swift.utils.plugins import load_plugins


def main(argv: List[str]) -> int:
    if '-h' in argv or '--help' in argv:
        print(format_help(DownloadArguments, 'swift download'))
        return 0
    args = parse_args(DownloadArguments, argv)
    load_plugins(args.external_plugins)

    # False flags mean "not given": USE_HF / HF_HUB_OFFLINE / MODELSCOPE_OFFLINE then decide.
    path = download_model(args.model, use_hf=args.use_hf or None, revision=args.revision, local_dir=args.local_dir,
                          offline=args.offline or None, allow_patterns=args.allow_patterns or None,
                          ignore_patterns=args.ignore_patterns or None)
    print(path)
    return 0
