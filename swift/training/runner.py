"""One training run, whatever the algorithm: the run directory, args.json, logging, plots, TensorBoard,
callbacks (benchmarks while training included), checkpoints, resume, the final save and the result.

    run = TrainingRun.start(args)                          # seed, run directory
    model, tokenizer = run.load_model()                    # or the module the Python API passed
    template = run.template(model, tokenizer)
    rows = run.load_rows()                                 # checked rows, split into train / val
    ...                                                    # encode, prepare the tuner: the workflow's own steps
    result = run.train(SwiftTrainer, model=model, tokenizer=tokenizer, template=template,
                       train=train_items, val=val_items, collator=collator)

swift sft / pt (sft.py) and every --rlhf_type (rlhf/workflow.py) are these steps; what they differ in is
how rows are encoded and which trainer trains.
"""
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import transformers
from transformers.trainer_callback import PrinterCallback
from transformers.trainer_callback import ProgressCallback as HfProgressCallback

from swift.arguments.training import TrainingCommonArguments
from swift.dataset import PYTHON_ROWS, LoadResult, load_datasets_for
from swift.model.loader import get_model_tokenizer
from swift.template import template_for_args
from swift.tuners import tuner_callback
from swift.tuners.multimodal import part_learning_rates
from swift.tuners.quant import build_quantization_config
from swift.utils import SwiftError, get_logger
from swift.utils.args import to_dict
from swift.utils.checkpoint import checkpoint_step, last_checkpoint, resolve_output_dir, write_run_args
from swift.utils.device import detect_device, dtype_name, resolve_dtype

from . import distributed
from .callbacks import JsonlLoggerCallback, MaxEpochsCallback, ProgressCallback, RankStatusCallback, plot_logs

logger = get_logger()


@dataclass
class TrainResult:
    """What a training run returns (sft_main, pt_main, rlhf_main, swift.train, ...)."""
    output_dir: str
    last_checkpoint: Optional[str]
    metrics: Dict[str, Any] = field(default_factory=dict)
    log_history: List[Dict[str, Any]] = field(default_factory=list)


def _processing_class(model, tokenizer):
    """What checkpoints save beside the weights: a multimodal model's whole processor (image processor, chat
    template and tokenizer), so that a checkpoint loads like the original directory; else the tokenizer."""
    info = getattr(model, 'model_info', None) or getattr(tokenizer, 'model_info', None)
    return getattr(info, 'processor', None) or tokenizer


def python_inputs(kwargs: Dict[str, Any], model=None, rows=None, key: str = 'model'):
    """Objects passed from Python stand in the flags as what they are: a module's origin becomes --model (so
    args.json names it), rows add the dataset '<python list>'. Returns the module, or None when `model` is a
    name (then it is the --model flag)."""
    if isinstance(model, str):
        kwargs.setdefault(key, model)
        model = None
    elif model is not None:
        info = getattr(model, 'model_info', None)
        kwargs[key] = getattr(info, 'model_id', None) or getattr(info, 'model_dir', None) or 'python-model'
    if rows is not None:
        kwargs.setdefault('dataset', [PYTHON_ROWS])
    return model


def total_optimizer_steps(args: TrainingCommonArguments, num_items: int) -> int:
    if args.max_steps and args.max_steps > 0:
        return args.max_steps
    per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps
    return max(1, math.ceil(num_items / per_step) * math.ceil(args.num_train_epochs))


def model_type_of(model) -> Optional[str]:
    base = getattr(model, 'get_base_model', lambda: model)()
    info = getattr(base, 'model_info', None) or getattr(model, 'model_info', None)
    return info.model_type if info else None


def use_router_aux_loss(model, coef: float) -> None:
    """--router_aux_loss_coef > 0: a mixture-of-experts model adds its router's load-balancing loss to the loss
    (transformers' MoE models do when output_router_logits is on; they copy the coefficient at construction)."""
    if not coef:
        return
    base = getattr(model, 'get_base_model', lambda: model)()
    config = base.config
    if not hasattr(config, 'router_aux_loss_coef'):
        raise SwiftError(f'--router_aux_loss_coef is for mixture-of-experts models; this model '
                         f'({config.model_type}) has no router')
    config.router_aux_loss_coef = coef
    config.output_router_logits = True
    for module in base.modules():
        if hasattr(module, 'router_aux_loss_coef'):
            module.router_aux_loss_coef = coef
    logger.info(f'router load-balancing loss on, weight {coef}')


def link_checkpoints(output_dir: Path, last: Optional[Path], best: Optional[str]) -> None:
    """--create_checkpoint_symlink (ms-swift's): <run>/last and <run>/best point at those checkpoints, so a script
    can name them without reading the logs. A link is replaced by a rename (never half there)."""
    for name, target in (('last', last), ('best', best)):
        if target is None:
            continue
        tmp = output_dir / f'.{name}.link'
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(Path(target).resolve(), target_is_directory=True)
        tmp.replace(output_dir / name)
        logger.info(f'{output_dir / name} -> {target}')


def best_model_metric(args) -> Optional[str]:
    """--metric_for_best_model, or ms-swift's default: rouge-l when --predict_with_generate scores answers."""
    if args.metric_for_best_model:
        return args.metric_for_best_model
    return 'rouge-l' if getattr(args, 'predict_with_generate', False) else None


def continued_checkpoint(args) -> Optional[str]:
    """The checkpoint this run goes on from (its run directory, step count and data position): the one of
    --resume_from_checkpoint, except with --resume_only_model --ignore_data_skip, a new run from its weights only
    (ms-swift's meaning: "training starts from step 0")."""
    if args.resume_only_model and args.ignore_data_skip:
        return None
    return args.resume_from_checkpoint


class TrainingRun:
    """The parts of a training run that do not depend on the algorithm."""

    def __init__(self, args: TrainingCommonArguments, output_dir: Path):
        self.args = args
        self.output_dir = output_dir

    @classmethod
    def start(cls, args: TrainingCommonArguments) -> 'TrainingRun':
        """Seed everything and create (or, when resuming, find) the run directory."""
        transformers.set_seed(args.seed)
        device = detect_device()
        if args.gradient_checkpointing is None:  # ms-swift's default (on) where memory is scarce: not on CPU
            args.gradient_checkpointing = device != 'cpu'
        if args.use_liger_kernel and device != 'cuda':
            raise SwiftError(f'--use_liger_kernel: Liger kernels are Triton kernels for CUDA GPUs, and this machine '
                             f'trains on {device}; leave the flag out')
        distributed.init_process_group(args, use_cpu=device == 'cpu')  # no-op in a single process
        output_dir = distributed.shared_output_dir(lambda: resolve_output_dir(
            args.output_dir, args.model, args.add_version, continued_checkpoint(args)))
        distributed.redirect_rank_stderr(output_dir)
        what = f' (rlhf_type {args.rlhf_type})' if hasattr(args, 'rlhf_type') else ''
        logger.info(f'output directory: {output_dir}{what}')
        return cls(args, output_dir)

    # ---- model, template, rows ------------------------------------------------------------------

    def load_model(self, model=None, tokenizer=None):
        """(model, tokenizer): loaded from --model, or the module the Python API passed (its tokenizer comes
        with it when swift loaded it: model.model_info.tokenizer)."""
        args = self.args
        if model is not None:
            tokenizer = tokenizer or getattr(getattr(model, 'model_info', None), 'tokenizer', None)
            if tokenizer is None:
                raise SwiftError('this model was not loaded by swift, so its tokenizer is unknown: pass tokenizer=...')
        else:
            # --template too: the loader's log (and a guessed model type's warning) name the template used
            model, tokenizer = get_model_tokenizer(args.model, quantization_config=build_quantization_config(args),
                                                   for_adapters=True, template=getattr(args, 'template', None),
                                                   **args.load_kwargs())
        use_router_aux_loss(model, args.router_aux_loss_coef)
        return model, tokenizer

    def template(self, model, tokenizer):
        info = getattr(model, 'model_info', None) or getattr(tokenizer, 'model_info', None)
        return template_for_args(self.args, tokenizer, info)

    def load_rows(self, rows: Optional[Sequence[Dict[str, Any]]] = None, require_response: bool = True) -> LoadResult:
        """The checked rows of --dataset (or of a Python list), split into train and validation by
        --val_dataset / --split_dataset_ratio; the data report goes into the run directory."""
        return load_datasets_for(self.args, rows=rows, require_response=require_response,
                                 report_dir=str(self.output_dir))

    # ---- the trainer ----------------------------------------------------------------------------

    def evaluation_strategy(self, has_eval: bool) -> str:
        """--eval_strategy, by default --save_strategy's (as ms-swift); 'no' without validation rows."""
        args = self.args
        if not has_eval:
            if args.eval_strategy not in (None, 'no'):
                logger.warning(f'--eval_strategy {args.eval_strategy}: there are no validation rows, so nothing is '
                               'evaluated (give --val_dataset or --split_dataset_ratio)')
            return 'no'
        return args.eval_strategy or args.save_strategy

    def training_arguments(self, has_eval: bool) -> transformers.TrainingArguments:
        args = self.args
        eval_steps = args.eval_steps or args.save_steps
        eval_strategy = self.evaluation_strategy(has_eval)
        dtype = dtype_name(resolve_dtype(args.torch_dtype))
        use_cpu = detect_device() == 'cpu'
        kwargs = dict(
            output_dir=str(self.output_dir),
            learning_rate=args.learning_rate,
            num_train_epochs=args.num_train_epochs,
            max_steps=args.max_steps,
            per_device_train_batch_size=args.per_device_train_batch_size,
            per_device_eval_batch_size=args.per_device_eval_batch_size,
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            gradient_checkpointing=args.gradient_checkpointing,
            gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs or None,
            weight_decay=args.weight_decay,
            warmup_steps=args.warmup_ratio,  # a float below 1 is a ratio of the total steps
            lr_scheduler_type=args.lr_scheduler_type,
            lr_scheduler_kwargs=args.lr_scheduler_kwargs,
            optim=args.optim,
            optim_args=args.optim_args,
            adam_beta1=args.adam_beta1,
            adam_beta2=args.adam_beta2,
            adam_epsilon=args.adam_epsilon,
            neftune_noise_alpha=args.neftune_noise_alpha,
            use_liger_kernel=args.use_liger_kernel,
            full_determinism=args.full_determinism,
            max_grad_norm=args.max_grad_norm,
            logging_steps=args.logging_steps,
            logging_first_step=args.logging_first_step,
            save_strategy=args.save_strategy,
            save_steps=args.save_steps,
            save_total_limit=args.save_total_limit,
            metric_for_best_model=best_model_metric(args),
            greater_is_better=args.greater_is_better,
            ignore_data_skip=args.ignore_data_skip,
            save_only_model=args.save_only_model,
            eval_strategy=eval_strategy,
            eval_steps=eval_steps if eval_strategy == 'steps' else None,
            eval_on_start=args.eval_on_start and eval_strategy != 'no',
            seed=args.seed,
            data_seed=args.seed if args.data_seed is None else args.data_seed,
            report_to=[r for r in args.report_to if r != 'tensorboard'],  # TensorBoard is added as our callback
            remove_unused_columns=False,
            dataloader_num_workers=args.dataloader_num_workers,
            dataloader_drop_last=args.dataloader_drop_last,
            dataloader_pin_memory=args.dataloader_pin_memory,
            dataloader_persistent_workers=args.dataloader_persistent_workers,
            dataloader_prefetch_factor=args.dataloader_prefetch_factor,
            train_sampling_strategy=('group_by_length' if args.group_by_length else
                                     'random' if args.train_dataloader_shuffle else 'sequential'),
            disable_tqdm=True,  # our ProgressCallback draws the bar
            bf16=dtype == 'bfloat16',
            fp16=dtype == 'float16',
            # accelerate runs several CPU processes (torchrun) as DDP over gloo only when told it is on CPU.
            use_cpu=use_cpu,
        )
        kwargs.update(distributed.trainer_kwargs(args, use_cpu))  # DDP settings, FSDP2, DeepSpeed
        return transformers.TrainingArguments(**kwargs)

    def callbacks(self, has_val: bool) -> list:
        """Benchmarks first (their scores join the log entry the logging callbacks then write), then
        logging.jsonl, the progress display, the tuner's per-step hook and TensorBoard."""
        args = self.args
        callbacks = []
        if args.eval_benchmarks:
            from swift.eval.callback import BenchmarkEvalCallback  # imported when used: it pulls in the eval harness
            # Without a validation set the Trainer runs no evaluation (it refuses an eval strategy with no eval
            # dataset), so the callback keeps the eval_steps schedule itself, beside the training loss.
            callbacks.append(BenchmarkEvalCallback(
                args.eval_benchmarks, limit=args.eval_benchmark_limit, dataset_dir=args.eval_dataset_dir,
                dataset_args=args.eval_dataset_args, eval_steps=None if has_val else args.eval_steps or args.save_steps))
        resume_step = checkpoint_step(continued_checkpoint(args)) or 0
        callbacks += [JsonlLoggerCallback(str(self.output_dir), resume_step=resume_step), ProgressCallback(),
                      tuner_callback(), RankStatusCallback(str(self.output_dir))]
        if args.max_epochs:
            callbacks.append(MaxEpochsCallback(args.max_epochs))
        if 'tensorboard' in args.report_to:
            from torch.utils.tensorboard import SummaryWriter
            from transformers.integrations import TensorBoardCallback
            log_dir = args.logging_dir or str(self.output_dir / 'runs')
            callbacks.append(TensorBoardCallback(tb_writer=SummaryWriter(log_dir)))
        return callbacks

    def saved_args(self, model, template) -> Dict[str, Any]:
        """args.json: the arguments plus what a later `swift infer --adapters checkpoint-N` needs to know."""
        return {**to_dict(self.args), 'template': template.name, 'model_type': model_type_of(model),
                'output_dir': str(self.output_dir)}

    def train(self, trainer_class, *, model, tokenizer, template, train: Sequence, val: Sequence, collator,
              callbacks: Sequence = (), **trainer_kwargs) -> TrainResult:
        """Build the trainer, train (resuming when asked), make sure the final state is a checkpoint, plot the
        logged metrics; returns the run's result."""
        args = self.args
        saved_args = self.saved_args(model, template)
        write_run_args(self.output_dir, saved_args)
        trainer = trainer_class(
            model=model,
            args=self.training_arguments(has_eval=bool(val)),
            train_dataset=train,
            eval_dataset=val or None,
            data_collator=collator,
            processing_class=_processing_class(model, tokenizer),
            callbacks=self.callbacks(has_val=bool(val)) + list(callbacks),
            swift_args=saved_args,
            lorap_lr_ratio=args.lorap_lr_ratio,
            part_lrs=part_learning_rates(model, args),
            **trainer_kwargs,
        )
        if args.sequence_parallel_size > 1:
            from . import sequence_parallel
            sequence_parallel.setup(args.sequence_parallel_size, model)
            trainer.sequence_parallel = True
        trainer.resume_only_model = args.resume_only_model
        if args.resume_only_model and continued_checkpoint(args) is None:  # a new run from the checkpoint's weights
            trainer._load_from_checkpoint(args.resume_from_checkpoint)
        trainer.remove_callback(HfProgressCallback)  # ours draws the progress and prints the log lines
        trainer.remove_callback(PrinterCallback)
        try:
            output = trainer.train(resume_from_checkpoint=continued_checkpoint(args))
            trainer.save_final_checkpoint()
        except Exception as e:  # several processes: the launcher reports which rank failed, and where
            distributed.note_step(self.output_dir, trainer.state.global_step + 1, f'error: {type(e).__name__}: {str(e)[:300]}')
            raise
        finally:
            trainer.close()
            if getattr(args, 'deepspeed', None):
                # transformers keeps ZeRO-3's "partition while loading" flag process-wide (accelerate's state holds its
                # config alive): unset, or the next run in this process (Python API) would load its model partitioned
                from transformers.integrations.deepspeed import unset_hf_deepspeed_config
                unset_hf_deepspeed_config()
        plot_logs(str(self.output_dir))
        final = last_checkpoint(self.output_dir)
        if args.create_checkpoint_symlink:
            link_checkpoints(self.output_dir, final, trainer.state.best_model_checkpoint)
        logger.info(f'last checkpoint: {final}')
        return TrainResult(str(self.output_dir), str(final) if final else None, dict(output.metrics),
                           list(trainer.state.log_history))
