"""`swift app --model M [--adapters ckpt] [--base_url URL] [--studio_title T]`: a chat page for one model."""
from swift.arguments.ui import AppArguments
from swift.utils.args import format_help, parse_args

from .ui_deps import require_gradio


def main(argv) -> int:
    if '-h' in argv or '--help' in argv:
        print(format_help(AppArguments, 'swift app'))
        return 0
    parse_args(AppArguments, argv)  # a bad flag answers before Gradio (seconds to import) loads
    require_gradio()
    from swift.ui.app import app_main
    return app_main(argv)
