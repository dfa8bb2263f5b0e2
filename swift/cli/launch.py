"""Multi-process launch: `NPROC_PER_NODE=4 swift sft ...` re-runs the command under torchrun.

As in ms-swift, the environment chooses the launch: NPROC_PER_NODE processes on this machine, and
for several machines NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT. Inside the launched
processes torchrun sets LOCAL_RANK, so they run the command itself; the transformers Trainer then
trains with DDP (NCCL on GPUs, gloo on CPU), FSDP2 or DeepSpeed (--fsdp, --deepspeed).

The arguments are parsed and checked once, here, before any process starts (a typo is one error, not N).
For training, the run directory is chosen here too and handed to every process; when the launch fails,
the processes' logs/rank<k>.json say which rank ended first and at which step, and the message names the
last complete checkpoint to go on from.
"""
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from swift.utils.checkpoint import last_checkpoint, resolve_output_dir
from swift.utils.errors import SwiftError

# commands that can run on several processes: training, and batch inference (rows split across ranks)
DISTRIBUTED_COMMANDS = ('sft', 'pt', 'rlhf', 'infer')
TRAINING_COMMANDS = ('sft', 'pt', 'rlhf')
_NODE_VARS = {'NNODES': '--nnodes', 'NODE_RANK': '--node_rank', 'MASTER_ADDR': '--master_addr',
              'MASTER_PORT': '--master_port'}


def _positive_int(env: Mapping[str, str], name: str) -> int:
    value = env[name]
    if not value.isdigit() or int(value) < 1:
        raise SwiftError(f'{name}={value!r}: expected a whole number of at least 1')
    return int(value)


def torchrun_command(command: str, argv: List[str], env: Mapping[str, str]) -> Optional[List[str]]:
    """The torchrun command line for `swift <command> argv`, or None to run in this process."""
    if command not in DISTRIBUTED_COMMANDS or 'LOCAL_RANK' in env or not env.get('NPROC_PER_NODE'):
        return None
    nproc = _positive_int(env, 'NPROC_PER_NODE')
    cmd = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}']
    for var, flag in _NODE_VARS.items():
        if env.get(var):
            if var in ('NNODES', 'NODE_RANK', 'MASTER_PORT') and not env[var].isdigit():
                raise SwiftError(f'{var}={env[var]!r}: expected a whole number')
            cmd.append(f'{flag}={env[var]}')
    # With none of them, torchrun rendezvous on a free local port by itself.
    return cmd + ['-m', 'swift.cli.main', command] + list(argv)


def _run_dir_flags(command: str, args) -> List[str]:
    """The run directory, chosen once for all processes (each would otherwise pick its own vN-timestamp)."""
    if command not in TRAINING_COMMANDS or args is None or args.resume_from_checkpoint:
        return []  # a resumed run continues in its checkpoint's directory: every process finds the same one
    output_dir = resolve_output_dir(args.output_dir, args.model, args.add_version, None)
    return ['--output_dir', str(output_dir), '--add_version', 'false']


def failure_report(output_dir: Optional[str]) -> str:
    """Which rank ended first and at which step (from logs/rank<k>.json), and the last complete checkpoint."""
    if not output_dir:
        return ''
    logs = Path(output_dir) / 'logs'
    lines = []
    for path in sorted(logs.glob('rank*.json')) if logs.is_dir() else []:
        try:
            status = json.loads(path.read_text(encoding='utf-8'))
        except (OSError, ValueError):
            continue
        k, step, what = status.get('rank'), status.get('step'), str(status.get('status', ''))
        if what == 'training':  # it wrote nothing when it ended: killed (kill -9, out of memory)
            lines.append(f'rank {k} died at step {step} without an error of its own (killed?); '
                         f'its log: {logs / f"rank{k}.log"}')
        elif what.startswith('error'):
            lines.append(f'rank {k} stopped at step {step}: {what}')
    checkpoint = last_checkpoint(output_dir)
    lines.append(f'last complete checkpoint: {checkpoint}; go on with --resume_from_checkpoint {checkpoint}'
                 if checkpoint else 'no complete checkpoint was written')
    return '\n'.join(lines)


def launch(command: str, argv: List[str], args=None, env: Optional[Dict[str, str]] = None) -> Optional[int]:
    """Run under torchrun when the environment asks for it; its exit code, or None when not launched."""
    env = dict(os.environ if env is None else env)
    cmd = torchrun_command(command, argv, env)
    if cmd is None:
        return None
    if command == 'infer' and args is not None and not args.val_dataset:
        raise SwiftError('NPROC_PER_NODE splits the rows of --val_dataset across processes; '
                         'chat and piped lines run in one process')
    extra = _run_dir_flags(command, args)
    cmd += extra
    if getattr(args, 'deepspeed', None) and _cpu_only():
        env.setdefault('DS_ACCELERATOR', 'cpu')  # DeepSpeed's CPU accelerator (gloo where oneCCL is absent)
    print(f'swift {command}: launching {env["NPROC_PER_NODE"]} processes: {" ".join(cmd)}', file=sys.stderr)
    code = subprocess.call(cmd, env=env)
    if code != 0 and command in TRAINING_COMMANDS:
        output_dir = extra[1] if extra else str(Path(args.resume_from_checkpoint).resolve().parent) if args else None
        print(f'swift {command}: the launch failed (exit code {code})\n{failure_report(output_dir)}', file=sys.stderr)
    return code


def _cpu_only() -> bool:
    import torch  # only a launch with --deepspeed asks
    return not torch.cuda.is_available()
