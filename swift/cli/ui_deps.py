"""The pages need Gradio, an optional dependency: say how to get it instead of an ImportError."""
import importlib.util

from swift.utils import SwiftError


def require_gradio() -> None:
    if importlib.util.find_spec('gradio') is None:
        raise SwiftError("the web pages need Gradio: pip install 'swift-llm[ui]' (or pip install 'gradio>=6,<7')")


def run_page(argv, arguments_cls, prog: str, entry_point: str) -> int:
    """`swift web-ui` / `swift app`: help and flag errors answer before Gradio (seconds to import) loads;
    entry_point is 'module:function' of the page."""
    import importlib

    from swift.utils.args import format_help, parse_args
    if '-h' in argv or '--help' in argv:
        print(format_help(arguments_cls, prog))
        return 0
    parse_args(arguments_cls, argv)
    require_gradio()
    module, function = entry_point.split(':')
    return getattr(importlib.import_module(module), function)(argv)
