"""Arguments of `swift sft` and `swift pt` (ms-swift's flag names), composed from shared parts."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from swift.arguments import BaseArguments, ModelArguments, TemplateArguments
from swift.tuners.arguments import TunerArguments
from swift.tuners.quant import QuantizeArguments
from swift.utils import SwiftError


@dataclass
class DataArguments:
    dataset: List[str] = field(default_factory=list,
                               metadata={'help': '[hf::|ms::]ID_OR_PATH[:subset][#N], several are concatenated'})
    val_dataset: List[str] = field(default_factory=list)
    split_dataset_ratio: float = field(default=0.0, metadata={'help': 'fraction of --dataset held out for eval'})
    columns: dict = field(default_factory=dict, metadata={'help': 'JSON map of column renames'})
    strict: bool = field(default=False, metadata={'help': 'stop at the first bad row instead of dropping it'})
    truncation_strategy: str = field(default='delete', metadata={'help': 'delete | left | right | error'})
    model_name: List[str] = field(default_factory=list, metadata={'help': 'name for swift/self-cognition'})
    model_author: List[str] = field(default_factory=list, metadata={'help': 'author for swift/self-cognition'})
    loss_scale: str = field(default='default', metadata={'help': 'default | last_round | all'})
    use_chat_template: bool = field(default=True, metadata={
        'help': "false: plain text with no chat format (template 'raw'; swift pt's default)"})
    packing: bool = field(default=False, metadata={'help': 'pack samples into max_length rows (SDPA, no flash-attn)'})
    padding_free: bool = field(default=False, metadata={'help': 'concatenate each batch into one row'})


@dataclass
class TrainingArguments:
    output_dir: Optional[str] = field(default=None, metadata={'help': 'default output/<model>/vN-<timestamp>'})
    add_version: bool = field(default=True, metadata={'help': 'add vN-<timestamp> under --output_dir'})
    learning_rate: Optional[float] = field(default=None, metadata={'help': 'default 1e-4 (LoRA), 1e-5 (full)'})
    num_train_epochs: float = 3.0
    max_steps: int = -1
    per_device_train_batch_size: int = 1
    per_device_eval_batch_size: int = 1
    gradient_accumulation_steps: int = 1
    gradient_checkpointing: bool = False
    chunked_loss: bool = field(default=True, metadata={
        'help': "the LM loss in chunks over trained positions only (no full logits tensor); false: the model's own"})
    weight_decay: float = 0.1
    warmup_ratio: float = 0.05
    lr_scheduler_type: str = 'cosine'
    max_grad_norm: float = 1.0
    logging_steps: int = 5
    save_steps: int = 500
    eval_steps: Optional[int] = None
    save_total_limit: Optional[int] = None
    save_only_model: bool = False
    resume_from_checkpoint: Optional[str] = None
    report_to: List[str] = field(default_factory=lambda: ['tensorboard'],
                                 metadata={'help': 'tensorboard | wandb | swanlab | none'})
    dataloader_num_workers: int = 0
    # benchmark scores at each eval step (swift eval's benchmarks; with no validation set, at every eval_steps)
    eval_benchmarks: List[str] = field(default_factory=list, metadata={
        'help': 'benchmarks scored at each eval step and logged beside the loss: gsm8k arc_c mmlu ...'})
    eval_benchmark_limit: Optional[int] = field(default=None, metadata={
        'help': 'rows per benchmark subset scored at each eval step (the first ones); default all'})
    eval_dataset_dir: Optional[str] = field(default=None, metadata={
        'help': 'local benchmark copies in their original layout, as swift eval --eval_dataset_dir'})
    eval_dataset_args: Dict[str, Any] = field(default_factory=dict, metadata={
        'help': 'per benchmark, JSON, as swift eval: {"gsm8k": {"few_shot_num": 4, "max_new_tokens": 128}}'})

    ALIASES = {'batch_size': 'per_device_train_batch_size', 'eval_batch_size': 'per_device_eval_batch_size'}


@dataclass
class SftArguments(TrainingArguments, DataArguments, TunerArguments, QuantizeArguments, TemplateArguments,
                   ModelArguments, BaseArguments):
    """Everything `swift sft` takes; `swift pt` is the same with loss_scale 'all' on plain text."""

    def __post_init__(self):
        BaseArguments.__post_init__(self)
        if not self.model:
            raise SwiftError('--model is required (registry ID, hub ID or local directory)')
        if not self.dataset:
            raise SwiftError('--dataset is required (a file, directory, registered or hub dataset)')
        if self.truncation_strategy not in ('delete', 'left', 'right', 'error'):
            raise SwiftError(f'--truncation_strategy must be delete, left, right or error, '
                             f'not {self.truncation_strategy!r}')
        if self.loss_scale not in ('default', 'last_round', 'all'):
            raise SwiftError(f'--loss_scale must be default, last_round or all, not {self.loss_scale!r}')
        if self.learning_rate is None:
            # Tuners that update base weights want a smaller step than adapters do.
            self.learning_rate = 1e-5 if self.tuner_type in ('full', 'freeze') else 1e-4
        if self.report_to in (['none'], ['None']):
            self.report_to = []
        if self.packing and self.padding_free:
            raise SwiftError('--packing and --padding_free are alternatives: choose one')
        if (self.packing or self.padding_free) and not self.max_length:
            self.max_length = 2048 if self.packing else None
        self._check_eval_benchmarks()

    def _check_eval_benchmarks(self):
        """Unknown benchmark names fail now, not at the first eval step after minutes of training."""
        if self.eval_benchmark_limit is not None and self.eval_benchmark_limit < 1:
            raise SwiftError(f'--eval_benchmark_limit must be >= 1, got {self.eval_benchmark_limit}')
        if not self.eval_benchmarks:
            if self.eval_benchmark_limit is not None or self.eval_dataset_args:
                raise SwiftError('--eval_benchmark_limit and --eval_dataset_args need --eval_benchmarks, '
                                 'e.g. --eval_benchmarks gsm8k arc_c')
            return
        from swift.eval.registry import get_benchmark, get_benchmarks
        names = {b.name for b in get_benchmarks(self.eval_benchmarks)}
        self.eval_dataset_args = {get_benchmark(k).name: v for k, v in self.eval_dataset_args.items()}
        unknown = sorted(set(self.eval_dataset_args) - names)
        if unknown:
            raise SwiftError(f'--eval_dataset_args names {unknown[0]!r}, which is not among --eval_benchmarks '
                             f'({", ".join(sorted(names))})')


@dataclass
class PtArguments(SftArguments):
    """`swift pt`: every token of plain text is trained, with no chat format around it."""
    loss_scale: str = 'all'
    use_chat_template: bool = False
