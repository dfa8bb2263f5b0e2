import sys

from swift.utils.args import format_help, parse_args


def main(argv) -> int:
    from swift.infer.arguments import InferArguments
    if '-h' in argv or '--help' in argv:
        print(format_help(InferArguments, 'swift infer'))
        return 0
    args = parse_args(InferArguments, argv)
    from swift.infer.reward_engine import is_reward_model
    if is_reward_model(args):  # an `--rlhf_type rm` checkpoint: print rewards instead of answers
        from swift.infer.reward_engine import reward_infer_main
        return reward_infer_main(args, sys.stdin, sys.stdout)
    from swift.infer.chat import infer_main
    return infer_main(args, sys.stdin, sys.stdout)
