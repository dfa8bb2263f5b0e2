from swift.utils.args import format_help


def main(argv) -> int:
    from swift.export.arguments import ExportArguments
    if '-h' in argv or '--help' in argv:
        print(format_help(ExportArguments, 'swift export'))
        return 0
    from swift.export.main import export_main
    print(export_main(argv))
    return 0
