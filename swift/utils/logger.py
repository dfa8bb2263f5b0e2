import logging
import os
import sys

_configured = False


def get_logger(name: str = 'swift') -> logging.Logger:
    """The package logger; level from SWIFT_LOG_LEVEL (default INFO), lines on stderr."""
    global _configured
    root = logging.getLogger('swift')
    if not _configured:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter('[%(levelname)s:swift] %(message)s'))
        root.addHandler(handler)
        root.setLevel(os.environ.get('SWIFT_LOG_LEVEL', 'INFO').upper())
        root.propagate = False
        _configured = True
    return root if name == 'swift' else root.getChild(name.removeprefix('swift.'))
