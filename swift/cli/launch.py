"""Multi-process launch: `NPROC_PER_NODE=4 swift sft ...` re-runs the command under torchrun.

As in ms-swift, the environment chooses the launch: NPROC_PER_NODE processes on this machine, and
for several machines NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT. Inside the launched
processes torchrun sets LOCAL_RANK, so they run the command itself; the transformers Trainer then
trains with DDP (NCCL on GPUs, gloo on CPU).
"""
import os
import subprocess
import sys
from typing import Dict, List, Mapping, Optional

from swift.utils.errors import SwiftError

# commands that train, and so can be launched on several processes
DISTRIBUTED_COMMANDS = ('sft', 'pt', 'rlhf')
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


def launch(command: str, argv: List[str], env: Optional[Dict[str, str]] = None) -> Optional[int]:
    """Run under torchrun when the environment asks for it; its exit code, or None when not launched."""
    env = dict(os.environ if env is None else env)
    cmd = torchrun_command(command, argv, env)
    if cmd is None:
        return None
    print(f'swift {command}: launching {env["NPROC_PER_NODE"]} processes: {" ".join(cmd)}', file=sys.stderr)
    return subprocess.call(cmd, env=env)
