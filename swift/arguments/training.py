"""The training loop's flags (what the transformers Trainer gets), benchmarks scored while training, and the
commands that compose them: `swift sft` and `swift pt`."""
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Optional

from swift.utils import SwiftError

from .base import ArgumentGroup, BaseArguments, check_choice, check_range, override
from .data import CachedDataArguments, DataArguments
from .distributed import DistributedArguments
from .model import ModelArguments
from .quantization import QuantizeArguments
from .task import TaskArguments
from .template import TemplateArguments
from .tuner import TunerArguments

FULL_TUNER_TYPES = ('full', 'freeze')  # tuners that update base weights: a smaller default learning rate
STRATEGIES = ('no', 'steps', 'epoch')  # --save_strategy / --eval_strategy


@dataclass
class TrainerArguments(ArgumentGroup):
    """The training loop, with ms-swift's names; swift.training.runner turns them into transformers.TrainingArguments."""
    GROUP_TITLE = 'training loop'

    output_dir: Optional[str] = field(default=None, metadata={'help': 'default output/<model>/vN-<timestamp>'})
    add_version: bool = field(default=True, metadata={'help': 'add vN-<timestamp> under --output_dir'})
    learning_rate: Optional[float] = field(default=None, metadata={'help': 'default 1e-4 (LoRA), 1e-5 (full)'})
    num_train_epochs: float = field(default=3.0, metadata={'help': 'passes over the training rows'})
    max_epochs: Optional[int] = field(default=None, metadata={
        'help': 'stop after this many passes over the data, whatever --max_steps / --num_train_epochs say (then the '
                'final checkpoint is saved; useful with --streaming, as ms-swift)'})
    max_steps: int = field(default=-1, metadata={'help': 'stop after this many optimizer steps (-1: the epochs decide)'})
    per_device_train_batch_size: int = field(default=1, metadata={'help': 'rows per device per micro-batch'})
    per_device_eval_batch_size: int = field(default=1, metadata={'help': 'rows per device per evaluation batch'})
    gradient_accumulation_steps: int = field(default=1, metadata={'help': 'micro-batches per optimizer step'})
    gradient_checkpointing: Optional[bool] = field(default=None, metadata={
        'help': 'recompute activations in backward (default: on a GPU/NPU as ms-swift, off on CPU)'})
    gradient_checkpointing_kwargs: Dict[str, Any] = field(default_factory=dict, metadata={
        'help': 'JSON keywords of torch\'s checkpointing, e.g. {"use_reentrant": false}'})
    weight_decay: float = field(default=0.1, metadata={'help': 'AdamW weight decay'})
    warmup_ratio: float = field(default=0.05, metadata={'help': 'fraction of the steps spent warming up'})
    lr_scheduler_type: str = field(default='cosine', metadata={'help': 'cosine | linear | constant | '
                                                                       'cosine_with_min_lr | ... (transformers\')'})
    lr_scheduler_kwargs: Dict[str, Any] = field(default_factory=dict, metadata={
        'help': 'JSON keywords of the scheduler, e.g. {"min_lr": 1e-6} with cosine_with_min_lr'})
    optim: str = field(default='adamw_torch', metadata={'help': "transformers' optimizer name: adamw_torch | "
                                                                'adamw_torch_fused | adafactor | sgd | ...'})
    optim_args: Optional[str] = field(default=None, metadata={'help': "extra optimizer arguments (transformers')"})
    adam_beta1: float = field(default=0.9, metadata={'help': 'Adam beta1'})
    adam_beta2: float = field(default=0.95, metadata={'help': 'Adam beta2 (ms-swift\'s 0.95)'})
    adam_epsilon: float = field(default=1e-8, metadata={'help': 'Adam epsilon'})
    neftune_noise_alpha: Optional[float] = field(default=None, metadata={
        'help': 'NEFTune: noise on the input embeddings while training (5, 10, 15)'})
    use_liger_kernel: bool = field(default=False, metadata={
        'help': 'Liger kernels (needs a CUDA GPU and pip install liger-kernel)'})
    router_aux_loss_coef: float = field(default=0.0, metadata={
        'help': "MoE models: weight of the router's load-balancing loss (> 0 turns the loss on)"})
    full_determinism: bool = field(default=False, metadata={'help': 'deterministic algorithms (slower)'})
    max_grad_norm: float = field(default=1.0, metadata={'help': 'clip gradients to this norm'})
    logging_steps: int = field(default=5, metadata={'help': 'steps between two log lines'})
    logging_first_step: bool = field(default=True, metadata={'help': 'log the first step too'})
    save_strategy: str = field(default='steps', metadata={'help': 'steps | epoch | no (the final checkpoint is '
                                                                  'always saved)'})
    save_steps: int = field(default=500, metadata={'help': 'steps between two checkpoints'})
    eval_strategy: Optional[str] = field(default=None, metadata={
        'help': 'steps | epoch | no (default: --save_strategy when there is validation data, else no)'})
    eval_on_start: bool = field(default=False, metadata={'help': 'evaluate once before the first step'})
    eval_steps: Optional[int] = field(default=None, metadata={'help': 'steps between two evaluations '
                                                                      '(default: --save_steps)'})
    save_total_limit: Optional[int] = field(default=None, metadata={'help': 'keep only the newest N checkpoints'})
    metric_for_best_model: Optional[str] = field(default=None, metadata={
        'help': 'an eval metric (loss, token_acc, ...) that marks the best checkpoint, which --save_total_limit keeps '
                '(default with --predict_with_generate: rouge-l, as ms-swift)'})
    greater_is_better: Optional[bool] = field(default=None, metadata={
        'help': 'whether a larger --metric_for_best_model is better (default: true unless it is a loss)'})
    create_checkpoint_symlink: bool = field(default=False, metadata={
        'help': 'link <run>/last to the final checkpoint and <run>/best to the best one'})
    save_only_model: bool = field(default=False, metadata={'help': 'no optimizer state in checkpoints '
                                                                   '(smaller; no exact resume)'})
    resume_from_checkpoint: Optional[str] = field(default=None, metadata={'help': 'a checkpoint-N folder to go on '
                                                                                  'from'})
    ignore_data_skip: bool = field(default=False, metadata={
        'help': 'when resuming, start the data from its beginning instead of skipping the batches already seen '
                '(with --resume_only_model: a new run from step 0 on the checkpoint\'s weights)'})
    resume_only_model: bool = field(default=False, metadata={
        'help': 'with --resume_from_checkpoint: load only the model weights, not the optimizer, scheduler or random '
                'state (as ms-swift; the step count and data position go on unless --ignore_data_skip)'})
    report_to: List[str] = field(default_factory=lambda: ['tensorboard'],
                                 metadata={'help': 'tensorboard | wandb | swanlab | none'})
    logging_dir: Optional[str] = field(default=None, metadata={'help': 'TensorBoard\'s folder (default <run>/runs)'})
    dataloader_num_workers: int = field(default=0, metadata={'help': 'processes that build batches'})
    dataloader_drop_last: bool = field(default=False, metadata={'help': 'drop the last incomplete batch'})
    dataloader_pin_memory: bool = field(default=True, metadata={'help': 'pin batches in page-locked memory'})
    dataloader_persistent_workers: bool = field(default=False, metadata={'help': 'keep the workers between epochs'})
    dataloader_prefetch_factor: Optional[int] = field(default=None, metadata={
        'help': 'batches each worker loads ahead (needs --dataloader_num_workers > 0)'})
    group_by_length: bool = field(default=False, metadata={'help': 'batch rows of similar length together'})
    train_dataloader_shuffle: bool = field(default=True, metadata={'help': 'false: batches in the rows\' order'})

    ALIASES = {'batch_size': 'per_device_train_batch_size', 'eval_batch_size': 'per_device_eval_batch_size'}

    def __post_init__(self):
        super().__post_init__()
        for flag in ('per_device_train_batch_size', 'per_device_eval_batch_size', 'gradient_accumulation_steps',
                     'logging_steps', 'save_steps', 'eval_steps', 'save_total_limit'):
            check_range(flag, getattr(self, flag), low=1)
        check_range('num_train_epochs', self.num_train_epochs, what='> 0', low=1e-9)
        check_range('max_epochs', self.max_epochs, low=1)
        check_range('warmup_ratio', self.warmup_ratio, 0, 1)
        check_range('learning_rate', self.learning_rate, low=0)
        check_choice('save_strategy', self.save_strategy, STRATEGIES)
        if self.eval_strategy is not None:
            check_choice('eval_strategy', self.eval_strategy, STRATEGIES)
        check_range('router_aux_loss_coef', self.router_aux_loss_coef, low=0)
        check_range('dataloader_num_workers', self.dataloader_num_workers, low=0)
        if self.dataloader_prefetch_factor is not None and not self.dataloader_num_workers:
            raise SwiftError('--dataloader_prefetch_factor needs --dataloader_num_workers > 0')
        if self.max_steps == 0 or self.max_steps < -1:
            raise SwiftError(f'--max_steps must be >= 1 (or -1: the epochs decide), got {self.max_steps}')
        if self.report_to in (['none'], ['None']):
            self.report_to = []
        if self.resume_only_model and not self.resume_from_checkpoint:
            raise SwiftError('--resume_only_model says what --resume_from_checkpoint loads: pass that too')
        if self.greater_is_better is not None and not self.metric_for_best_model:
            raise SwiftError('--greater_is_better says how to compare --metric_for_best_model: pass that too')


@dataclass
class TrainBenchmarkArguments(ArgumentGroup):
    """Benchmarks (swift eval's) scored at each eval step and logged beside the loss."""
    GROUP_TITLE = 'benchmarks while training'

    eval_benchmarks: List[str] = field(default_factory=list, metadata={
        'help': 'benchmarks scored at each eval step and logged beside the loss: gsm8k arc_c mmlu ...'})
    eval_benchmark_limit: Optional[int] = field(default=None, metadata={
        'help': 'rows per benchmark subset scored at each eval step (the first ones); default all'})
    eval_dataset_dir: Optional[str] = field(default=None, metadata={
        'help': 'local benchmark copies in their original layout, as swift eval --eval_dataset_dir'})
    eval_dataset_args: Dict[str, Any] = field(default_factory=dict, metadata={
        'help': 'per benchmark, JSON, as swift eval: {"gsm8k": {"few_shot_num": 4, "max_new_tokens": 128}}'})

    def __post_init__(self):
        super().__post_init__()
        check_range('eval_benchmark_limit', self.eval_benchmark_limit, low=1)
        if not self.eval_benchmarks and (self.eval_benchmark_limit is not None or self.eval_dataset_args
                                         or self.eval_dataset_dir):
            raise SwiftError('--eval_benchmark_limit, --eval_dataset_args and --eval_dataset_dir need '
                             '--eval_benchmarks, e.g. --eval_benchmarks gsm8k arc_c')


@dataclass
class LanguageModelingArguments(ArgumentGroup):
    """How swift sft / pt batch samples and compute the language-modelling loss."""
    GROUP_TITLE = 'batching and loss'

    packing: bool = field(default=False, metadata={'help': 'pack samples into max_length rows (SDPA, no flash-attn)'})
    padding_free: bool = field(default=False, metadata={'help': 'concatenate each batch into one row'})
    streaming: bool = field(default=False, metadata={
        'help': 'encode training rows as training consumes them (needs --max_steps; no --packing)'})
    lazy_tokenize: Optional[bool] = field(default=None, metadata={
        'help': 'encode each row when training reads it, after a validation pass (default: on for multimodal '
                'models, as in ms-swift; off with --packing, --streaming, --load_from_cache_file)'})
    micro_batch_rows: Optional[int] = field(default=None, metadata={
        'help': 'rows per forward/backward inside a training step: the batch runs as micro-batches whose gradients '
                'add up to the whole batch\'s (same update, less activation memory); 0: the whole batch; default: 2 '
                'with --packing on CPU, else 0'})
    chunked_loss: bool = field(default=True, metadata={
        'help': "the LM loss in chunks over trained positions only (no full logits tensor); false: the model's own"})
    predict_with_generate: bool = field(default=False, metadata={
        'help': 'at each evaluation also answer the validation rows (greedy, up to 64 new tokens) and log '
                'eval_rouge-1/-2/-l and eval_bleu-4 against their answers (ms-swift\'s NLG metrics; pip install '
                '"swift[nlg]")'})
    acc_strategy: str = field(default='token', metadata={
        'help': 'token | seq: the training log\'s accuracy, token_acc (trained tokens predicted right) or seq_acc '
                '(sequences with every trained token right)'})

    def __post_init__(self):
        super().__post_init__()
        if self.packing and self.padding_free:
            raise SwiftError('--packing and --padding_free are alternatives: choose one')
        check_choice('acc_strategy', self.acc_strategy, ('token', 'seq'))
        check_range('micro_batch_rows', self.micro_batch_rows, low=0)
        given = [f'--{k} {v}' for k, v in (('predict_with_generate', self.predict_with_generate),
                                            ('acc_strategy', self.acc_strategy if self.acc_strategy != 'token' else
                                             None)) if v]
        if given and getattr(self, 'task_type', 'causal_lm') != 'causal_lm':
            raise SwiftError(f'{", ".join(given)}: for --task_type causal_lm (a task model logs its own metrics)')
        if self.predict_with_generate and (self.packing or self.padding_free):
            raise SwiftError('--predict_with_generate answers each validation row: not with --packing / '
                             '--padding_free (their rows hold several samples)')
        if self.acc_strategy == 'seq' and (self.packing or self.padding_free
                                           or getattr(self, 'sequence_parallel_size', 1) > 1):
            raise SwiftError('--acc_strategy seq judges each row as one sequence: not with --packing, --padding_free '
                             'or --sequence_parallel_size (rows there hold several sequences, or part of one)')
        if self.lazy_tokenize and (self.packing or self.load_from_cache_file):
            raise SwiftError('--lazy_tokenize encodes rows as training reads them; --packing and '
                             '--load_from_cache_file need every sample encoded first: choose one')
        if self.streaming:
            if self.max_steps < 1:
                raise SwiftError('--streaming: the stream has no length, so pass --max_steps (as in ms-swift)')
            clashes = [flag for flag in ('packing', 'padding_free', 'load_from_cache_file', 'group_by_length')
                       if getattr(self, flag)] + (['dataset_num_proc'] if self.dataset_num_proc > 1 else [])
            if self.lazy_tokenize:
                clashes.append('lazy_tokenize')
            if clashes:
                raise SwiftError(f'--streaming encodes rows one by one as training goes: it does not combine with '
                                 f'--{", --".join(clashes)} (for parallel encoding use --dataloader_num_workers)')


@dataclass
class TrainingCommonArguments(TrainerArguments, DistributedArguments, TrainBenchmarkArguments, CachedDataArguments,
                              DataArguments,
                              TunerArguments, QuantizeArguments, TemplateArguments, ModelArguments, BaseArguments):
    """What every training command takes (swift sft, pt and rlhf)."""

    def __post_init__(self):
        super().__post_init__()
        self.require_model()
        if self.learning_rate is None:
            # Tuners that update base weights want a smaller step than adapters do.
            self.learning_rate = 1e-5 if self.tuner_type in FULL_TUNER_TYPES else 1e-4


@dataclass
class SftArguments(LanguageModelingArguments, TaskArguments, TrainingCommonArguments):
    """Everything `swift sft` takes."""

    def __post_init__(self):
        super().__post_init__()
        if self.packing and not self.max_length:
            self.max_length = 2048


@dataclass
class PtArguments(SftArguments):
    """`swift pt`: every token of plain text is trained, with no chat format around it."""
    SPLIT_TRUNCATION: ClassVar[bool] = True
    loss_scale: str = override(DataArguments, 'loss_scale', 'all')
    use_chat_template: bool = override(DataArguments, 'use_chat_template', False)
