"""`swift sft` and `swift pt`, top to bottom: parse → load → encode → batch → tuner → train.

    result = sft_main(['--model', 'smollm2-135m-instruct', '--dataset', 'swift/self-cognition'])
    result = sft_main(SftArguments(model=..., dataset=[...]))
    result = pt_main(model='smollm2-135m-instruct', dataset=['corpus.txt'])

The steps are the same for every tuner; the run itself (directory, callbacks, checkpoints, resume, the
result) is runner.TrainingRun's.
"""
import contextlib
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from swift.arguments import PtArguments, SftArguments
from swift.dataset import LazySamples, cached_encoding, encode_rows
from swift.dataset.cached import cached_samples_for
from swift.model.mrope_packing import attach_packed_mrope
from swift.tuners import prepare_tuner
from swift.utils import SwiftError, get_logger
from swift.utils.args import parse_args

from .checks import check_train_args
from .collator import MediaCollator, PackedCollator, PackedMediaCollator, PaddingCollator
from .packed_attention import use_packed_sdpa
from .packing import pack_samples
from .runner import TrainingRun, TrainResult, python_inputs, total_optimizer_steps
from .streaming import streaming_samples
from .trainer import SwiftTrainer

logger = get_logger()


def encode(args: SftArguments, template, rows, lazy: bool = False):
    """Rows → samples (input_ids, labels); what does not fit --max_length is reported with its file:line. lazy
    (--lazy_tokenize): every row checked now, each encoded again when training reads it (swift/dataset/lazy.py)."""
    settings = dict(max_length=args.max_length, truncation_strategy=args.truncation_strategy,
                    loss_scale=args.loss_scale)
    if lazy:
        return LazySamples.validate(rows, template, **settings)
    return cached_encoding(  # --load_from_cache_file: the same rows, tokenizer, template and settings → no encoding
        rows, template, {**settings, 'model': args.model},
        lambda: encode_rows(rows, template, num_proc=args.dataset_num_proc, **settings)[0],
        enabled=args.load_from_cache_file)


def cached_samples(args: SftArguments, template) -> Tuple[List[dict], List[dict]]:
    """(train, val) samples of --cached_dataset / --cached_val_dataset, each checked against this run's
    tokenizer, template and encoding flags (a mismatch is an error naming the fields)."""
    return cached_samples_for(args, template, 'train')


def batching(args: SftArguments, pad_token_id: int, samples: List[dict], template=None):
    """(collator, training items): packs of samples with --packing, else the samples themselves; a multimodal
    template's media tensors join each batch."""
    multimodal = getattr(template, 'is_multimodal', False)
    if not (args.packing or args.padding_free):
        collator = PaddingCollator(pad_token_id)
        return (MediaCollator(collator, template) if multimodal else collator), samples
    collator = PackedCollator(pad_token_id, padding_free=args.padding_free)
    if multimodal and _has_media(samples):
        template.check_packing()  # before training: a family whose forward was not verified on packed media rows
        collator = PackedMediaCollator(collator, template)  # each packed row carries its samples' media in order
    if args.padding_free:
        return collator, samples
    packs = pack_samples(samples, args.max_length)
    logger.info(f'packing: {len(samples)} samples into {len(packs)} rows of at most {args.max_length} tokens')
    return collator, packs


def _has_media(samples) -> bool:
    if isinstance(samples, LazySamples):
        return samples.has_media  # from the rows: no encoding
    from swift.template.media import NOT_MODEL_INPUTS
    return any(set(s) - set(NOT_MODEL_INPUTS) for s in samples)


def lazy_tokenize(args: SftArguments, template) -> bool:
    """--lazy_tokenize, or its default: on for a multimodal template (ms-swift's default) unless the run wants
    every sample encoded first (--packing, --load_from_cache_file) or encodes as it goes anyway (--streaming)."""
    if args.lazy_tokenize is not None:
        return args.lazy_tokenize
    return bool(getattr(template, 'is_multimodal', False)) and not (
        args.packing or args.streaming or args.load_from_cache_file)


def _joined(cached: List[dict], encoded):
    """--cached_dataset samples followed by the encoded ones (a lazy dataset stays lazy)."""
    if not cached:
        return encoded
    if isinstance(encoded, LazySamples):
        import torch
        return torch.utils.data.ConcatDataset([cached, encoded])
    return cached + encoded


@contextlib.contextmanager
def packed_attention(args: SftArguments, model):
    """Packed rows attend per sequence (packed_attention.py) and, in a model with M-RoPE (Qwen-VL, GLM-4V), each sample
    gets its own 3-D positions (swift/model/mrope_packing.py) while the run trains; the model's own attention
    implementation is restored afterwards."""
    packed = args.packing or args.padding_free
    restore = use_packed_sdpa(model) if packed else None
    if restore:
        logger.info('attention: sdpa per packed sequence (swift_packed_sdpa)')
    positions = attach_packed_mrope(model) if packed else None
    try:
        yield
    finally:
        if restore:
            getattr(model, 'get_base_model', lambda: model)().set_attn_implementation(restore)
        if positions is not None:
            positions.remove()


def sft_main(args: Union[SftArguments, Sequence[str], Dict[str, Any], None] = None, *, model=None, tokenizer=None,
             rows: Optional[Sequence[dict]] = None, callbacks: Sequence = (), **kwargs) -> TrainResult:
    """Run exactly what `swift sft` runs (`swift pt` with PtArguments).

    `model` / `tokenizer` / `rows` let the Python API pass objects (a loaded or Swift.prepare_model'ed module;
    a list of dicts); `callbacks` adds transformers TrainerCallbacks.
    """
    model = python_inputs(kwargs, model, rows)
    args = check_train_args(parse_args(SftArguments, args, **kwargs))
    run = TrainingRun.start(args)
    if args.task_type != 'causal_lm':  # seq_cls, embedding, reranker: the same run with the task's pieces
        from .tasks import train_task
        return train_task(args, run, model, tokenizer, rows, callbacks)
    model, tokenizer = run.load_model(model, tokenizer)
    template = run.template(model, tokenizer)
    cached_train, cached_val = cached_samples(args, template)  # pre-tokenized: no encoding
    loaded = run.load_rows(rows) if args.dataset else None  # --cached_dataset alone: no rows to load
    train_rows, val_rows = (loaded.train, loaded.val) if loaded else ([], [])
    lazy = lazy_tokenize(args, template)
    val = _joined(cached_val, encode(args, template, val_rows, lazy) if val_rows else [])
    if args.streaming:  # encoded as training consumes them (streaming.py); --max_steps is the length
        collator, train_items = PaddingCollator(tokenizer.pad_token_id), streaming_samples(args, template, train_rows)
        logger.info(f'streaming {len(train_rows)} training rows, {len(val)} validation samples')
    else:
        train = _joined(cached_train, encode(args, template, train_rows, lazy) if train_rows else [])
        if not len(train):
            raise SwiftError('no training samples left after validation and truncation: see the data report above')
        logger.info(f'{len(train)} training samples, {len(val)} validation samples'
                    + (' (--lazy_tokenize: encoded as training reads them)' if lazy else ''))
        checked = [train[0]] if lazy else train  # a lazy dataset is not encoded again just for this check
        if (args.packing or args.padding_free) and any(s.get('loss_scale') for s in checked):
            raise SwiftError(f'--loss_scale {args.loss_scale} weighs tokens, which --packing / --padding_free do not '
                             'carry yet: drop one of them')
        collator, train_items = batching(args, tokenizer.pad_token_id, train, template)
    val_items = batching(args, tokenizer.pad_token_id, val, template)[1] if val else []
    if args.adalora_total_step is None and not args.streaming:
        args.adalora_total_step = total_optimizer_steps(args, len(train_items))  # AdaLoRA's budget schedule
    model = prepare_tuner(model, args)
    with packed_attention(args, model):
        return run.train(SwiftTrainer, model=model, tokenizer=tokenizer, template=template, train=train_items,
                         val=val_items, collator=collator, callbacks=callbacks,
                         # the router's loss is added by the model's own loss only
                         chunked_loss=args.chunked_loss and not args.router_aux_loss_coef,
                         micro_batch_rows=micro_batch_rows(args),
                         acc_strategy=args.acc_strategy, generation_eval=generation_eval(args, tokenizer, template,
                                                                                         val_items))


def micro_batch_rows(args: SftArguments) -> int:
    """Rows per forward/backward inside a training step (SwiftTrainer.training_step), decided here from the arguments
    once: --micro_batch_rows, or its default: packed rows on CPU in micro-batches of 2 (the same speed as whole
    batches of 4 x 512 tokens and a third less peak memory, measured on SmolLM2: docs/benchmarks.md); an
    accelerator keeps whole batches (wider matmuls keep it busy; not measured). 0 (whole batches) where the
    micro-batches' gradients would not add up to the whole batch's: the trainer then checks at each step only what
    the model tells (its loss kwargs, a router's auxiliary loss)."""
    rows = args.micro_batch_rows
    if rows is None:
        from swift.utils.device import detect_device
        rows = 2 if args.packing and detect_device() == 'cpu' else 0
    reason = _whole_batches_only(args) if rows else None
    if reason is None:
        return rows
    if args.micro_batch_rows:  # asked for: say why it is not done
        logger.info(f'--micro_batch_rows {rows}: whole batches instead ({reason})')
    return 0


def _whole_batches_only(args: SftArguments) -> Optional[str]:
    """Why this run's gradients must come from whole batches, or None."""
    from .distributed import deepspeed_config, fsdp_settings
    if args.sequence_parallel_size > 1:
        return "--sequence_parallel_size splits each row's tokens over the ranks instead"
    if deepspeed_config(args) is not None:
        return 'DeepSpeed reduces the gradients its own way'
    if fsdp_settings(args)[0]:
        return 'FSDP reduces the gradients its own way'
    return None


def generation_eval(args: SftArguments, tokenizer, template, val_items):
    """--predict_with_generate's scorer (generate_eval.py), or None; refused where it has nothing to answer."""
    if not args.predict_with_generate:
        return None
    if not val_items:
        raise SwiftError('--predict_with_generate answers the validation rows: give --val_dataset or '
                         '--split_dataset_ratio')
    if getattr(template, 'is_multimodal', False):
        raise SwiftError('--predict_with_generate: text models only for now (validation items with media would need '
                         'their pixel tensors at generation)')
    from .generate_eval import GenerationEval
    vocab = tokenizer.get_vocab()
    stops = [tokenizer.eos_token_id] + [vocab[w] for w in template.stop_words if w in vocab]
    return GenerationEval(tokenizer, [s for s in stops if s is not None], batch_size=args.per_device_eval_batch_size)


def pt_main(args: Union[PtArguments, Sequence[str], Dict[str, Any], None] = None, *, model=None, tokenizer=None,
            rows: Optional[Sequence[dict]] = None, callbacks: Sequence = (), **kwargs) -> TrainResult:
    """`swift pt`: the same workflow on plain text, training on every token."""
    model = python_inputs(kwargs, model, rows)
    return sft_main(parse_args(PtArguments, args, **kwargs), model=model, tokenizer=tokenizer, rows=rows,
                    callbacks=callbacks)
