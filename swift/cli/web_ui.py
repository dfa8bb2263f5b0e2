"""`swift web-ui [--server_name 127.0.0.1] [--server_port 7860] [--lang en|zh] [--share] [--auth user:pw]`."""
from swift.arguments.ui import WebUIArguments

from .ui_deps import run_page


def main(argv) -> int:
    return run_page(argv, WebUIArguments, 'swift web-ui', 'swift.ui.web_ui:web_ui_main')
