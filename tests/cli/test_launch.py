"""`NPROC_PER_NODE=N swift sft ...` runs the command under torchrun (DDP; gloo on this CPU)."""
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swift.cli.launch import torchrun_command
from swift.utils.errors import SwiftError
from tests.conftest import REPO


def test_single_process_without_nproc_or_inside_torchrun():
    assert torchrun_command('sft', ['--model', 'm'], {}) is None
    assert torchrun_command('sft', [], {'NPROC_PER_NODE': '2', 'LOCAL_RANK': '0'}) is None
    assert torchrun_command('deploy', [], {'NPROC_PER_NODE': '2'}) is None  # training and batch inference only


def test_torchrun_command_line_from_the_environment():
    cmd = torchrun_command('sft', ['--model', 'm'], {'NPROC_PER_NODE': '4'})
    assert cmd == [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=4', '-m', 'swift.cli.main',
                   'sft', '--model', 'm']
    env = {'NPROC_PER_NODE': '8', 'NNODES': '2', 'NODE_RANK': '1', 'MASTER_ADDR': '10.0.0.1', 'MASTER_PORT': '29500'}
    cmd = torchrun_command('rlhf', ['cfg.yaml'], env)
    assert cmd[3:8] == ['--nproc_per_node=8', '--nnodes=2', '--node_rank=1', '--master_addr=10.0.0.1',
                        '--master_port=29500']
    assert cmd[-4:] == ['-m', 'swift.cli.main', 'rlhf', 'cfg.yaml']


@pytest.mark.parametrize('env', [{'NPROC_PER_NODE': 'two'}, {'NPROC_PER_NODE': '0'},
                                 {'NPROC_PER_NODE': '2', 'NODE_RANK': 'first'}])
def test_bad_values_are_clear_errors(env):
    with pytest.raises(SwiftError, match=next(iter(k for k in env if not env[k].isdigit() or env[k] == '0'))):
        torchrun_command('sft', [], env)


@pytest.fixture(scope='module')
def small_run(tiny_model_dir, tmp_path_factory):
    """(flags of the 2-step launches below, the losses of 1 process × batch 4 with them, a folder)."""
    from swift.training.sft import sft_main
    tmp = tmp_path_factory.mktemp('launch')
    rows = [{'messages': [{'role': 'user', 'content': f'Say {i}.'}, {'role': 'assistant', 'content': str(i)}]}
            for i in range(16)]
    (tmp / 'rows.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    common = ['--model', str(tiny_model_dir), '--template', 'smollm2', '--dataset', str(tmp / 'rows.jsonl'),
              '--add_version', 'false', '--max_steps', '2', '--save_steps', '2', '--logging_steps', '1',
              '--report_to', 'none', '--lora_dropout', '0', '--warmup_ratio', '0', '--learning_rate', '1e-3']
    one = sft_main([*common, '--output_dir', str(tmp / 'one'), '--per_device_train_batch_size', '4'])
    return common, [h['loss'] for h in one.log_history if 'loss' in h], tmp


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


HAS_DEEPSPEED = importlib.util.find_spec('deepspeed') is not None


@pytest.mark.parametrize('launcher', ['accelerate', 'deepspeed'])
def test_two_processes_train_with_ddp(small_run, launcher):
    """The launch forms of ms-swift's examples besides torchrun's (below) and swift's own NPROC_PER_NODE (the kill
    test): `accelerate launch swift/cli/sft.py` and `deepspeed swift/cli/sft.py` (which appends --local_rank=K to the
    arguments): 2 processes × batch 2 log the losses of 1 process × batch 4, one run directory, a log per rank, one
    report. (The DDP run here; ZeRO-2/3 over 2 processes: tests/training/test_distributed.py. Both at once would
    compile DeepSpeed's CPU op again under the launcher's interpreter path, minutes here.)"""
    if launcher == 'deepspeed' and not HAS_DEEPSPEED:
        pytest.skip('deepspeed is not installed (the deepspeed extra)')
    common, one, tmp = small_run
    out = tmp / launcher
    flags = [*common, '--output_dir', str(out), '--per_device_train_batch_size', '2']
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(REPO)}
    port = str(_free_port())
    if launcher == 'accelerate':  # accelerate hands the processes to torchrun (gloo on this CPU)
        cmd = [sys.executable, '-m', 'accelerate.commands.launch', '--multi_gpu', '--num_processes', '2',
               '--num_machines', '1', '--mixed_precision', 'no', '--dynamo_backend', 'no', '--main_process_port',
               port, 'swift/cli/sft.py', *flags]
    else:  # its launcher on DeepSpeed's CPU accelerator
        env['DS_ACCELERATOR'] = 'cpu'
        cmd = [str(Path(sys.executable).parent / 'deepspeed'), '--num_gpus', '2', '--master_port', port,
               'swift/cli/sft.py', *flags]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    state = json.loads((out / 'checkpoint-2' / 'trainer_state.json').read_text())
    # Two processes of batch 2: each optimizer step saw 4 rows, so 2 steps cover half an epoch.
    assert state['global_step'] == 2 and state['train_batch_size'] == 2
    assert state['epoch'] == pytest.approx(0.5)
    assert (out / 'checkpoint-2' / 'adapter_model.safetensors').is_file()
    assert {'rng_state_0.pth', 'rng_state_1.pth'} <= {p.name for p in (out / 'checkpoint-2').iterdir()}
    records = [json.loads(line) for line in (out / 'logging.jsonl').read_text().splitlines()]
    losses = [r['loss'] for r in records if 'loss' in r]  # rank 0 writes it, once per step
    assert losses == pytest.approx(one, abs=1e-5)
    assert done.stdout.count('last_checkpoint:') == 1  # one report, from rank 0
    assert 'output directory' in (out / 'logs' / 'rank1.log').read_text()  # each rank's stderr in its own file


def test_a_typo_is_one_error_before_any_process_starts(tmp_path):
    env = {**os.environ, 'NPROC_PER_NODE': '2', 'PYTHONPATH': str(REPO)}
    done = subprocess.run([sys.executable, '-m', 'swift', 'sft', '--model', 'm', '--dataset', 'd', '--lerning_rate',
                           '1e-4'], capture_output=True, text=True, env=env, timeout=120, cwd=REPO)
    assert done.returncode == 1 and done.stderr.count('unknown argument --lerning_rate') == 1
    assert 'launching' not in done.stderr


def test_a_typo_under_a_bare_torchrun_is_one_error():
    """`torchrun --nproc_per_node 2 swift/cli/sft.py ...`: both processes find the typo; rank 0 alone says it."""
    env = {**os.environ, 'PYTHONPATH': str(REPO)}
    done = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
                           f'--master_port={_free_port()}', 'swift/cli/sft.py', '--model', 'm', '--dataset', 'd',
                           '--lerning_rate', '1e-4'], capture_output=True, text=True, env=env, timeout=120, cwd=REPO)
    assert done.returncode != 0
    assert (done.stdout + done.stderr).count('unknown argument --lerning_rate') == 1, done.stderr[-2000:]


def _wait_for(predicate, timeout_s, what):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f'timed out waiting for {what}')


def test_a_killed_rank_ends_the_run_with_a_clear_message_and_resumes_on_one_process(tiny_model_dir, tmp_path):
    from swift.training.sft import sft_main
    rows = [{'messages': [{'role': 'user', 'content': f'Say {i}.'}, {'role': 'assistant', 'content': f'{i} ' * (i % 4 + 1)}]}
            for i in range(32)]
    data = tmp_path / 'rows.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    out = tmp_path / 'out'
    common = ['--model', str(tiny_model_dir), '--template', 'smollm2', '--dataset', str(data), '--add_version', 'false',
              '--logging_steps', '1', '--report_to', 'none', '--lora_dropout', '0', '--warmup_ratio', '0',
              '--lr_scheduler_type', 'constant', '--learning_rate', '1e-3']
    env = {**os.environ, 'NPROC_PER_NODE': '2', 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(REPO)}
    launcher = subprocess.Popen([sys.executable, '-m', 'swift', 'sft', *common, '--output_dir', str(out),
                                 '--max_steps', '500', '--save_steps', '2', '--per_device_train_batch_size', '2',
                                 '--ddp_timeout', '60'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=REPO)
    try:
        _wait_for(lambda: (out / 'checkpoint-4').is_dir(), 400, 'checkpoint-4')
        status = json.loads((out / 'logs' / 'rank1.json').read_text())
        os.kill(status['pid'], signal.SIGKILL)  # rank 1, a process this test started
        killed_at = time.time()
        stdout, stderr = launcher.communicate(timeout=120)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode != 0
    assert 'launching 2 processes' in stderr  # NPROC_PER_NODE=2 swift sft: swift's own launcher
    assert time.time() - killed_at < 90  # within --ddp_timeout (and torchrun's own shutdown)
    match = re.search(r'rank 1 died at step (\d+)', stderr)
    assert match, stderr[-3000:]
    last = re.search(r'last complete checkpoint: (\S+);', stderr).group(1)
    step = int(last.rsplit('-', 1)[1])
    assert step >= 4 and (Path(last) / 'adapter_model.safetensors').is_file()
    # go on at world size 1 (batch 4 = 2 x 2): the later losses equal an uninterrupted one-process run's
    resumed = sft_main([*common, '--resume_from_checkpoint', last, '--max_steps', str(step + 2),
                        '--save_steps', '100', '--per_device_train_batch_size', '4'])
    straight = sft_main([*common, '--output_dir', str(tmp_path / 'straight'), '--max_steps', str(step + 2),
                         '--save_steps', '100', '--per_device_train_batch_size', '4'])
    later = [h['loss'] for h in resumed.log_history if 'loss' in h and h['step'] > step]
    expected = [h['loss'] for h in straight.log_history if 'loss' in h and h['step'] > step]
    assert len(later) == 2 and later == pytest.approx(expected, abs=1e-5)


def test_two_nodes_on_one_machine_train_as_one_process(small_run):
    """Two torchrun groups with --nnodes 2, one process each (as on two machines), in ms-swift's two bare forms:
    `torchrun ... -m swift sft` on node 0, `torchrun ... swift/cli/sft.py` on node 1 = 1 process with both batches.
    (NNODES=2 NODE_RANK=k swift sft builds this same torchrun command: test_torchrun_command_line_from_the_environment.)"""
    common, one, tmp = small_run
    port = _free_port()
    nodes = []
    for node_rank, program in ((0, ['-m', 'swift', 'sft']), (1, ['swift/cli/sft.py'])):
        env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(REPO)}
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=1', '--nnodes=2',
               f'--node_rank={node_rank}', '--master_addr=127.0.0.1', f'--master_port={port}', *program, *common,
               '--output_dir', str(tmp / 'two_nodes'), '--per_device_train_batch_size', '2']
        nodes.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                      cwd=REPO))
    try:
        results = [node.communicate(timeout=600) for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    assert [node.returncode for node in nodes] == [0, 0], results[0][1][-2000:] + results[1][1][-2000:]
    records = [json.loads(line) for line in (tmp / 'two_nodes' / 'logging.jsonl').read_text().splitlines()]
    assert [r['loss'] for r in records if 'loss' in r] == pytest.approx(one, abs=1e-5)
    assert [out.count('last_checkpoint:') for out, _ in results] == [1, 0]  # the report of rank 0 only
