"""Arguments of `swift rollout`: a model served for GRPO/PPO/GKD rollouts (swift rlhf --use_vllm true
--vllm_mode server), with the trainer's weights pushed to it before each rollout."""
from dataclasses import dataclass, field

from .base import check_range
from .infer import _InferCommon


@dataclass
class RolloutServerArguments(_InferCommon):
    """`swift rollout`."""
    GROUP_TITLE = 'swift rollout'

    host: str = field(default='127.0.0.1', metadata={'help': 'address to listen on (0.0.0.0: every interface)'})
    port: int = field(default=8000, metadata={'help': 'port to listen on (0: any free port, printed at start)'})

    def __post_init__(self):
        super().__post_init__()
        check_range('port', self.port, low=0, high=65535)
