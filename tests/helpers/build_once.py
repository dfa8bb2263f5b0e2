"""Build a test artefact once per test run, also under pytest-xdist (`make test` runs 2 workers).

Under xdist every worker is its own pytest session: a session-scoped fixture runs once PER WORKER. A fixture that
trains a checkpoint or builds a model would then do it twice (twice the CPU), and two workers writing one fixed path
would race. `build_once(tmp_path_factory, name, build)` runs `build(folder)` in the first worker that asks and
hands its result to every other worker:

    @pytest.fixture(scope='session')
    def reward_checkpoint(tmp_path_factory, tiny_model_dir):
        return build_once(tmp_path_factory, 'reward-checkpoint', lambda folder: train(tiny_model_dir, folder))

- `folder` lies under the run's base temporary directory, which all workers of one run share (and which is
  private to the run: no two runs, or engineers, meet there). Serially it is the session's own base temp.
- A file lock serialises the builders of one name: the second worker waits and then reuses the first's result.
- The result (anything picklable: a Path, a tuple of paths and rows) is recorded after the build finished; a build
  that raised leaves no record, and the next worker that asks starts it again in a clean folder.
- The folder is shared: tests must read it, never write into it (copy it to tmp_path first).

Artefacts in swift's own cache (the embedded model, the tiny VLMs of swift.model.*) need none of this: their
builders take a lock of their own (swift.model.embedded.ensure_built).
"""
import os
import pickle
import shutil
from pathlib import Path
from typing import Any, Callable

from filelock import FileLock

_RESULT = '.build-once-result.pkl'


def run_root(tmp_path_factory) -> Path:
    """A directory that every xdist worker of this run shares (the session's base temp when serial)."""
    base = tmp_path_factory.getbasetemp()
    # xdist gives each worker <the controller's base temp>/<worker id> as its own base temp
    return base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base


def build_once(tmp_path_factory, name: str, build: Callable[[Path], Any]) -> Any:
    """`build(folder)`'s result, built once per test run in `<run root>/build-once/<name>`."""
    folder = run_root(tmp_path_factory) / 'build-once' / name
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + '.lock'):
        record = folder / _RESULT
        if record.is_file():
            return pickle.loads(record.read_bytes())
        shutil.rmtree(folder, ignore_errors=True)  # what a build that raised left behind
        folder.mkdir()
        result = build(folder)
        tmp = record.with_suffix('.tmp')
        tmp.write_bytes(pickle.dumps(result))
        os.replace(tmp, record)  # written last: its presence says the build finished
        return result
