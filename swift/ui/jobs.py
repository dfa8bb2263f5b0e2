"""Jobs of the web UI: each one a detached `swift <command>` process whose whole state lives on disk.

    <jobs_dir>/<id>/job.json     what runs: the command, its argv, working directory, start time, pid
    <jobs_dir>/<id>/log.txt      everything it prints
    <jobs_dir>/<id>/exit.json    how it ended (written by the job's own wrapper, swift.ui.jobrun)

The process is started in a new session, so closing the browser or restarting `swift web-ui` leaves it
running; a restarted UI reads the folder and finds every job, running or finished. Nothing here imports torch.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from swift.utils import SwiftError, atomic_write_json, cache_dir
from swift.utils.checkpoint import list_checkpoints

JOB_FILE, LOG_FILE, EXIT_FILE = 'job.json', 'log.txt', 'exit.json'
RUNNING, FINISHED, FAILED, KILLED, LOST = 'running', 'finished', 'failed', 'killed', 'lost'
# The training runner's first line about its run directory (swift/training/runner.py)
_OUTPUT_LINE = re.compile(r'output directory: (\S.*?)(?: \(rlhf_type \w+\))?\s*$', re.MULTILINE)
# swift deploy's line once it listens (swift/infer/server/deploy.py)
_SERVING_LINE = re.compile(r'serving .* at (https?://\S+)')


def default_jobs_dir() -> Path:
    return cache_dir() / 'web-ui' / 'jobs'


def read_log_records(path: Path) -> List[Dict[str, Any]]:
    """The rows of a logging.jsonl being written: a last line cut in the middle of a write is not a row yet."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding='utf-8', errors='replace').splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


@dataclass
class Job:
    directory: Path
    info: Dict[str, Any]

    @property
    def id(self) -> str:
        return self.directory.name

    @property
    def command(self) -> str:
        return self.info['command']

    @property
    def exit(self) -> Optional[Dict[str, Any]]:
        path = self.directory / EXIT_FILE
        return json.loads(path.read_text(encoding='utf-8')) if path.is_file() else None

    def status(self) -> str:
        ended = self.exit
        if ended is not None:
            return KILLED if ended.get('killed') else FINISHED if ended['returncode'] == 0 else FAILED
        return RUNNING if _alive(self.info.get('pid'), str(self.directory)) else LOST

    def elapsed(self) -> float:
        ended = self.exit
        return (ended['finished'] if ended else time.time()) - self.info['started']

    def log_tail(self, max_chars: int = 6000) -> str:
        path = self.directory / LOG_FILE
        if not path.is_file():
            return ''
        with open(path, 'rb') as f:
            f.seek(max(0, path.stat().st_size - max_chars))
            return f.read().decode('utf-8', errors='replace').replace('\r', '\n')

    def run_dir(self) -> Optional[Path]:
        """The training run's directory, as the run printed it when it started (None before, or for other jobs)."""
        path = self.directory / LOG_FILE
        if not path.is_file():
            return None
        match = _OUTPUT_LINE.search(path.read_text(encoding='utf-8', errors='replace'))
        if not match:
            return None
        run = Path(match.group(1))
        return run if run.is_absolute() else Path(self.info['cwd']) / run

    def url(self) -> Optional[str]:
        """Where a running `swift deploy` job serves (None before it listens, after it ends, or for other jobs)."""
        path = self.directory / LOG_FILE
        if self.command != 'deploy' or not path.is_file() or self.status() != RUNNING:
            return None
        match = _SERVING_LINE.search(path.read_text(encoding='utf-8', errors='replace'))
        return match.group(1) if match else None

    def records(self) -> List[Dict[str, Any]]:
        run = self.run_dir()
        return read_log_records(run / 'logging.jsonl') if run else []

    def eta(self) -> Optional[float]:
        """Seconds left, from the run's own estimate at its last logged step (None when not training)."""
        if self.status() != RUNNING:
            return None
        etas = [r['eta_s'] for r in self.records() if 'eta_s' in r]
        return etas[-1] if etas else None

    def checkpoints(self) -> List[Path]:
        run = self.run_dir()
        return list_checkpoints(run) if run else []


def _alive(pid: Optional[int], marker: str) -> bool:
    """Whether the job's wrapper still runs: the pid exists and (where /proc tells) is the wrapper of this job,
    not another process that got the same pid after a reboot."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f'/proc/{pid}/cmdline')
    if cmdline.is_file():
        try:
            return marker in cmdline.read_bytes().decode('utf-8', errors='replace')
        except OSError:
            return False
    return True


class JobStore:
    """The jobs of one folder. Several UIs (or a restarted one) may read the same folder."""

    def __init__(self, root: Optional[os.PathLike] = None):
        self.root = Path(root) if root else default_jobs_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self._children: Dict[str, subprocess.Popen] = {}  # reaped as they end, so no zombie stays

    def launch(self, command: str, argv: List[str], cwd: Optional[str] = None) -> Job:
        """Start `swift <command> <argv>` detached; returns its job (status running)."""
        job_id = f'{time.strftime("%Y%m%d-%H%M%S")}-{command.replace(" ", "-")}-{uuid.uuid4().hex[:6]}'
        directory = self.root / job_id
        directory.mkdir(parents=True)
        info = {'command': command, 'argv': list(argv), 'cwd': os.path.abspath(cwd or os.getcwd()),
                'started': time.time(), 'display': display_command(command, argv)}
        atomic_write_json(directory / JOB_FILE, info)
        with open(directory / LOG_FILE, 'ab') as log:
            # A new session: the job neither gets the UI's Ctrl-C nor ends when the UI process ends.
            child = subprocess.Popen([sys.executable, '-m', 'swift.ui.jobrun', str(directory)], cwd=info['cwd'],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env={**os.environ, 'PYTHONUNBUFFERED': '1'})
        info['pid'] = child.pid
        atomic_write_json(directory / JOB_FILE, info)
        self._children[job_id] = child
        return Job(directory, info)

    def jobs(self) -> List[Job]:
        """Every job, newest first."""
        for job_id, child in list(self._children.items()):
            if child.poll() is not None:
                del self._children[job_id]
        found = []
        for directory in self.root.iterdir():
            info_path = directory / JOB_FILE
            if info_path.is_file():
                try:
                    found.append(Job(directory, json.loads(info_path.read_text(encoding='utf-8'))))
                except (OSError, json.JSONDecodeError):
                    continue  # a job folder being created
        return sorted(found, key=lambda job: job.info['started'], reverse=True)

    def get(self, job_id: str) -> Job:
        directory = self.root / job_id
        if not job_id or '/' in job_id or not (directory / JOB_FILE).is_file():
            raise SwiftError(f'no job {job_id!r} in {self.root}')
        return Job(directory, json.loads((directory / JOB_FILE).read_text(encoding='utf-8')))

    def kill(self, job_id: str) -> bool:
        """SIGTERM to the job's process group (the wrapper and the swift process); False when it was not running."""
        job = self.get(job_id)
        if job.status() != RUNNING:
            return False
        try:
            os.killpg(job.info['pid'], signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True


def display_command(command: str, argv: List[str]) -> str:
    """The command line as a user types it."""
    import shlex
    return shlex.join(['swift', *command.split(), *argv])
