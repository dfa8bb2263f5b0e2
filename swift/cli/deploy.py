from swift.utils.args import format_help


def main(argv) -> int:
    from swift.infer.server.arguments import DeployArguments
    if '-h' in argv or '--help' in argv:
        print(format_help(DeployArguments, 'swift deploy'))
        return 0
    from swift.infer.server.deploy import deploy_main
    return deploy_main(argv)
