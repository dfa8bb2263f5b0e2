"""`swift menu [--yes]`: the one-click flow in a terminal (download → train → chat → eval → export → deploy)."""
from swift.arguments.ui import MenuArguments
from swift.utils.args import format_help


def main(argv) -> int:
    if '-h' in argv or '--help' in argv:
        print(format_help(MenuArguments, 'swift menu'))
        return 0
    from swift.ui.menu import menu_main
    return menu_main(argv)
