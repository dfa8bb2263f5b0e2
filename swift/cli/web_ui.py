"""`swift web-ui [--server_name 127.0.0.1] [--server_port 7860] [--lang en|zh] [--share] [--auth user:pw]`."""
from swift.arguments.ui import WebUIArguments
from swift.utils.args import format_help, parse_args

from .ui_deps import require_gradio


def main(argv) -> int:
    if '-h' in argv or '--help' in argv:
        print(format_help(WebUIArguments, 'swift web-ui'))
        return 0
    parse_args(WebUIArguments, argv)  # a bad flag answers before Gradio (seconds to import) loads
    require_gradio()
    from swift.ui.web_ui import web_ui_main
    return web_ui_main(argv)
