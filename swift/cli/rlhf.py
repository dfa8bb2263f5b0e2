from swift.utils.args import format_help


def main(argv) -> int:
    from swift.train.rlhf.arguments import RLHFArguments
    if '-h' in argv or '--help' in argv:
        print(format_help(RLHFArguments, 'swift rlhf'))
        return 0
    from swift.train.rlhf.workflow import rlhf_main
    result = rlhf_main(list(argv))
    print(f'output_dir: {result.output_dir}\nlast_checkpoint: {result.last_checkpoint}')
    return 0
