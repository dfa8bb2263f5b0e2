"""`python -m swift.ui.jobrun <job dir>`: run one web-UI job and record how it ended.

The wrapper runs `swift <command> <argv>` from the job's job.json (output into the job's log, which the
UI started it with) and writes exit.json when the command returns or is killed, so a UI that was
restarted meanwhile still knows the result. SIGTERM (the Jobs tab's kill button) reaches the whole process
group; the wrapper waits for the command to end and records `killed`.
"""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from swift.utils import atomic_write_json

from .jobs import EXIT_FILE, JOB_FILE


def main(directory: str) -> int:
    job_dir = Path(directory)
    info = json.loads((job_dir / JOB_FILE).read_text(encoding='utf-8'))
    print(f'$ {info["display"]}', flush=True)
    child = subprocess.Popen([sys.executable, '-m', 'swift.cli.main', *info['command'].split(), *info['argv']])
    killed = []

    def on_term(signum, frame):
        killed.append(signum)
        child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    returncode = child.wait()
    atomic_write_json(job_dir / EXIT_FILE, {'returncode': returncode, 'killed': bool(killed),
                                           'finished': time.time()})
    print(f'[job ended: {"killed" if killed else f"exit code {returncode}"}]', flush=True)
    return returncode


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
