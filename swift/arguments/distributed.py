"""How a training run is spread over processes: DDP settings, FSDP2 and DeepSpeed ZeRO (ms-swift's flags).

The processes themselves come from the launch (NPROC_PER_NODE=N swift sft ..., or torchrun); these flags say
what the processes do together. swift.training.distributed turns them into the transformers Trainer's.
"""
from dataclasses import dataclass, field
from typing import Optional

from swift.utils import SwiftError

from .base import ArgumentGroup, check_choice, check_range

# --fsdp presets; anything else is a JSON file (ms-swift's layout: {"fsdp": "...", "fsdp_config": {...}})
FSDP_PRESETS = ('fsdp2', 'full_shard', 'shard_grad_op', 'hybrid_shard', 'offload')
# --sharding_strategy (FSDP1's names, as the seeds spell them) → the --fsdp preset that does the same under FSDP2
SHARDING_STRATEGIES = {'FULL_SHARD': 'full_shard', 'SHARD_GRAD_OP': 'shard_grad_op', 'HYBRID_SHARD': 'hybrid_shard',
                       'NO_SHARD': None}
DEEPSPEED_PRESETS = ('zero0', 'zero1', 'zero2', 'zero3', 'zero2_offload', 'zero3_offload')
DDP_BACKENDS = ('nccl', 'gloo', 'mpi', 'xccl', 'hccl', 'cncl', 'mccl')


@dataclass
class DistributedArguments(ArgumentGroup):
    GROUP_TITLE = 'distributed training'

    ddp_backend: Optional[str] = field(default=None, metadata={
        'help': 'nccl | gloo | ... (default: nccl on GPUs, gloo on CPU)'})
    ddp_timeout: int = field(default=1800, metadata={
        'help': 'seconds any process waits for the others in a collective before the run stops with an error'})
    ddp_find_unused_parameters: Optional[bool] = field(default=None, metadata={
        'help': 'DDP: look for parameters that got no gradient (needed when some layers are skipped)'})
    fsdp: Optional[str] = field(default=None, metadata={
        'help': 'FSDP2: fsdp2 | full_shard | shard_grad_op | hybrid_shard | offload (combinable: "full_shard '
                'offload"), or a JSON file {"fsdp": ..., "fsdp_config": {...}}'})
    sharding_strategy: Optional[str] = field(default=None, metadata={
        'help': 'FULL_SHARD | SHARD_GRAD_OP | HYBRID_SHARD | NO_SHARD; alone it turns on FSDP (NO_SHARD: DDP)'})
    deepspeed: Optional[str] = field(default=None, metadata={
        'help': 'DeepSpeed ZeRO: zero0 | zero1 | zero2 | zero3 | zero2_offload | zero3_offload, or a JSON file'})
    local_rank: Optional[int] = field(default=None, metadata={
        'help': "set by the deepspeed launcher (--local_rank=K); the process's LOCAL_RANK environment variable is "
                'what is used'})
    sequence_parallel_size: int = field(default=1, metadata={
        'help': 'Ulysses sequence parallelism: groups of N processes split each row by position (all-to-all over the '
                'attention heads); N divides the processes and the heads; sft/pt under DDP'})

    def __post_init__(self):
        super().__post_init__()
        check_range('ddp_timeout', self.ddp_timeout, low=1)
        if self.ddp_backend is not None:
            check_choice('ddp_backend', self.ddp_backend, DDP_BACKENDS)
        if getattr(self, 'tuner_type', None) == 'fsdp':  # the seeds' `--train_type fsdp`: full training, sharded
            self.tuner_type = 'full'
            if not self.fsdp and not self.sharding_strategy:
                self.fsdp = 'fsdp2'
        if self.sharding_strategy is not None:
            self.sharding_strategy = self.sharding_strategy.upper()
            check_choice('sharding_strategy', self.sharding_strategy, SHARDING_STRATEGIES)
        if self.fsdp and not self.fsdp.lower().endswith('.json'):
            for option in self.fsdp.split():
                check_choice('fsdp', option, FSDP_PRESETS + ('auto_wrap',))
        if self.deepspeed and not self.deepspeed.lower().endswith('.json'):
            check_choice('deepspeed', self.deepspeed, DEEPSPEED_PRESETS)
        if self.deepspeed and (self.fsdp or self.sharding_strategy):
            raise SwiftError('--deepspeed and --fsdp / --sharding_strategy are alternatives: choose one')
        check_range('sequence_parallel_size', self.sequence_parallel_size, low=1)
        if self.sequence_parallel_size > 1 and (self.deepspeed or self.fsdp or
                                                SHARDING_STRATEGIES.get(self.sharding_strategy or 'NO_SHARD')):
            raise SwiftError('--sequence_parallel_size runs under DDP only for now (with --deepspeed / --fsdp it is '
                             'untested): drop one of them (docs/distributed.md)')
