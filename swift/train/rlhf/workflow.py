"""The alignment workflow (`swift rlhf`), top to bottom, on the same steps as `swift sft`.

    result = rlhf_main(['--rlhf_type', 'dpo', '--model', 'smollm2-135m-instruct', '--dataset', 'pairs.jsonl'])
    result = rlhf_main(RLHFArguments(rlhf_type='grpo', model=..., dataset=[...], reward_funcs=['accuracy']))

Steps: load the model (a sequence-classification model for rm) → template → rows, checked and
encoded for the algorithm → tuner (LoRA by default) → reference model → trainer → train → the final
state is always a checkpoint (adapter + args.json naming model and template, so `swift infer
--adapters checkpoint-N` loads it) → plots of every logged metric in images/.
"""
import copy
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from swift.train.output import last_checkpoint, resolve_output_dir
from swift.train.sft import TrainResult, build_callbacks, build_template, hf_training_arguments, load_model
from swift.utils import SwiftError, atomic_write_json, get_logger
from swift.utils.args import parse_args, to_dict

from .arguments import ONLINE_TYPES, RLHFArguments

logger = get_logger()


# ---------------------------------------------------------------- models


def load_policy(args: RLHFArguments, model=None, tokenizer=None):
    if args.rlhf_type == 'rm' and (model is None or isinstance(model, str)):
        from .reward_model import load_seq_cls_model
        return load_seq_cls_model(args.model, args.model_kwargs())
    return load_model(args, model, tokenizer)


def prepare_policy(model, args: RLHFArguments):
    """The tuner (LoRA by default); a model that already carries adapters (Swift.prepare_model) trains as it is."""
    from swift.tuners import prepare_tuner
    from .base import is_peft_model
    if is_peft_model(model):
        logger.info('the model already has adapters: training them as they are')
        return model
    if args.rlhf_type == 'rm':
        from .reward_model import prepare_reward_model
        return prepare_reward_model(model, args)
    return prepare_tuner(model, args)


def load_reference(args: RLHFArguments, policy, ref_model=None):
    """A separate frozen reference model, or None when the policy's LoRA base serves as the reference.

    LoRA: the base with the adapter off (or with --ref_adapters loaded as the 'ref' adapter): no second
    copy. Full fine-tuning, or an explicit --ref_model: a second model.
    """
    from .base import REF_ADAPTER, is_peft_model
    if not args.uses_reference or (args.rlhf_type == 'dpo' and args.reference_free):
        return None
    if ref_model is not None and not isinstance(ref_model, str):
        return ref_model
    ref_name = ref_model or args.ref_model
    if is_peft_model(policy) and not ref_name:
        if args.ref_adapters:
            from swift.tuners import load_adapters
            if len(args.ref_adapters) > 1:
                raise SwiftError('with LoRA, --ref_adapters takes one adapter (it is loaded beside the trained one)')
            load_adapters(policy, [f'{REF_ADAPTER}={args.ref_adapters[0]}'])
            logger.info(f'reference: the base model with adapter {args.ref_adapters[0]}')
        else:
            logger.info('reference: the base model with the LoRA adapter switched off (no second copy)')
        return None
    from swift.model.loader import get_model_tokenizer
    reference, _ = get_model_tokenizer(ref_name or args.model, **args.model_kwargs())
    if args.ref_adapters:
        from swift.tuners import load_adapters
        reference = load_adapters(reference, args.ref_adapters).merge_and_unload()
    logger.info(f'reference: a separate copy of {ref_name or args.model}')
    return reference


# ---------------------------------------------------------------- data


def load_rows(args: RLHFArguments, output_dir: Path, rows=None):
    """(train rows, validation rows) in the standard format; prompts may end with a user turn for PPO/GRPO."""
    from swift.dataset import load_datasets, rows_to_standard, split_indices
    require_response = args.rlhf_type not in ONLINE_TYPES
    if rows is not None:  # a Python list of dicts from the API; --split_dataset_ratio applies to it too
        standard = rows_to_standard(rows, source='<python list>', strict=args.strict, require_response=require_response)
        train_indices, val_indices = split_indices(len(standard), args.split_dataset_ratio, args.seed)
        return standard.take(train_indices), standard.take(val_indices)
    loaded = load_datasets(args.dataset, val_dataset=args.val_dataset, split_dataset_ratio=args.split_dataset_ratio,
                           columns=args.columns, strict=args.strict, seed=args.seed, use_hf=args.use_hf,
                           model_name=args.model_name, model_author=args.model_author,
                           require_response=require_response, report_dir=output_dir)
    return loaded.train, loaded.val


def encode_items(args: RLHFArguments, template, rows) -> List[Dict[str, Any]]:
    """Rows → training items for the algorithm; a row that does not fit is reported with its file:line."""
    from swift.dataset import encode_rows
    from .data import RowEncoder, add_kl_pairs, split_pairs_for_kto
    locations = getattr(rows, 'locations', None)
    if args.rlhf_type == 'kto':
        rows, locations = split_pairs_for_kto(rows, locations)
    encoder_template = copy.copy(template)
    encoder_template.max_length = None  # encode_rows applies max_length to each sequence of an item
    encoder_template.loss_scale = args.loss_scale
    items, _ = encode_rows(rows, RowEncoder(encoder_template, args.rlhf_type), max_length=args.max_length,
                           truncation_strategy=args.truncation_strategy, strict=args.strict, locations=locations)
    if args.rlhf_type == 'kto' and items:
        add_kl_pairs(items, args.max_length)
    return items


def load_items(args: RLHFArguments, template, output_dir: Path, rows=None):
    train_rows, val_rows = load_rows(args, output_dir, rows)
    train = encode_items(args, template, train_rows)
    val = encode_items(args, template, val_rows) if val_rows else []
    if not train:
        raise SwiftError(f'no training rows fit --rlhf_type {args.rlhf_type}: see the encoding summary above')
    logger.info(f'{len(train)} training items, {len(val)} validation items ({args.rlhf_type})')
    return train, val


# ---------------------------------------------------------------- trainers


def reward_functions(args: RLHFArguments, template):
    from .rewards import get_reward_functions
    functions = get_reward_functions(args.reward_funcs)
    if args.reward_model:
        functions.append(('reward_model', load_reward_scorer(args)))
    return functions


def load_reward_scorer(args: RLHFArguments):
    from .reward_model import RewardModel
    return RewardModel.load(args.reward_model, args.reward_adapters, model_kwargs=args.model_kwargs())


def trainer_class_and_kwargs(args: RLHFArguments, model, tokenizer, template) -> tuple:
    if args.rlhf_type in ('dpo', 'orpo', 'simpo', 'cpo'):
        from .preference import PreferenceTrainer
        return PreferenceTrainer, {}
    if args.rlhf_type == 'kto':
        from .kto import KTOTrainer
        return KTOTrainer, {}
    if args.rlhf_type == 'rm':
        from .reward_model import RewardTrainer
        return RewardTrainer, {}
    from .rollout import make_rollout
    sequences = args.per_device_train_batch_size * (args.num_generations if args.rlhf_type == 'grpo' else 1)
    rollout = make_rollout(model, tokenizer, template, args, max_batch_size=max(sequences,
                                                                                 args.per_device_eval_batch_size))
    if args.rlhf_type == 'grpo':
        from .grpo import GRPOTrainer
        return GRPOTrainer, {'rollout': rollout, 'reward_functions': reward_functions(args, template),
                             'reward_weights': args.reward_weights}
    from .ppo import PPOTrainer
    return PPOTrainer, {'rollout': rollout, 'reward_model': load_reward_scorer(args)}


def _checkpoint_step(checkpoint: Optional[str]) -> int:
    return int(Path(checkpoint).name.split('-')[-1]) if checkpoint else 0


def _model_type(model) -> Optional[str]:
    base = getattr(model, 'get_base_model', lambda: model)()
    info = getattr(base, 'model_info', None) or getattr(model, 'model_info', None)
    return info.model_type if info else None


def rlhf_main(args: Union[RLHFArguments, Sequence[str], Dict[str, Any], None] = None, *, model=None, tokenizer=None,
              ref_model=None, rows=None, callbacks=(), **kwargs) -> TrainResult:
    """Run exactly what `swift rlhf` runs.

    `model` / `tokenizer` / `ref_model` / `rows` let the Python API pass objects (a module, a list of
    dicts); `callbacks` adds transformers TrainerCallbacks to the run.
    """
    from transformers import set_seed
    from swift.train.callbacks import plot_logs
    from .data import collator_for

    if isinstance(model, str):
        kwargs.setdefault('model', model)
        model = None
    if isinstance(ref_model, str):
        kwargs.setdefault('ref_model', ref_model)
        ref_model = None
    if model is not None:
        kwargs.setdefault('model', getattr(getattr(model, 'model_info', None), 'model_id', None) or 'python-model')
    if rows is not None:
        kwargs.setdefault('dataset', ['<python list>'])
    args = parse_args(RLHFArguments, args, **kwargs)
    set_seed(args.seed)
    output_dir = resolve_output_dir(args.output_dir, args.model, args.add_version, args.resume_from_checkpoint)
    logger.info(f'output directory: {output_dir} (rlhf_type {args.rlhf_type})')

    model, tokenizer = load_policy(args, model, tokenizer)
    template = build_template(args, model, tokenizer)
    train, val = load_items(args, template, output_dir, rows=rows)
    model = prepare_policy(model, args)
    reference = load_reference(args, model, ref_model)
    trainer_class, extra = trainer_class_and_kwargs(args, model, tokenizer, template)

    saved_args = {**to_dict(args), 'template': template.name, 'model_type': _model_type(model),
                  'output_dir': str(output_dir)}
    atomic_write_json(output_dir / 'args.json', saved_args)
    trainer = trainer_class(
        model=model,
        args=hf_training_arguments(args, output_dir, has_eval=bool(val)),
        train_dataset=train,
        eval_dataset=val or None,
        data_collator=collator_for(args.rlhf_type, tokenizer.pad_token_id),
        processing_class=tokenizer,
        callbacks=build_callbacks(args, output_dir, _checkpoint_step(args.resume_from_checkpoint)) + list(callbacks),
        swift_args=saved_args,
        lorap_lr_ratio=args.lorap_lr_ratio,
        rlhf_args=args,
        ref_model=reference,
        **extra,
    )
    from transformers.trainer_callback import PrinterCallback, ProgressCallback as HfProgress
    trainer.remove_callback(HfProgress)
    trainer.remove_callback(PrinterCallback)
    if args.precompute_ref_log_probs:
        trainer.precompute_reference(train)
        if val:
            trainer.precompute_reference(val)
        trainer.free_reference()
        logger.info('reference log-probabilities precomputed; the reference model is freed')
    try:
        output = trainer.train(resume_from_checkpoint=args.resume_from_checkpoint)
        if _checkpoint_step(str(last_checkpoint(output_dir) or '')) != trainer.state.global_step:
            trainer._save_checkpoint(trainer.model, trial=None)  # the final state is always a checkpoint
    finally:
        if hasattr(trainer, 'on_train_end'):
            trainer.on_train_end()
    plot_logs(str(output_dir))
    final = last_checkpoint(output_dir)
    logger.info(f'last checkpoint: {final}')
    return TrainResult(str(output_dir), str(final) if final else None, dict(output.metrics),
                       list(trainer.state.log_history))
