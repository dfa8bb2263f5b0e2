"""swift's logger: bitsandbytes' note about the optional `kernels` package (printed at every import of peft on an
AVX512-BF16 CPU) goes to swift's debug log; its other warnings pass through."""
import logging
import subprocess
import sys

from swift.utils.logger import get_logger


def test_the_kernels_note_is_demoted_and_other_bitsandbytes_warnings_pass(caplog):
    swift_logger = get_logger()
    debug_lines = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: debug_lines.append(record.getMessage())
    swift_logger.addHandler(handler)
    level = swift_logger.level
    swift_logger.setLevel(logging.DEBUG)
    try:
        ops = logging.getLogger('bitsandbytes.backends.cpu.ops')
        with caplog.at_level(logging.WARNING):
            ops.warning('Failed to load CPU gemm_4bit_forward from kernels-community: %s. Please ...', 'no kernels')
            ops.warning('another bitsandbytes warning')
    finally:
        swift_logger.removeHandler(handler)
        swift_logger.setLevel(level)
    assert [r.getMessage() for r in caplog.records] == ['another bitsandbytes warning']
    assert debug_lines == ['bitsandbytes: Failed to load CPU gemm_4bit_forward from kernels-community: no kernels. '
                           'Please ...']


def test_importing_peft_prints_no_kernels_note():
    code = 'from swift.utils.logger import get_logger; get_logger(); import peft'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert 'kernels-community' not in out.stderr, out.stderr
