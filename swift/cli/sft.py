from swift.utils.args import format_help


def main(argv, pt: bool = False) -> int:
    from swift.train.arguments import PtArguments, SftArguments
    args_class = PtArguments if pt else SftArguments
    if '-h' in argv or '--help' in argv:
        print(format_help(args_class, 'swift pt' if pt else 'swift sft'))
        return 0
    from swift.train.sft import sft_main
    result = sft_main(list(argv), args_class=args_class)
    print(f'output_dir: {result.output_dir}\nlast_checkpoint: {result.last_checkpoint}')
    return 0
