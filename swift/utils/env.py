import os
from pathlib import Path


def env_flag(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable ('1', 'true', 'yes', 'on' are true)."""
    value = os.environ.get(name)
    if value is None or value == '':
        return default
    return value.strip().lower() in ('1', 'true', 'yes', 'on')


def cache_dir() -> Path:
    """swift's own cache (converted models and the like): $SWIFT_CACHE, else ~/.cache/swift."""
    root = os.environ.get('SWIFT_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'swift')
    return Path(root)
