"""Arguments of `swift infer` and `swift deploy`: the engine group they share, plus each command's own."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from swift.utils import SwiftError

from .base import ArgumentGroup, BaseArguments, check_choice, check_range
from .generation import GenerationArguments
from .model import AdapterArguments, ModelArguments
from .template import TemplateArguments

# --infer_backend: ms-swift 4 calls the PyTorch (transformers) engine `transformers`; `pt` is its older name
INFER_BACKEND_ALIASES = {'pt': 'transformers'}
PROMPT_TRUNCATION = ('delete', 'left', 'right')  # --truncation_strategy for prompts


@dataclass
class InferEngineArguments(ArgumentGroup):
    GROUP_TITLE = 'engine'

    infer_backend: str = field(default='transformers', metadata={'help': 'transformers (alias pt) | vllm | sglang | '
                                                                         'lmdeploy'})
    max_batch_size: int = field(default=32, metadata={'help': 'most sequences decoded together'})
    merge_lora: bool = field(default=False, metadata={'help': 'merge the adapter into the weights before serving'})
    engine_kwargs: Optional[Dict[str, Any]] = field(
        default=None, metadata={'help': 'extra keywords for the backend engine, as JSON (e.g. gpu_memory_utilization)'})
    truncation_strategy: str = field(default='delete', metadata={
        'help': 'a prompt longer than --max_length: delete (refuse the request) | left (keep its end) | right'})

    def __post_init__(self):
        super().__post_init__()
        self.infer_backend = INFER_BACKEND_ALIASES.get(self.infer_backend, self.infer_backend)
        check_range('max_batch_size', self.max_batch_size, low=1)
        check_choice('truncation_strategy', self.truncation_strategy, PROMPT_TRUNCATION)


@dataclass
class _InferCommon(InferEngineArguments, GenerationArguments, AdapterArguments, TemplateArguments, ModelArguments,
                   BaseArguments):
    """What swift infer and swift deploy both take."""

    def __post_init__(self):
        super().__post_init__()
        if not self.model and not self.adapters:
            self.require_model(', or --adapters a swift checkpoint')


@dataclass
class InferArguments(_InferCommon):
    """`swift infer`: chat on a terminal, answer piped lines, or a whole dataset (batch mode)."""
    GROUP_TITLE = 'swift infer'

    stream: Optional[bool] = field(default=None, metadata={'help': 'stream the reply (default: on a terminal)'})
    val_dataset: List[str] = field(default_factory=list,
                                   metadata={'help': 'batch mode: dataset files or IDs to answer, row by row'})
    result_path: Optional[str] = field(default=None,
                                       metadata={'help': 'batch mode: JSONL output (resumed when it exists)'})
    load_data_args: bool = field(default=False, metadata={
        'help': 'batch mode on the validation rows of the training run that saved --adapters (its args.json: '
                'the same datasets, split and seed)'})
    val_dataset_sample: Optional[int] = field(default=None, metadata={
        'help': 'batch mode: answer only the first N rows (of --val_dataset or the training run\'s validation rows)'})
    logprobs: bool = field(default=False, metadata={
        'help': 'batch mode: each result line gets "logprobs" (OpenAI\'s format: every generated token\'s log '
                'probability under the model)'})
    top_logprobs: Optional[int] = field(default=None, metadata={
        'help': 'with --logprobs: also the N most likely tokens at each position'})
    num_beams: int = field(default=1, metadata={
        'help': 'beam search with this many beams (transformers\' generate; greedy, the transformers backend)'})

    def __post_init__(self):
        super().__post_init__()
        if self.result_path and not self.val_dataset and not self.load_data_args:
            raise SwiftError('--result_path is for batch mode: pass --val_dataset FILE_OR_ID (or --load_data_args '
                             'true) as well')
        check_range('val_dataset_sample', self.val_dataset_sample, low=1)
        if self.val_dataset_sample and not (self.val_dataset or self.load_data_args):
            raise SwiftError('--val_dataset_sample limits batch mode\'s rows: pass --val_dataset (or --load_data_args '
                             'true) as well')
        check_range('top_logprobs', self.top_logprobs, low=0)
        check_range('num_beams', self.num_beams, low=1)
        if self.num_beams > 1 and (self.temperature or self.logprobs):
            raise SwiftError(f'--num_beams {self.num_beams}: beam search is deterministic and returns no log-'
                             'probabilities; leave out --temperature and --logprobs (or use --num_beams 1)')
        if self.top_logprobs is not None and not self.logprobs:
            raise SwiftError('--top_logprobs needs --logprobs true')
        if self.logprobs and not (self.val_dataset or self.load_data_args):
            raise SwiftError('--logprobs are written to batch mode\'s result file: pass --val_dataset (or '
                             '--load_data_args true); swift deploy returns them per request (logprobs: true)')
        if self.load_data_args and self.val_dataset:
            raise SwiftError('--load_data_args answers the training run\'s validation rows; --val_dataset names '
                             'other rows: choose one')


@dataclass
class DeployArguments(_InferCommon):
    """`swift deploy`: serve the model behind an OpenAI-compatible API."""
    GROUP_TITLE = 'server'

    host: str = field(default='127.0.0.1', metadata={'help': 'address to listen on (0.0.0.0: every interface)'})
    port: int = field(default=8000, metadata={'help': 'port to listen on (0: any free port, printed at start)'})
    served_model_name: Optional[str] = field(
        default=None, metadata={'help': 'the model name clients send (default: the model\'s last path component)'})
    owned_by: str = field(default='swift', metadata={'help': 'the owned_by field of the models in /v1/models'})
    api_key: Optional[str] = field(
        default=None, metadata={'help': 'require "Authorization: Bearer <key>" on /v1 routes'})
    max_queue_size: int = field(
        default=128, metadata={'help': 'requests waiting for a free slot; past it the server answers 429'})
    request_timeout: float = field(
        default=600.0, metadata={'help': 'seconds a request may take from arrival to its last token (0: no limit)'})
    log_interval: float = field(
        default=10.0, metadata={'help': 'seconds between status lines (requests in flight, tokens/s); 0: none'})
    access_log: bool = field(default=False, metadata={'help': 'log every HTTP request'})
    max_request_bytes: int = field(
        default=16 * 1024 * 1024, metadata={'help': 'largest request body in bytes; past it the server answers 413 '
                                                    '(0: no limit)'})
    body_timeout: float = field(
        default=30.0, metadata={'help': 'seconds a client may take to send its request body; past it, 408 '
                                        '(0: no limit)'})
    max_embedding_inputs: int = field(
        default=256, metadata={'help': 'inputs in one /v1/embeddings request; past it, 400'})
    shutdown_timeout: float = field(
        default=30.0, metadata={'help': 'seconds running requests get to finish after SIGTERM or Ctrl-C; then each '
                                        'ends with an error (503, or an error event and [DONE] in a stream)'})
    enable_docs: bool = field(
        default=True, metadata={'help': 'serve /docs, /redoc and /openapi.json (behind the key with --api_key)'})

    def __post_init__(self):
        super().__post_init__()
        check_range('max_queue_size', self.max_queue_size, low=0)
        check_range('request_timeout', self.request_timeout, low=0, what='>= 0 (0: no limit)')
        check_range('port', self.port, 0, 65535)
        check_range('log_interval', self.log_interval, low=0)
        check_range('max_request_bytes', self.max_request_bytes, low=0, what='>= 0 (0: no limit)')
        check_range('body_timeout', self.body_timeout, low=0, what='>= 0 (0: no limit)')
        check_range('max_embedding_inputs', self.max_embedding_inputs, low=1)
        check_range('shutdown_timeout', self.shutdown_timeout, low=0)
        if self.api_key == '':
            raise SwiftError('--api_key is empty: give a key, or leave the flag out for no authentication')
