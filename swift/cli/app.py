"""`swift app --model M [--adapters ckpt] [--base_url URL] [--studio_title T]`: a chat page for one model."""
from swift.arguments.ui import AppArguments

from .ui_deps import run_page


def main(argv) -> int:
    return run_page(argv, AppArguments, 'swift app', 'swift.ui.app:app_main')
