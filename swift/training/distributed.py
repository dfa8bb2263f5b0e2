"""Training on several processes: what each process of a `NPROC_PER_NODE=N swift sft ...` (or torchrun) launch
does besides the training itself, and the --fsdp / --deepspeed flags as the transformers Trainer takes them.

- The process group starts here, before the Trainer, with --ddp_timeout and --ddp_backend: every collective
  wait is bounded (transformers passes no timeout on CPU), and the run directory is agreed on before anything
  is written (rank 0 picks the vN-timestamp folder, the others receive it).
- Each rank's stderr goes to <output_dir>/logs/rank<k>.log; rank 0 also keeps the terminal, the others
  stay quiet there. logs/rank<k>.json says where each rank is (the step), so the launcher can say which rank
  died at which step.
- --fsdp / --sharding_strategy → the Trainer's FSDP2 settings (accelerate's fully_shard); --deepspeed → a
  ZeRO config (ms-swift's bundled files, "auto" fields filled by the transformers integration).

Nothing at import time needs torch: swift/training/checks.py resolves the config files from here.
"""
import atexit
import os
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from swift.arguments.distributed import SHARDING_STRATEGIES
from swift.utils import SwiftError, get_logger
from swift.utils.checkpoint import read_json_object
from swift.utils.io import atomic_write_json

logger = get_logger()
CONFIG_DIR = Path(__file__).parent / 'config'  # ms-swift's zero*.json and fsdp2.json
RANK_LOGS = 'logs'


def world_size() -> int:
    return int(os.environ.get('WORLD_SIZE', '1') or 1)


def rank() -> int:
    return int(os.environ.get('RANK', '0') or 0)


# ---------------------------------------------------------------- FSDP2 and DeepSpeed settings


def _read_json(path: Path, flag: str) -> Dict[str, Any]:
    if not path.is_file():
        raise SwiftError(f'--{flag} {path}: no such file (expected a preset name or a JSON file)')
    try:
        return read_json_object(path)
    except SwiftError as e:
        raise SwiftError(f'--{flag} {e}') from None


def deepspeed_config(args) -> Optional[Dict[str, Any]]:
    """The ZeRO config of --deepspeed (a preset's bundled file or the user's), or None. Its "auto" values are left
    for transformers' HfTrainerDeepSpeedConfig, which fills them from the Trainer's arguments."""
    if not getattr(args, 'deepspeed', None):
        return None
    name = args.deepspeed
    path = CONFIG_DIR / f'{name}.json' if not name.lower().endswith('.json') else Path(name).expanduser()
    return _read_json(path, 'deepspeed')


def fsdp_settings(args) -> Tuple[bool, Optional[Dict[str, Any]]]:
    """(fsdp on?, the Trainer's fsdp_config) for --fsdp / --sharding_strategy / --train_type fsdp.

    Presets: full_shard (parameters, gradients and optimizer state sharded; ZeRO-3-like), shard_grad_op
    (parameters kept whole between forward and backward; ZeRO-2-like), offload (+ CPU offload), hybrid_shard
    (shard inside a node, replicate across nodes), fsdp2 (ms-swift's fsdp2.json: full_shard, sharded
    checkpoints, activation checkpointing). Checkpoints of the named strategies hold full state dicts, so a
    checkpoint is a plain model folder and resumes at any world size."""
    fsdp, strategy = getattr(args, 'fsdp', None), getattr(args, 'sharding_strategy', None)
    if not fsdp and (strategy is None or SHARDING_STRATEGIES[strategy] is None):
        return False, None
    if fsdp and fsdp.lower().endswith('.json') or fsdp == 'fsdp2':
        path = CONFIG_DIR / 'fsdp2.json' if fsdp == 'fsdp2' else Path(fsdp).expanduser()
        data = _read_json(path, 'fsdp')
        options = str(data.get('fsdp', 'full_shard auto_wrap')).split()
        config = {k.removeprefix('fsdp_'): v for k, v in dict(data.get('fsdp_config', {})).items()}
    else:
        options = (fsdp or '').split()
        config = {'state_dict_type': 'FULL_STATE_DICT'}
    if strategy is not None and SHARDING_STRATEGIES[strategy]:
        options = [o for o in options if o not in ('full_shard', 'shard_grad_op', 'hybrid_shard')]
        options.append(SHARDING_STRATEGIES[strategy])
    config.setdefault('version', 2)
    config.setdefault('auto_wrap_policy', 'TRANSFORMER_BASED_WRAP')
    if 'offload' in options:
        config['cpu_offload'] = True
    if 'shard_grad_op' in options:
        config['reshard_after_forward'] = False
    else:  # full_shard, hybrid_shard, offload alone
        config.setdefault('reshard_after_forward', True)
    if getattr(args, 'gradient_checkpointing', False):
        # FSDP's own activation checkpointing; the Trainer's would all-gather the parameters once more
        config['activation_checkpointing'] = True
    if config.get('version') != 2:
        raise SwiftError(f'--fsdp: only FSDP2 (version 2) is supported, the config asks for {config.get("version")}')
    return True, config


def hybrid_shard_mesh(args) -> Optional[Tuple[int, int]]:
    """(replicas, shards) for hybrid_shard: shard over the processes of a node, replicate over the nodes."""
    fsdp, strategy = getattr(args, 'fsdp', None) or '', getattr(args, 'sharding_strategy', None)
    if 'hybrid_shard' not in fsdp.split() and strategy != 'HYBRID_SHARD':
        return None
    per_node = int(os.environ.get('LOCAL_WORLD_SIZE', world_size()))
    return max(1, world_size() // per_node), per_node


def trainer_kwargs(args, use_cpu: bool) -> Dict[str, Any]:
    """The distributed part of transformers.TrainingArguments."""
    kwargs: Dict[str, Any] = {'ddp_timeout': args.ddp_timeout, 'ddp_backend': args.ddp_backend or
                              ('gloo' if use_cpu and world_size() > 1 else None)}
    if args.ddp_find_unused_parameters is not None:
        kwargs['ddp_find_unused_parameters'] = args.ddp_find_unused_parameters
    enabled, config = fsdp_settings(args)
    if enabled:
        kwargs.update(fsdp=True, fsdp_config=config)
        if config.get('activation_checkpointing'):
            kwargs['gradient_checkpointing'] = False
        mesh = hybrid_shard_mesh(args)
        if mesh and mesh[0] > 1 and use_cpu:
            # found with 2 torchrun groups × 2 CPU processes: accelerate's Accelerator validates the 2-D mesh against
            # its distributed type, which for CPU processes is MULTI_CPU, and raises a ValueError on every rank
            raise SwiftError(f'hybrid_shard over {mesh[0]} nodes needs accelerators: accelerate builds its 2-D mesh '
                             '(ParallelismConfig) for GPU processes only and refuses CPU ones (MULTI_CPU). On CPU '
                             'use --fsdp full_shard (hybrid_shard on one node is the same)')
        if mesh and mesh[0] > 1:
            from accelerate.parallelism_config import ParallelismConfig
            kwargs['parallelism_config'] = ParallelismConfig(dp_replicate_size=mesh[0], dp_shard_size=mesh[1])
    ds = deepspeed_config(args)
    if ds is not None:
        kwargs['deepspeed'] = ds
        if use_cpu:
            kwargs.update(_deepspeed_on_cpu(args))
    return kwargs


def _deepspeed_on_cpu(args) -> Dict[str, Any]:
    """accelerate takes DeepSpeed only off its CPU path, and there it finds no backend without a GPU (so it would
    count one process). Configure its state here, as DeepSpeed over gloo with DeepSpeed's CPU accelerator
    (DS_ACCELERATOR=cpu), and let the Trainer use that state."""
    from accelerate.state import AcceleratorState, PartialState
    os.environ.setdefault('DS_ACCELERATOR', 'cpu')
    os.environ['ACCELERATE_USE_DEEPSPEED'] = 'true'
    AcceleratorState._reset_state(reset_partial_state=True)  # as TrainingArguments does before it sets one up
    try:
        PartialState(backend=args.ddp_backend or 'gloo', timeout=timedelta(seconds=args.ddp_timeout))
    finally:
        del os.environ['ACCELERATE_USE_DEEPSPEED']
    return {'use_cpu': False, 'accelerator_config': {'use_configured_state': True}}


# ---------------------------------------------------------------- the process group and the run directory


def init_process_group(args, use_cpu: bool) -> None:
    """Start torch.distributed with the run's timeout before the Trainer does (it then reuses the group)."""
    import torch.distributed as dist
    if world_size() <= 1 or dist.is_initialized():
        return
    backend = args.ddp_backend or ('gloo' if use_cpu else None)
    if use_cpu and getattr(args, 'deepspeed', None):
        os.environ.setdefault('DS_ACCELERATOR', 'cpu')  # before deepspeed is imported: its CPU accelerator
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=args.ddp_timeout))


def shared_output_dir(resolve: Callable[[], Path]) -> Path:
    """The run directory, chosen once: by rank 0 and sent to the others (their clocks and directory listings
    would otherwise each pick a vN-timestamp folder of their own)."""
    if world_size() <= 1:
        return resolve()
    import torch.distributed as dist
    box = [str(resolve())] if rank() == 0 else [None]
    dist.broadcast_object_list(box, src=0)
    return Path(box[0])


# ---------------------------------------------------------------- per-rank logs and where each rank is


def rank_status_file(output_dir, k: int) -> Path:
    return Path(output_dir) / RANK_LOGS / f'rank{k}.json'


def write_rank_status(output_dir, step: int, status: str) -> None:
    atomic_write_json(rank_status_file(output_dir, rank()), {'rank': rank(), 'pid': os.getpid(), 'step': step,
                                                             'status': status})


class _Tee(threading.Thread):
    """Copies what arrives on a pipe to the terminal's stderr and to a file."""

    def __init__(self, read_fd: int, terminal_fd: int, log):
        super().__init__(daemon=True)
        self.read_fd, self.terminal_fd, self.log = read_fd, terminal_fd, log

    def run(self):
        while True:
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                return
            os.write(self.terminal_fd, chunk)
            self.log.write(chunk)
            self.log.flush()


def redirect_rank_stderr(output_dir) -> Optional[Path]:
    """stderr of this process (Python's and the C libraries') → output_dir/logs/rank<k>.log; rank 0 keeps the
    terminal too. A SIGTERM from the launcher (another rank failed) is recorded before the process ends."""
    if world_size() <= 1:
        return None
    path = Path(output_dir) / RANK_LOGS / f'rank{rank()}.log'
    path.parent.mkdir(parents=True, exist_ok=True)
    log = open(path, 'ab', buffering=0)
    sys.stderr.flush()
    if rank() != 0:
        os.dup2(log.fileno(), 2)
    else:
        terminal = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        tee = _Tee(read_fd, terminal, log)
        tee.start()

        def _drain():  # let the last lines (a traceback included) reach both before the process ends
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a stop now ends the process, not this handler
            sys.stderr.flush()
            os.dup2(terminal, 2)
            tee.join(timeout=5)
        atexit.register(_drain)

    def _stopped(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        write_rank_status(output_dir, _current_step[0], 'stopped by the launcher')
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, _stopped)
    return path


_current_step = [0]


def note_step(output_dir, step: int, status: str = 'training') -> None:
    _current_step[0] = step
    if world_size() > 1:
        write_rank_status(output_dir, step, status)


def use_fsdp_on_cpu(accelerator, training_args) -> bool:
    """accelerate turns FSDP on for GPU-like devices only; several CPU processes (gloo) run DDP instead, although
    torch's fully_shard works there too. When --fsdp asked for it, make the CPU processes an FSDP2 group: the
    same plugin the Trainer would have handed to accelerate, so the code path is accelerate's own."""
    from accelerate.state import PartialState
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin
    state = accelerator.state
    if training_args.fsdp_plugin_args is None or state.distributed_type != DistributedType.MULTI_CPU:
        return False
    plugin_args = dict(training_args.fsdp_plugin_args)
    if plugin_args.pop('cpu_offload', False):
        # FSDP2's offload pins host memory for an accelerator ("Cannot access accelerator device" without one);
        # on CPU processes the parameters and optimizer state are in CPU memory already
        logger.info('--fsdp offload: nothing to offload on CPU processes (everything is in CPU memory); ignored')
    state.fsdp_plugin = FullyShardedDataParallelPlugin(**plugin_args)
    state.distributed_type = DistributedType.FSDP
    PartialState._shared_state['distributed_type'] = DistributedType.FSDP  # as AcceleratorState sets it itself
    logger.info('FSDP2 over the CPU processes (gloo)')
    return True


def reduce_counts(accelerator, *values: int) -> Tuple[int, ...]:
    """Sums over all ranks (each call is a collective: every rank calls it at the same step)."""
    if accelerator is None or accelerator.num_processes <= 1:
        return tuple(values)
    import torch
    total = accelerator.reduce(torch.tensor(values, dtype=torch.float64, device=accelerator.device), 'sum')
    return tuple(int(v) for v in total.tolist())
