"""exit_now: a finished command ends without the interpreter's teardown, but after everything an ordinary
exit does that one can observe (non-daemon threads joined, atexit handlers run, stdio flushed)."""
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_exit_now_joins_threads_runs_atexit_and_flushes(tmp_path):
    marker = tmp_path / 'atexit.txt'
    script = textwrap.dedent(f'''
        import atexit, sys, threading, time
        from swift.utils.process import exit_now
        atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))
        def late():
            time.sleep(0.2)
            sys.stdout.write('thread done;')
        threading.Thread(target=late).start()
        sys.stdout.write('buffered, no newline;')  # a pipe is block-buffered: only a flush sends it
        exit_now(3)
        sys.stdout.write('never')
    ''')
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, cwd=REPO,
                          env={'PYTHONPATH': str(REPO)}, timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stdout == 'buffered, no newline;thread done;'
    assert marker.read_text() == 'ran'
