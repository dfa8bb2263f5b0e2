"""Jobs are detached swift processes whose state is on disk: another store on the same folder (a restarted UI)
sees them, their logs and how they ended; kill ends the whole job."""
import time

from swift.ui.jobs import FAILED, FINISHED, KILLED, RUNNING, JobStore


def wait_status(store, job_id, wanted, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = store.get(job_id).status()
        if status in wanted:
            return status
        time.sleep(0.2)
    raise AssertionError(f'job {job_id} still {status} after {timeout}s:\n{store.get(job_id).log_tail()}')


def test_a_job_runs_detached_and_a_new_store_finds_how_it_ended(tmp_path):
    store = JobStore(tmp_path / 'jobs')
    job = store.launch('list', ['templates'], cwd=str(tmp_path))
    assert job.info['display'] == 'swift list templates'
    assert wait_status(store, job.id, {FINISHED, FAILED}) == FINISHED
    again = JobStore(tmp_path / 'jobs')  # what a restarted UI reads
    (found,) = again.jobs()
    assert found.id == job.id and found.status() == FINISHED and found.exit['returncode'] == 0
    assert 'smollm2' in found.log_tail() and found.log_tail().startswith('$ swift list templates')
    assert found.run_dir() is None and found.eta() is None and found.elapsed() > 0


def test_a_failing_command_is_failed_with_the_cli_message(tmp_path):
    store = JobStore(tmp_path / 'jobs')
    job = store.launch('sft', ['--modle', 'x'], cwd=str(tmp_path))
    assert wait_status(store, job.id, {FINISHED, FAILED}) == FAILED
    assert 'unknown argument --modle' in job.log_tail()


def test_kill_ends_a_running_job(tmp_path):
    plugin = tmp_path / 'slow_plugin.py'
    plugin.write_text('import time\ntime.sleep(120)\n')  # loaded by the stage's checks: the job waits here
    store = JobStore(tmp_path / 'jobs')
    job = store.launch('sft', ['--model', 'm', '--dataset', 'd.jsonl', '--external_plugins', str(plugin)],
                       cwd=str(tmp_path))
    assert wait_status(store, job.id, {RUNNING}) == RUNNING
    time.sleep(1)
    assert store.kill(job.id)
    assert wait_status(store, job.id, {KILLED, FAILED, FINISHED}, timeout=30) == KILLED
    assert not store.kill(job.id)


def test_run_dir_and_eta_come_from_the_run_log(tmp_path):
    store = JobStore(tmp_path / 'jobs')
    job = store.launch('list', ['templates'], cwd=str(tmp_path))
    wait_status(store, job.id, {FINISHED})
    run = tmp_path / 'out' / 'v0-x'
    run.mkdir(parents=True)
    (run / 'logging.jsonl').write_text('{"global_step": 1, "loss": 2.0, "eta_s": 9.0}\n{"global_st')  # mid-write
    with open(job.directory / 'log.txt', 'a') as f:
        f.write(f'[INFO:swift] output directory: {run} (rlhf_type dpo)\n')
    assert job.run_dir() == run
    assert job.records() == [{'global_step': 1, 'loss': 2.0, 'eta_s': 9.0}]
