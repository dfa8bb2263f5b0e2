"""`--external_plugins my.py`: run a user's Python file so that its register_* calls take effect."""
import importlib.util
import sys
from pathlib import Path
from typing import Iterable

from .errors import SwiftError

_loaded = set()


def load_plugins(paths: Iterable[str]) -> None:
    for p in paths or []:
        path = Path(p).expanduser().resolve()
        if str(path) in _loaded:
            continue
        if not path.is_file():
            raise SwiftError(f'--external_plugins: file not found: {p}')
        name = f'swift_plugin_{path.stem}_{abs(hash(str(path)))}'
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except SwiftError:
            raise
        except Exception as e:  # a broken plugin is the user's file: say which one
            raise SwiftError(f'--external_plugins: {p} failed to load: {type(e).__name__}: {e}') from e
        _loaded.add(str(path))
