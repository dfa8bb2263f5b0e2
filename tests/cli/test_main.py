"""`swift --help` answers without torch (timed by benchmarks/cli_latency.py); unknown commands get a suggestion."""
import subprocess
import sys

from tests.conftest import REPO


def run_swift(*args, **kw):
    return subprocess.run([sys.executable, '-m', 'swift.cli.main', *args], cwd=REPO, capture_output=True, text=True,
                          **kw)


def test_help_lists_commands():
    done = run_swift('--help')
    assert done.returncode == 0
    for command in ('download', 'sft', 'infer', 'deploy', 'eval', 'export', 'list'):
        assert command in done.stdout


def test_help_does_not_import_torch():
    code = ('import sys; from swift.cli.main import main; main(["--help"]); '
            'assert "torch" not in sys.modules, "torch imported"')
    done = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_unknown_command_suggests():
    done = run_swift('inferr')
    assert done.returncode == 2
    assert "Did you mean: infer" in done.stderr
    assert 'Traceback' not in done.stderr


def test_user_error_is_one_line_without_traceback():
    done = run_swift('infer', '--modle', 'x')
    assert done.returncode == 1
    assert done.stderr.strip().count('\n') == 0, done.stderr
    assert 'unknown argument --modle' in done.stderr and 'Did you mean: model' in done.stderr
