"""`NPROC_PER_NODE=N swift sft ...` runs the command under torchrun (DDP; gloo on this CPU)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swift.cli.launch import torchrun_command
from swift.utils.errors import SwiftError
from tests.conftest import REPO


def test_single_process_without_nproc_or_inside_torchrun():
    assert torchrun_command('sft', ['--model', 'm'], {}) is None
    assert torchrun_command('sft', [], {'NPROC_PER_NODE': '2', 'LOCAL_RANK': '0'}) is None
    assert torchrun_command('infer', [], {'NPROC_PER_NODE': '2'}) is None  # only training commands


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


def test_two_processes_train_with_ddp(tiny_model_dir, tmp_path):
    rows = [{'messages': [{'role': 'user', 'content': f'Say {i}.'}, {'role': 'assistant', 'content': str(i)}]}
            for i in range(16)]
    data = tmp_path / 'rows.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    out = tmp_path / 'out'
    env = {**os.environ, 'NPROC_PER_NODE': '2', 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(REPO)}
    done = subprocess.run([sys.executable, '-m', 'swift.cli.main', 'sft', '--model', str(tiny_model_dir),
                           '--template', 'smollm2', '--dataset', str(data), '--output_dir', str(out),
                           '--add_version', 'false', '--max_steps', '2', '--save_steps', '2', '--logging_steps', '1',
                           '--per_device_train_batch_size', '2', '--report_to', 'none'],
                          capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'launching 2 processes' in done.stderr
    state = json.loads((out / 'checkpoint-2' / 'trainer_state.json').read_text())
    # Two processes of batch 2: each optimizer step saw 4 rows, so 2 steps cover half an epoch.
    assert state['global_step'] == 2 and state['train_batch_size'] == 2
    assert state['epoch'] == pytest.approx(0.5)
    assert (out / 'checkpoint-2' / 'adapter_model.safetensors').is_file()
    assert {'rng_state_0.pth', 'rng_state_1.pth'} <= {p.name for p in (out / 'checkpoint-2').iterdir()}
    assert len([l for l in (out / 'logging.jsonl').read_text().splitlines() if '"loss"' in l]) == 2  # rank 0 only
