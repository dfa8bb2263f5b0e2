import logging
import os
import sys

_configured = False


class _OptionalKernelNote(logging.Filter):
    """bitsandbytes warns when it is imported, on CPUs with AVX512-BF16, that the optional `kernels` package (a
    faster 4-bit CPU matmul) is missing, and peft imports bitsandbytes whenever it is installed: every swift command
    printed it. It concerns 4-bit inference on CPU only, so it goes to swift's debug log instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 'kernels-community' not in str(record.msg):
            return True
        logging.getLogger('swift').debug('bitsandbytes: %s', record.getMessage())
        return False


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
        logging.getLogger('bitsandbytes.backends.cpu.ops').addFilter(_OptionalKernelNote())
        _configured = True
    return root if name == 'swift' else root.getChild(name.removeprefix('swift.'))
