"""tests/conftest.py's units of work under pytest-xdist: a module, or an XDIST_GROUPS group, runs on one worker, so
its module fixtures are set up once (xdist's own loadgroup lost its groups under pytest 9 and set the 6-minute
torchrun launch of tests/training/test_distributed.py up on both workers)."""
import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO, unit_of

# a throwaway suite whose modules sit at the paths XDIST_GROUPS names; its module fixture records each setup
SHARED_LAUNCH = '''
import os, time, pytest

@pytest.fixture(scope='module')
def launch():
    with open(os.environ['UNITS_LOG'], 'a') as log:
        log.write('setup ' + os.environ['PYTEST_XDIST_WORKER'] + '\\n')
    time.sleep(1)  # long enough for the other worker to ask for work meanwhile

@pytest.mark.parametrize('case', range(6))
def test_case(launch, case):
    with open(os.environ['UNITS_LOG'], 'a') as log:
        log.write(f'{__name__} ' + os.environ['PYTEST_XDIST_WORKER'] + '\\n')
'''
QUICK = '''
import os, pytest

@pytest.mark.parametrize('case', range(4))
def test_case(case):
    with open(os.environ['UNITS_LOG'], 'a') as log:
        log.write(f'{__name__} ' + os.environ['PYTEST_XDIST_WORKER'] + '\\n')
'''


def test_unit_of_a_node_id():
    assert unit_of('tests/cli/test_launch.py::test_x[a-b]') == 'torchrun'
    assert unit_of('tests/training/test_distributed.py::test_y@torchrun') == 'torchrun'  # xdist's own suffix
    assert unit_of('tests/model/test_hub.py::TestA::test_z[1]') == 'tests/model/test_hub.py'


def test_a_modules_fixture_is_set_up_once_on_two_workers(tmp_path):
    suite = tmp_path / 'suite'
    for path, text in (('tests/training/test_distributed.py', SHARED_LAUNCH), ('tests/cli/test_launch.py', QUICK),
                       ('tests/model/test_a.py', QUICK), ('tests/model/test_b.py', QUICK)):
        (suite / path).parent.mkdir(parents=True, exist_ok=True)
        (suite / path).write_text(textwrap.dedent(text))
    (suite / 'tests' / 'conftest.py').write_text(
        'from tests.conftest import pytest_collection_modifyitems, pytest_xdist_make_scheduler  # noqa: F401\n')
    (suite / 'pytest.ini').write_text('[pytest]\n')
    log = tmp_path / 'units.log'
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST_XDIST')}
    # the repository's `tests` package on the path (the throwaway suite's own tests/ is a rootdir-relative folder)
    env.update(UNITS_LOG=str(log), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, '-m', 'pytest', 'tests', '-q', '-p', 'no:cacheprovider', '-n', '2',
                           '--dist', 'loadgroup', '--no-loadscope-reorder', '--rootdir', str(suite),
                           '--basetemp', str(tmp_path / 'basetemp')],  # not the numbered dirs other runs rotate
                          cwd=suite, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [line.split() for line in log.read_text().splitlines()]
    assert len([worker for what, worker in lines if what == 'setup']) == 1, lines
    workers = {}
    for what, worker in lines:
        if what != 'setup':
            workers.setdefault(what, set()).add(worker)
    # every module on one worker, and the torchrun group (test_distributed with test_launch) on the same one
    assert all(len(ran_on) == 1 for ran_on in workers.values()), workers
    assert len(workers) == 4 and workers['test_distributed'] == workers['test_launch']
