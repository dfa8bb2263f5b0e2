"""`swift rlhf`, top to bottom: parse → load the policy → rows encoded for the algorithm → tuner → reference
model → the algorithm's trainer → train.

    result = rlhf_main(['--rlhf_type', 'dpo', '--model', 'smollm2-135m-instruct', '--dataset', 'pairs.jsonl'])
    result = rlhf_main(RLHFArguments(rlhf_type='grpo', model=..., dataset=[...], reward_funcs=['accuracy']))

The run itself (directory, args.json, callbacks, checkpoints, resume, plots, the result) is
swift.training.runner.TrainingRun's, exactly as for swift sft.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from swift.arguments import RLHFArguments
from swift.dataset.alignment import encode_alignment_rows, template_mode_of
from swift.dataset.cached import cached_samples_for
from swift.infer.reward_model import RewardModel, load_seq_cls_model
from swift.model.loader import get_model_tokenizer
from swift.tuners import load_adapters, prepare_tuner
from swift.tuners.saving import is_peft_model
from swift.utils import SwiftError, get_logger
from swift.utils.args import parse_args

from ..checks import check_train_args
from ..runner import TrainingRun, TrainResult, python_inputs
from .base import REF_ADAPTER
from .data import add_kl_pairs, collator_for
from .gkd import GKDTrainer, check_same_tokenizer
from .grpo import GRPOTrainer
from .kto import KTOTrainer
from .ppo import PPOTrainer
from .preference import PreferenceTrainer
from .reward_model import RewardTrainer, prepare_reward_model
from .rewards import get_reward_functions
from .rollout import make_rollout

logger = get_logger()

TRAINERS = {'dpo': PreferenceTrainer, 'orpo': PreferenceTrainer, 'simpo': PreferenceTrainer,
            'cpo': PreferenceTrainer, 'kto': KTOTrainer, 'rm': RewardTrainer, 'ppo': PPOTrainer, 'grpo': GRPOTrainer,
            'gkd': GKDTrainer}


# ---------------------------------------------------------------- models


def load_policy(run: TrainingRun, model=None, tokenizer=None):
    """The model to train: a sequence classifier for rm, else as swift sft loads it."""
    if run.args.rlhf_type == 'rm' and model is None:
        return load_seq_cls_model(run.args.model, run.args.load_kwargs())
    return run.load_model(model, tokenizer)


def prepare_policy(model, args: RLHFArguments):
    """The tuner (LoRA by default); a model that already carries adapters (Swift.prepare_model) trains as it is."""
    if is_peft_model(model):
        logger.info('the model already has adapters: training them as they are')
        return model
    if args.rlhf_type == 'rm':
        return prepare_reward_model(model, args)
    return prepare_tuner(model, args)


def load_reference(args: RLHFArguments, policy, ref_model=None):
    """A separate frozen reference model, or None when the policy's LoRA base serves as the reference.

    LoRA: the base with the adapter off (or with --ref_adapters loaded as the 'ref' adapter): no second
    copy. Full fine-tuning, or an explicit --ref_model: a second model.
    """
    if not args.uses_reference:
        return None
    if ref_model is not None:
        return ref_model
    if is_peft_model(policy) and not args.ref_model:
        if args.ref_adapters:
            if len(args.ref_adapters) > 1:
                raise SwiftError('with LoRA, --ref_adapters takes one adapter (it is loaded beside the trained one)')
            load_adapters(policy, [f'{REF_ADAPTER}={args.ref_adapters[0]}'])
            logger.info(f'reference: the base model with adapter {args.ref_adapters[0]}')
        else:
            logger.info('reference: the base model with the LoRA adapter switched off (no second copy)')
        return None
    name = args.ref_model or args.model
    reference, _ = get_model_tokenizer(name, **args.load_kwargs())
    if args.ref_adapters:
        reference = load_adapters(reference, args.ref_adapters).merge_and_unload()
    logger.info(f'reference: a separate copy of {name}')
    return reference


def load_teacher(args: RLHFArguments, tokenizer, teacher_model=None):
    """GKD's frozen teacher (--teacher_model, --teacher_adapters merged in); it must share the student's tokenizer."""
    if teacher_model is None:
        teacher_model, teacher_tokenizer = get_model_tokenizer(args.teacher_model, **args.load_kwargs())
        check_same_tokenizer(tokenizer, teacher_tokenizer, args.teacher_model)
        if args.teacher_adapters:
            teacher_model = load_adapters(teacher_model, args.teacher_adapters).merge_and_unload()
    logger.info(f'teacher: {args.teacher_model}')
    return teacher_model


# ---------------------------------------------------------------- data


def encode_items(args: RLHFArguments, template, rows) -> List[Dict[str, Any]]:
    """Rows → training items for the algorithm; a row that does not fit is reported with its file:line."""
    return encode_alignment_rows(rows, template, args.rlhf_type, model=args.model, max_length=args.max_length,
                                 truncation_strategy=args.truncation_strategy, loss_scale=args.loss_scale,
                                 strict=args.strict, num_proc=args.dataset_num_proc,
                                 use_cache=args.load_from_cache_file)


def training_items(args: RLHFArguments, run: TrainingRun, template, rows=None) -> Tuple[List[dict], List[dict]]:
    """(train, val) items: those of --cached_dataset (encoded by swift export --template_mode rlhf|kto, checked
    against this run) followed by those of --dataset; KTO's mismatched pairs are added to the whole set."""
    cached_train, cached_val = cached_samples_for(args, template, template_mode_of(args.rlhf_type) or 'rlhf')
    loaded = run.load_rows(rows, require_response=args.OFFLINE) if (args.dataset or rows) else None
    train = cached_train + (encode_items(args, template, loaded.train) if loaded else [])
    val = cached_val + (encode_items(args, template, loaded.val) if loaded and loaded.val else [])
    if args.rlhf_type == 'kto':
        for items in (train, val):
            if items:
                add_kl_pairs(items, args.max_length)
    return train, val


# ---------------------------------------------------------------- what the online trainers need


def online_extras(args: RLHFArguments, model, tokenizer, template, teacher_model=None) -> Dict[str, Any]:
    """PPO / GRPO: the rollout engine and the rewards; GKD: the rollout engine (on-policy steps) and the teacher;
    the offline algorithms need nothing more."""
    if args.rlhf_type == 'gkd':
        rollout = make_rollout(model, tokenizer, template, args, max_batch_size=args.per_device_train_batch_size)
        return {'rollout': rollout, 'teacher_model': load_teacher(args, tokenizer, teacher_model)}
    if args.OFFLINE:
        return {}
    sequences = args.per_device_train_batch_size * (args.num_generations if args.rlhf_type == 'grpo' else 1)
    rollout = make_rollout(model, tokenizer, template, args,
                           max_batch_size=max(sequences, args.per_device_eval_batch_size))
    scorers = [RewardModel.load(path, args.reward_adapters, model_kwargs=args.load_kwargs())
               for path in args.reward_model]
    if args.rlhf_type == 'ppo':
        return {'rollout': rollout, 'reward_model': scorers[0]}
    # each reward model is one more reward, logged as reward_model (reward_model_2, ... when several)
    names = ['reward_model' + (f'_{i + 1}' if i else '') for i in range(len(scorers))]
    functions = get_reward_functions(args.reward_funcs) + list(zip(names, scorers))
    return {'rollout': rollout, 'reward_functions': functions, 'reward_weights': args.reward_weights}


def rlhf_main(args: Union[RLHFArguments, Sequence[str], Dict[str, Any], None] = None, *, model=None, tokenizer=None,
              ref_model=None, teacher_model=None, rows: Optional[Sequence[dict]] = None, callbacks: Sequence = (),
              **kwargs) -> TrainResult:
    """Run exactly what `swift rlhf` runs.

    `model` / `tokenizer` / `ref_model` / `teacher_model` / `rows` let the Python API pass objects (a module, a list of
    dicts); `callbacks` adds transformers TrainerCallbacks to the run.
    """
    model = python_inputs(kwargs, model, rows)
    ref_model = python_inputs(kwargs, ref_model, key='ref_model')
    teacher_model = python_inputs(kwargs, teacher_model, key='teacher_model')
    args = check_train_args(parse_args(RLHFArguments, args, **kwargs))
    run = TrainingRun.start(args)
    model, tokenizer = load_policy(run, model, tokenizer)
    template = run.template(model, tokenizer)
    train, val = training_items(args, run, template, rows)
    if not train:
        raise SwiftError(f'no training rows fit --rlhf_type {args.rlhf_type}: see the encoding summary above')
    logger.info(f'{len(train)} training items, {len(val)} validation items ({args.rlhf_type})')
    model = prepare_policy(model, args)
    reference = load_reference(args, model, ref_model)
    return run.train(TRAINERS[args.rlhf_type], model=model, tokenizer=tokenizer, template=template, train=train,
                     val=val, collator=collator_for(args.rlhf_type, tokenizer.pad_token_id, template), callbacks=callbacks,
                     rlhf_args=args, ref_model=reference,
                     **online_extras(args, model, tokenizer, template, teacher_model))
