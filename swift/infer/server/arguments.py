"""Arguments of `swift deploy`: everything `swift infer` takes, plus the server's own flags."""
from dataclasses import dataclass, field
from typing import Optional

from swift.utils import SwiftError

from ..arguments import InferArguments


@dataclass
class DeployArguments(InferArguments):
    host: str = field(default='127.0.0.1', metadata={'help': 'address to listen on (0.0.0.0: every interface)'})
    port: int = field(default=8000, metadata={'help': 'port to listen on (0: any free port, printed at start)'})
    served_model_name: Optional[str] = field(
        default=None, metadata={'help': 'the model name clients send (default: the model\'s last path component)'})
    api_key: Optional[str] = field(
        default=None, metadata={'help': 'require "Authorization: Bearer <key>" on /v1 routes'})
    max_queue_size: int = field(
        default=128, metadata={'help': 'requests waiting for a free slot; past it the server answers 429'})
    request_timeout: float = field(
        default=600.0, metadata={'help': 'seconds a request may take from arrival to its last token (0: no limit)'})
    log_interval: float = field(
        default=10.0, metadata={'help': 'seconds between status lines (requests in flight, tokens/s); 0: none'})
    access_log: bool = field(default=False, metadata={'help': 'log every HTTP request'})

    def __post_init__(self):
        super().__post_init__()
        checks = [(0 <= self.max_queue_size, 'max_queue_size', '>= 0'),
                  (0 <= self.request_timeout, 'request_timeout', '>= 0 (0: no limit)'),
                  (0 <= self.port <= 65535, 'port', 'in [0, 65535]'),
                  (0 <= self.log_interval, 'log_interval', '>= 0')]
        for ok, name, expected in checks:
            if not ok:
                raise SwiftError(f'--{name} must be {expected}, got {getattr(self, name)!r}')
        batch_only = [name for name in ('val_dataset', 'result_path') if getattr(self, name, None)]
        if batch_only:
            raise SwiftError(f'--{batch_only[0]} is for `swift infer` batch mode; `swift deploy` answers requests '
                             'as they come')
        if self.api_key == '':
            raise SwiftError('--api_key is empty: give a key, or leave the flag out for no authentication')
