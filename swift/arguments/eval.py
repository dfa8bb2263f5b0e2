"""Arguments of `swift eval`: the model (local, or a server at --eval_url) and the benchmarks to score."""
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from swift.utils import SwiftError

from .base import BaseArguments, check_choice, check_range
from .model import AdapterArguments, ModelArguments
from .template import TemplateArguments

EVAL_BACKENDS = ('native', 'evalscope', 'lm_eval', 'VLMEvalKit')


@dataclass
class EvalArguments(AdapterArguments, TemplateArguments, ModelArguments, BaseArguments):
    GROUP_TITLE = 'swift eval'

    eval_dataset: List[str] = field(
        default_factory=list,
        metadata={'help': 'benchmarks: mmlu ceval cmmlu gsm8k arc_c arc_e hellaswag nlvr2 mm_vqa ... (VLMEvalKit: its names)'})
    eval_limit: Optional[int] = field(default=None, metadata={'help': 'rows per subset (the first ones); default all'})
    eval_dataset_args: Dict[str, Any] = field(
        default_factory=dict,
        metadata={'help': 'per benchmark, JSON: {"mmlu": {"few_shot_num": 5, "subsets": [...], "limit": 10}}'})
    eval_dataset_dir: Optional[str] = field(
        default=None, metadata={'help': 'local copies in their original layout (<dir>/mmlu, <dir>/gsm8k, ...)'})
    eval_url: Optional[str] = field(
        default=None, metadata={'help': 'an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1'})
    api_key: Optional[str] = field(default=None, metadata={'help': 'the server\'s API key'})
    eval_output_dir: str = field(default='eval_output', metadata={'help': 'results go to <dir>/<model name>'})
    eval_backend: str = field(default='native', metadata={'help': ' | '.join(EVAL_BACKENDS)})
    eval_batch_size: int = field(default=8, metadata={'help': 'questions per forward pass (local models)'})
    eval_num_proc: int = field(default=8, metadata={'help': 'concurrent requests to --eval_url'})
    eval_chat_template: bool = field(
        default=False,
        metadata={'help': 'ask through the chat template (default: plain text, as the reference harness)'})
    eval_resume: bool = field(default=True, metadata={'help': 'skip questions already in the sample log'})
    load_data_args: bool = field(default=False, metadata={
        'help': 'also score --adapters on the validation rows of the run that saved it (its args.json): '
                'loss and token accuracy, as val_split'})

    ALIASES = {'eval_datasets': 'eval_dataset', 'eval_api_key': 'api_key'}

    def __post_init__(self):
        super().__post_init__()
        # any case, as ms-swift spells them (Native, VLMEvalKit)
        self.eval_backend = {b.lower(): b for b in EVAL_BACKENDS}.get(self.eval_backend.lower(), self.eval_backend)
        if not self.eval_dataset and not self.load_data_args:
            raise SwiftError('--eval_dataset is required: one or more of mmlu ceval cmmlu gsm8k arc_c arc_e hellaswag '
                             '(or --load_data_args true: the training run\'s validation rows)')
        if self.load_data_args and (self.eval_url or self.eval_backend != 'native'):
            raise SwiftError('--load_data_args scores the validation rows with the model\'s weights: it needs '
                             '--eval_backend native and a local model (--model / --adapters), not --eval_url')
        check_choice('eval_backend', self.eval_backend, EVAL_BACKENDS)
        check_range('eval_limit', self.eval_limit, low=1)
        check_range('eval_batch_size', self.eval_batch_size, low=1)
        check_range('eval_num_proc', self.eval_num_proc, low=1)
        if self.eval_url and self.adapters:
            raise SwiftError('--adapters is for local models; a server at --eval_url serves its own adapters')
        if not self.model and not self.eval_url and not self.adapters:
            self.require_model(', or --adapters a swift checkpoint, or --eval_url a running OpenAI-compatible server')

    def output_dir(self) -> Path:
        """<eval_output_dir>/<model>[-<adapter>]: a fixed folder per model, so a rerun resumes there."""
        if self.eval_url:
            name = (self.model or 'server') + '@' + re.sub(r'^https?://', '', self.eval_url)
        else:
            model = Path(self.model).expanduser()
            name = model.resolve().name if model.is_dir() else self.model
            for adapter in self.adapters:
                adapter_path = Path(adapter).resolve()
                name += f'-{adapter_path.parent.name}-{adapter_path.name}'
        name = re.sub(r'[^A-Za-z0-9._@-]+', '_', name.replace('/', '--')).strip('_') or 'model'
        return Path(self.eval_output_dir) / name
