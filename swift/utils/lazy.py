"""Lazy package exports: `from swift.x import Name` imports Name's module only when it is first used.

    _LAZY = {'Name': 'swift.x.module', ...}
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
"""
import importlib
from typing import Any, Callable, Dict, List, Tuple


def lazy_exports(package: str, table: Dict[str, str],
                 namespace: Dict[str, Any]) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """The module-level __getattr__ and __dir__ of `package` for the names in `table` (name -> module)."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> List[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
