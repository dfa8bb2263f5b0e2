"""The supervised fine-tuning workflow (`swift sft`, `swift pt`), top to bottom.

    result = sft_main(['--model', 'smollm2-135m-instruct', '--dataset', 'swift/self-cognition'])
    result = sft_main(SftArguments(model=..., dataset=[...]))

One function per step; the steps are the same for every tuner.
"""
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from swift.utils import SwiftError, atomic_write_json, get_logger
from swift.utils.args import parse_args, to_dict

from .arguments import PtArguments, SftArguments
from .output import last_checkpoint, resolve_output_dir

logger = get_logger()


@dataclass
class TrainResult:
    output_dir: str
    last_checkpoint: Optional[str]
    metrics: Dict[str, Any] = field(default_factory=dict)
    log_history: List[Dict[str, Any]] = field(default_factory=list)


def load_model(args: SftArguments, model=None, tokenizer=None):
    """The model and tokenizer to train (an already loaded module is used as it is)."""
    from swift.model.loader import get_model_tokenizer
    from swift.tuners.quant import build_quantization_config
    if model is not None and not isinstance(model, str):
        if tokenizer is None:
            raise SwiftError('a prepared model needs its tokenizer: pass tokenizer=...')
        return model, tokenizer
    return get_model_tokenizer(args.model, quantization_config=build_quantization_config(args),
                               **args.model_kwargs())


def build_template(args: SftArguments, model, tokenizer):
    from swift.template import get_template
    info = getattr(model, 'model_info', None) or getattr(tokenizer, 'model_info', None)
    if not args.use_chat_template:
        name = 'raw'
    else:
        name = args.template or (info.template if info else None) or (info.model_dir if info else None)
    return get_template(name, tokenizer=tokenizer, default_system=args.system, max_length=args.max_length,
                        loss_scale=args.loss_scale)


def load_data(args: SftArguments, template, output_dir: Path, rows=None):
    """Load, validate and encode the training (and validation) rows; report what was dropped or cut."""
    from swift.dataset import encode_rows, load_datasets
    if rows is not None:  # a Python list of dicts from the API
        from swift.dataset import rows_to_standard
        train_rows, val_rows = rows_to_standard(rows, source='<python list>', strict=args.strict), []
    else:
        loaded = load_datasets(args.dataset, val_dataset=args.val_dataset,
                               split_dataset_ratio=args.split_dataset_ratio, columns=args.columns,
                               strict=args.strict, seed=args.seed, use_hf=args.use_hf,
                               model_name=args.model_name, model_author=args.model_author, report_dir=output_dir)
        train_rows, val_rows = loaded.train, loaded.val
    train, _ = encode_rows(train_rows, template, max_length=args.max_length,
                           truncation_strategy=args.truncation_strategy, loss_scale=args.loss_scale)
    val, _ = encode_rows(val_rows, template, max_length=args.max_length,
                         truncation_strategy=args.truncation_strategy, loss_scale=args.loss_scale) if val_rows else ([],
                                                                                                              None)
    if not train:
        raise SwiftError('no training samples left after validation and truncation: see the data report above')
    logger.info(f'{len(train)} training samples, {len(val)} validation samples')
    return train, val


def build_collator(args: SftArguments, tokenizer, train: List[dict]):
    """The batch builder, and the training items (packs of samples when packing)."""
    from .collator import PackedCollator, PaddingCollator
    if args.packing:
        from .packing import pack_samples
        packs = pack_samples(train, args.max_length)
        logger.info(f'packing: {len(train)} samples into {len(packs)} rows of at most {args.max_length} tokens')
        return PackedCollator(tokenizer.pad_token_id), packs
    if args.padding_free:
        return PackedCollator(tokenizer.pad_token_id, padding_free=True), train
    return PaddingCollator(tokenizer.pad_token_id), train


def _eval_steps(args: SftArguments) -> int:
    return args.eval_steps or args.save_steps


def hf_training_arguments(args: SftArguments, output_dir: Path, has_eval: bool):
    import transformers
    from swift.utils.device import detect_device
    eval_steps = _eval_steps(args)
    return transformers.TrainingArguments(
        output_dir=str(output_dir),
        learning_rate=args.learning_rate,
        num_train_epochs=args.num_train_epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.per_device_train_batch_size,
        per_device_eval_batch_size=args.per_device_eval_batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        gradient_checkpointing=args.gradient_checkpointing,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_ratio,  # a float below 1 is a ratio of the total steps
        lr_scheduler_type=args.lr_scheduler_type,
        max_grad_norm=args.max_grad_norm,
        logging_steps=args.logging_steps,
        save_strategy='steps',
        save_steps=args.save_steps,
        save_total_limit=args.save_total_limit,
        save_only_model=args.save_only_model,
        eval_strategy='steps' if has_eval else 'no',
        eval_steps=eval_steps if has_eval else None,
        seed=args.seed,
        data_seed=args.seed,
        report_to=[r for r in args.report_to if r != 'tensorboard'],  # TensorBoard is added as our callback
        remove_unused_columns=False,
        dataloader_num_workers=args.dataloader_num_workers,
        disable_tqdm=True,  # our ProgressCallback draws the bar
        bf16=_dtype_name(args) == 'bfloat16',
        fp16=_dtype_name(args) == 'float16',
        # accelerate runs several CPU processes (torchrun) as DDP over gloo only when told it is on CPU.
        use_cpu=detect_device() == 'cpu',
    )


def _dtype_name(args) -> str:
    from swift.utils.device import resolve_dtype
    return str(resolve_dtype(args.torch_dtype)).replace('torch.', '')


def total_optimizer_steps(args: SftArguments, num_items: int) -> int:
    if args.max_steps and args.max_steps > 0:
        return args.max_steps
    per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps
    return max(1, math.ceil(num_items / per_step) * math.ceil(args.num_train_epochs))


def build_callbacks(args: SftArguments, output_dir: Path, resume_step: int):
    from swift.tuners import tuner_callback
    from .callbacks import JsonlLoggerCallback, ProgressCallback
    callbacks = [JsonlLoggerCallback(str(output_dir), resume_step=resume_step), ProgressCallback(),
                 tuner_callback()]
    if 'tensorboard' in args.report_to:
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback
        callbacks.append(TensorBoardCallback(tb_writer=SummaryWriter(str(output_dir / 'runs'))))
    return callbacks


def benchmark_callbacks(args: SftArguments, has_val: bool) -> list:
    """--eval_benchmarks: scores at each eval step, logged beside the loss (so logging.jsonl and the plots have them).

    With a validation set they join its evaluations (beside eval_loss). Without one the Trainer runs
    no evaluation at all (it refuses an eval strategy with no eval dataset), so the callback keeps
    the eval_steps schedule itself (beside the training loss).
    """
    if not args.eval_benchmarks:
        return []
    from swift.eval.callback import BenchmarkEvalCallback
    return [BenchmarkEvalCallback(args.eval_benchmarks, limit=args.eval_benchmark_limit,
                                  dataset_dir=args.eval_dataset_dir, dataset_args=args.eval_dataset_args,
                                  eval_steps=None if has_val else _eval_steps(args))]


def _checkpoint_step(checkpoint: Optional[str]) -> int:
    return int(Path(checkpoint).name.split('-')[-1]) if checkpoint else 0


def sft_main(args: Union[SftArguments, Sequence[str], Dict[str, Any], None] = None, *, prepared_model=None,
             tokenizer=None, rows=None, callbacks=(), args_class=SftArguments, **kwargs) -> TrainResult:
    """Run exactly what `swift sft` runs.

    `prepared_model`/`tokenizer`/`rows` let the Python API pass objects (a loaded or
    Swift.prepare_model'ed module, a list of dicts); `callbacks` adds transformers TrainerCallbacks.
    """
    from transformers import set_seed
    from swift.tuners import prepare_tuner
    from .callbacks import plot_logs
    from .trainer import SwiftTrainer

    if prepared_model is not None:
        info = getattr(prepared_model, 'model_info', None) or getattr(tokenizer, 'model_info', None)
        kwargs.setdefault('model', getattr(info, 'model_id', None) or 'python-model')
    if rows is not None:
        kwargs.setdefault('dataset', ['<python list>'])
    args = parse_args(args_class, args, **kwargs)
    set_seed(args.seed)
    output_dir = resolve_output_dir(args.output_dir, args.model, args.add_version, args.resume_from_checkpoint)
    logger.info(f'output directory: {output_dir}')

    model, tokenizer = load_model(args, prepared_model, tokenizer)
    template = build_template(args, model, tokenizer)
    train, val = load_data(args, template, output_dir, rows=rows)
    collator, train_items = build_collator(args, tokenizer, train)
    if getattr(args, 'adalora_total_step', None) is None:
        args.adalora_total_step = total_optimizer_steps(args, len(train_items))  # AdaLoRA's budget schedule
    model = prepare_tuner(model, args)

    saved_args = {**to_dict(args), 'template': template.name, 'model_type': _model_type(model),
                  'output_dir': str(output_dir)}
    atomic_write_json(output_dir / 'args.json', saved_args)
    trainer = SwiftTrainer(
        model=model,
        args=hf_training_arguments(args, output_dir, has_eval=bool(val)),
        train_dataset=train_items,
        eval_dataset=(build_collator(args, tokenizer, val)[1] if val else None),
        data_collator=collator,
        processing_class=tokenizer,
        # the benchmark callback first: it adds its scores to the log entry the logging callbacks then write
        callbacks=(benchmark_callbacks(args, has_val=bool(val)) +
                   build_callbacks(args, output_dir, _checkpoint_step(args.resume_from_checkpoint)) + list(callbacks)),
        swift_args=saved_args,
        lorap_lr_ratio=getattr(args, 'lorap_lr_ratio', None),
        chunked_loss=args.chunked_loss,
    )
    from transformers.trainer_callback import ProgressCallback as HfProgress, PrinterCallback
    trainer.remove_callback(HfProgress)
    trainer.remove_callback(PrinterCallback)
    restore_attention = packed_attention(args, model)
    try:
        output = trainer.train(resume_from_checkpoint=args.resume_from_checkpoint)
    finally:
        if restore_attention:
            _base_model(model).set_attn_implementation(restore_attention)
    if _checkpoint_step(str(last_checkpoint(output_dir) or '')) != trainer.state.global_step:
        trainer._save_checkpoint(trainer.model, trial=None)  # the final state is always a checkpoint
    plot_logs(str(output_dir))
    final = last_checkpoint(output_dir)
    logger.info(f'last checkpoint: {final}')
    return TrainResult(str(output_dir), str(final) if final else None, dict(output.metrics),
                       list(trainer.state.log_history))


def pt_main(args=None, **kwargs) -> TrainResult:
    """`swift pt`: the same workflow on plain text, training on every token."""
    return sft_main(args, args_class=PtArguments, **kwargs)


def packed_attention(args: SftArguments, model) -> Optional[str]:
    """Packed rows attend per sequence (packed_attention.py) while this run trains; returns the attention
    implementation to restore afterwards, or None if the model keeps its own."""
    if not (args.packing or args.padding_free):
        return None
    from .packed_attention import use_packed_sdpa
    restore = use_packed_sdpa(model)
    if restore:
        logger.info('attention: sdpa per packed sequence (swift_packed_sdpa)')
    return restore


def _base_model(model):
    return getattr(model, 'get_base_model', lambda: model)()


def _model_type(model) -> Optional[str]:
    base = _base_model(model)
    info = getattr(base, 'model_info', None) or getattr(model, 'model_info', None)
    return info.model_type if info else None
