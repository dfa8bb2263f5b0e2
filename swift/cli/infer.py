import sys

from swift.utils.args import format_help, parse_args


def main(argv) -> int:
    from swift.infer.arguments import InferArguments
    if '-h' in argv or '--help' in argv:
        print(format_help(InferArguments, 'swift infer'))
        return 0
    args = parse_args(InferArguments, argv)
    from swift.infer.chat import infer_main
    return infer_main(args, sys.stdin, sys.stdout)
