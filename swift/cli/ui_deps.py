"""The pages need Gradio, an optional dependency: say how to get it instead of an ImportError."""
import importlib.util

from swift.utils import SwiftError


def require_gradio() -> None:
    if importlib.util.find_spec('gradio') is None:
        raise SwiftError("the web pages need Gradio: pip install 'swift-llm[ui]' (or pip install 'gradio>=6,<7')")
