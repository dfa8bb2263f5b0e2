"""The friendly Python API, on top of the stages' entry points (sft_main, rlhf_main, infer engines, evaluate).

    model, tokenizer = prepare_model('Qwen/Qwen2.5-0.5B-Instruct')
    model = Swift.prepare_model(model, config=LoRAConfig(r=8, target_modules=['q_proj', 'v_proj']))
    result = train(model=model, dataset=[{'messages': [...]}], num_train_epochs=1)  # the tokenizer comes with it
    result = Trainer(model, pairs, dpo_config=DPOConfig(beta=0.1)).train()          # or train_dpo(model, pairs)
    handle = load('smollm2-135m-instruct', adapters=result.last_checkpoint)
    handle.infer('Who are you?'); handle.train(more_rows); handle.evaluate('gsm8k', limit=50)

Keywords are the CLI's flags, meaning what the flags mean (`max_epochs` too: ms-swift's stop after N passes);
`epochs`, `lr`, `batch_size` and `use_qlora` are accepted as well;
every call builds the command's typed arguments and runs exactly what the CLI runs.
"""
from dataclasses import dataclass, field, fields
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence, Union

from swift.tuners.peft_tuners import is_quantized
from swift.utils import SwiftError, get_logger
from swift.utils.args import parse_args

logger = get_logger()

Dataset = Union[str, Sequence[str], List[dict]]

# friendly keyword → swift flag
_FRIENDLY = {'epochs': 'num_train_epochs', 'lr': 'learning_rate',
             'batch_size': 'per_device_train_batch_size'}
_QLORA = {'tuner_type': 'lora', 'quant_method': 'bnb', 'quant_bits': 4}

# load() option -> the training flag it carries over to
_CARRIED_TO_TRAINING = {'template': 'template', 'default_system': 'system', 'torch_dtype': 'torch_dtype',
                        'model_type': 'model_type', 'revision': 'revision', 'use_hf': 'use_hf', 'offline': 'offline',
                        'attn_impl': 'attn_impl', 'trust_remote_code': 'trust_remote_code'}

# evaluate() keywords that a handle already fixed, and what to do instead
_NOT_FOR_A_HANDLE = {'adapters': 'load them with swift.load(model, adapters=[...])',
                     'template': 'load the handle with swift.load(model, template=...)',
                     'tokenizer': 'the handle loads its own',
                     'eval_url': 'score a server with swift.eval.evaluate(eval_url=...)'}


def prepare_model(model: str, *, use_qlora: bool = False, **kwargs):
    """(model, tokenizer) for a registry ID, alias, hub ID or local directory. The model carries its tokenizer
    (model.model_info.tokenizer), so train(model=model) needs nothing more. use_qlora=True loads it in 4-bit."""
    from swift.model.loader import get_model_tokenizer
    from swift.tuners.quant import build_quantization_config
    quant = {k: kwargs.pop(k) for k in ('quant_method', 'quant_bits') if k in kwargs}
    if use_qlora:
        quant = {'quant_method': 'bnb', 'quant_bits': 4, **quant}
    if quant:
        kwargs['quantization_config'] = build_quantization_config(
            SimpleNamespace(**quant, torch_dtype=kwargs.get('torch_dtype')))
    return get_model_tokenizer(model, **kwargs)


def _flags(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """Friendly keywords → flags; use_qlora=True → LoRA on a 4-bit bitsandbytes model."""
    out = {}
    for key, value in kwargs.items():
        if key == 'use_qlora':
            if value:
                out.update(_QLORA)
            continue
        out[_FRIENDLY.get(key, key)] = value
    return out


def _dataset(dataset: Dataset, flags: Dict[str, Any]) -> Optional[List[dict]]:
    """Rows from Python (returned), or dataset IDs/paths (put into flags)."""
    if isinstance(dataset, list) and dataset and all(isinstance(row, dict) for row in dataset):
        return dataset
    if isinstance(dataset, str) and dataset:
        flags['dataset'] = [dataset]
    elif isinstance(dataset, (list, tuple)) and dataset and all(isinstance(d, str) for d in dataset):
        flags['dataset'] = list(dataset)
    else:
        raise SwiftError('dataset must be a dataset ID or path, a list of them, or a non-empty list of dicts')
    return None


def _as_qlora(model):
    """QLoRA trains adapters on a 4-bit base. A module loaded in full precision (prepare_model(...) then
    Swift.prepare_model) is loaded again in 4-bit from its directory, and its adapters (configs and weights)
    move onto the new base; the tokenizer comes along."""
    from peft import PeftModel, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
    info = getattr(model, 'model_info', None)
    if info is None:
        raise SwiftError('use_qlora=True loads the model in 4-bit, and this model was not loaded by swift: load it '
                         'with prepare_model(..., use_qlora=True), or pass its ID')
    logger.warning(f'use_qlora: the model was loaded in full precision; loading {info.model_dir} again in 4-bit '
                   'with the same adapters')
    base, _ = prepare_model(info.model_dir, use_qlora=True, model_type=info.model_type, template=info.template)
    base.model_info.model_id, base.model_info.tokenizer = info.model_id, info.tokenizer
    if not isinstance(model, PeftModel):
        return base
    quantized = None
    for name, config in model.peft_config.items():
        if quantized is None:
            quantized = get_peft_model(base, config, adapter_name=name)
        else:
            quantized.add_adapter(name, config)
        set_peft_model_state_dict(quantized, get_peft_model_state_dict(model, adapter_name=name), adapter_name=name)
    quantized.set_adapter(model.active_adapter)
    return quantized


def _loaded_module(model, flags: Dict[str, Any]):
    """A module passed to train: QLoRA's 4-bit base when asked for, the quantisation recorded in the flags."""
    if isinstance(model, str):
        return model
    if any(flags.get(k) is not None for k in ('quant_method', 'quant_bits')) and not is_quantized(model):
        model = _as_qlora(model)
    if is_quantized(model):
        flags.update({k: v for k, v in _QLORA.items() if k != 'tuner_type'})
    return model


def train(model: Any, dataset: Optional[Dataset] = None, tokenizer=None, *, task: Optional[str] = None,
          data_args: Optional[Dict[str, Any]] = None, **kwargs):
    """Fine-tune `model` (ID, path or prepared module) on `dataset` (ID, path, or a list of dicts).

    Keywords are `swift sft`'s flags, plus epochs, lr, batch_size and use_qlora. Returns a TrainResult
    (output_dir, last_checkpoint, metrics). Multimodal: task='vqa'|'caption'|'ocr'|'grounding' turns the task's
    simple rows into chat rows with its prompt (swift/training/mm_tasks.py); data_args are the data flags
    (image_folder, dataset, val_dataset, ...), e.g. train(model='smolvlm-tiny', task='vqa',
    data_args={'image_folder': 'images/', 'dataset': 'vqa.jsonl'}).
    """
    from swift.arguments import SftArguments
    from swift.training.runner import python_inputs
    from swift.training.sft import sft_main
    if task is not None or data_args is not None:
        from swift.training.mm_tasks import task_inputs
        dataset, kwargs = task_inputs(task, dataset, data_args, kwargs)
    elif dataset is None:
        raise SwiftError('train() needs a dataset: an ID, a path, or a list of dicts')
    flags = _flags(kwargs)
    rows = _dataset(dataset, flags)
    module = python_inputs(flags, _loaded_module(model, flags), rows)
    return sft_main(parse_args(SftArguments, flags), model=module, tokenizer=tokenizer, rows=rows)


# ---------------------------------------------------------------- alignment


@dataclass
class DPOConfig:
    """The DPO-specific settings, with `swift rlhf`'s names and defaults (see swift.arguments.DPOArguments)."""
    beta: float = 0.1
    loss_type: Union[str, List[str]] = 'sigmoid'
    loss_weights: List[float] = field(default_factory=list)
    label_smoothing: float = 0.0
    rpo_alpha: Optional[float] = None
    reference_free: bool = False
    precompute_ref_log_probs: bool = False

    def to_kwargs(self) -> Dict[str, Any]:
        kwargs = {f.name: getattr(self, f.name) for f in fields(self)}
        if isinstance(kwargs['loss_type'], str):
            kwargs['loss_type'] = [kwargs['loss_type']]
        return kwargs


def _rlhf(rlhf_type: str, model: Any, dataset: Dataset, tokenizer=None, ref_model=None, teacher_model=None,
          **kwargs):
    from swift.arguments import RLHFArguments
    from swift.training.rlhf.workflow import rlhf_main
    from swift.training.runner import python_inputs
    flags = _flags(kwargs)
    rows = _dataset(dataset, flags)
    module = python_inputs(flags, _loaded_module(model, flags), rows)
    ref_module = python_inputs(flags, ref_model, key='ref_model')
    teacher_module = python_inputs(flags, teacher_model, key='teacher_model')
    args = parse_args(RLHFArguments, {'rlhf_type': rlhf_type, **flags})
    return rlhf_main(args, model=module, tokenizer=tokenizer, ref_model=ref_module, teacher_model=teacher_module,
                     rows=rows)


def train_dpo(model, dataset: Dataset, ref_model=None, **kwargs):
    """DPO; keywords are swift rlhf flags (beta, loss_type, rpo_alpha, reference_free, num_train_epochs, ...)."""
    return _rlhf('dpo', model, dataset, ref_model=ref_model, **kwargs)


def train_orpo(model, dataset: Dataset, **kwargs):
    return _rlhf('orpo', model, dataset, **kwargs)


def train_simpo(model, dataset: Dataset, **kwargs):
    return _rlhf('simpo', model, dataset, **kwargs)


def train_cpo(model, dataset: Dataset, **kwargs):
    return _rlhf('cpo', model, dataset, **kwargs)


def train_kto(model, dataset: Dataset, ref_model=None, **kwargs):
    return _rlhf('kto', model, dataset, ref_model=ref_model, **kwargs)


def train_rm(model, dataset: Dataset, **kwargs):
    """A reward model (sequence classification) trained on preference pairs."""
    return _rlhf('rm', model, dataset, **kwargs)


def train_ppo(model, dataset: Dataset, reward_model: str, ref_model=None, **kwargs):
    return _rlhf('ppo', model, dataset, ref_model=ref_model, reward_model=reward_model, **kwargs)


def train_grpo(model, dataset: Dataset, reward_funcs: Sequence[str] = (), ref_model=None, **kwargs):
    return _rlhf('grpo', model, dataset, ref_model=ref_model, reward_funcs=list(reward_funcs), **kwargs)


def train_gkd(model, dataset: Dataset, teacher_model, **kwargs):
    """GKD: the student `model` learns `teacher_model`'s distributions (a name, or a module with the same tokenizer);
    keywords are swift rlhf flags (lmbda, beta, seq_kd, temperature, max_new_tokens, ...)."""
    return _rlhf('gkd', model, dataset, teacher_model=teacher_model, **kwargs)


class Trainer:
    """`Trainer(model, train_dataset, dpo_config=DPOConfig(...)).train()`.

    With dpo_config the run is DPO; otherwise pass rlhf_type= (and that algorithm's flags as keywords).
    """

    def __init__(self, model, train_dataset: Dataset, dpo_config: Optional[DPOConfig] = None,
                 rlhf_type: Optional[str] = None, tokenizer=None, ref_model=None, **kwargs):
        if dpo_config is not None and rlhf_type not in (None, 'dpo'):
            raise SwiftError(f'dpo_config was given with rlhf_type={rlhf_type!r}: pass one of them')
        self.rlhf_type = rlhf_type or 'dpo'
        self.model = model
        self.train_dataset = train_dataset
        self.tokenizer = tokenizer
        self.ref_model = ref_model
        self.kwargs = {**(dpo_config.to_kwargs() if dpo_config else {}), **kwargs}
        self.result = None

    def train(self):
        self.result = _rlhf(self.rlhf_type, self.model, self.train_dataset, tokenizer=self.tokenizer,
                            ref_model=self.ref_model, **self.kwargs)
        return self.result


class MultiModalTrainer:
    """`MultiModalTrainer(model, dataset, processor, task='vqa').train()`: `swift sft` on the task's rows
    (swift/training/mm_tasks.py), then `.evaluate(rows)` with the task's metric.

    model: an ID, directory or a module from prepare_model; dataset: the task's simple rows, standard rows or a
    file; processor: the model's transformers processor (default: the one swift loads with the model; one given
    here encodes the images instead). Keywords are `swift sft` flags (max_steps, learning_rate, ...)."""

    def __init__(self, model, dataset, processor=None, task: str = 'vqa', data_args: Optional[Dict[str, Any]] = None,
                 **kwargs):
        from swift.training.mm_tasks import get_task
        self.model, self.dataset, self.processor = model, dataset, processor
        self.task, self.data_args, self.kwargs = get_task(task).name, dict(data_args or {}), kwargs
        self.result = None

    def train(self):
        tokenizer = None
        if self.processor is not None:
            tokenizer = self.processor.tokenizer
            info = getattr(self.model, 'model_info', None) or getattr(tokenizer, 'model_info', None)
            if info is None:
                raise SwiftError('processor= is used with a model loaded by swift (prepare_model); with a model ID '
                                 'swift loads the processor itself')
            info.processor, tokenizer.model_info = self.processor, info
        self.result = train(self.model, self.dataset, tokenizer=tokenizer, task=self.task, data_args=self.data_args,
                            **self.kwargs)
        return self.result

    def evaluate(self, rows, max_tokens: int = 32) -> Dict[str, Any]:
        """The task's metric (vqa accuracy, ocr exact match / edit similarity, grounding IoU@0.5) of the trained
        checkpoint's greedy answers on `rows`, with the answers."""
        from swift.training.mm_tasks import evaluate_checkpoint
        if self.result is None:
            raise SwiftError('evaluate() comes after train()')
        return evaluate_checkpoint(self.result.last_checkpoint, self.task, rows, self.data_args.get('image_folder'),
                                   max_tokens)


# ---------------------------------------------------------------- a loaded model


class ModelHandle:
    """A loaded model with its template: .infer(...) to chat, .train(...) to fine-tune, .evaluate(...) to score."""

    def __init__(self, model: str, adapters: Union[None, str, Sequence[str]] = None, **load_kwargs):
        self.model_id = model
        self.adapters = [adapters] if isinstance(adapters, str) else list(adapters or [])
        self.load_kwargs = load_kwargs
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from swift.infer.transformers_engine import TransformersEngine
            self._engine = TransformersEngine(self.model_id, adapters=self.adapters, **self.load_kwargs)
        return self._engine

    def infer(self, prompt_or_messages: Union[str, List[dict]], system: Optional[str] = None, **generation) -> str:
        from swift.infer import InferRequest, RequestConfig
        if isinstance(prompt_or_messages, str):
            messages = [{'role': 'user', 'content': prompt_or_messages}]
        else:
            messages = list(prompt_or_messages)
        if system is not None:
            messages = [{'role': 'system', 'content': system}] + messages
        if 'max_new_tokens' in generation:
            generation['max_tokens'] = generation.pop('max_new_tokens')
        response = self.engine.infer([InferRequest(messages)], RequestConfig(**generation))[0]
        return response.choices[0].message.content

    def train(self, dataset, **sft_args):
        """Fine-tune this handle's model further: its adapters and load options carry over."""
        options = {_CARRIED_TO_TRAINING[k]: v for k, v in self.load_kwargs.items() if k in _CARRIED_TO_TRAINING}
        if self.adapters:
            options['adapters'] = list(self.adapters)
        return train(self.model_id, dataset, **{**options, **sft_args})

    def evaluate(self, datasets: Union[str, Sequence[str]], limit: Optional[int] = None,
                 **eval_args) -> Dict[str, Dict[str, float]]:
        """Scores of this model (its adapters and template included) per benchmark, as swift.eval.evaluate returns.

            swift.load('smollm2-135m-instruct', adapters=[ckpt]).evaluate('gsm8k', limit=50)
            # {'gsm8k': {'n': 50, 'exact_match': 0.1, 'exact_match_flex': 0.12}}

        eval_args: dataset_args, dataset_dir, output_dir, chat, batch_size, resume, progress.
        """
        from swift.eval import evaluate
        # These pick another model: scoring this handle's instead would put the scores under the wrong name.
        for key, instead in _NOT_FOR_A_HANDLE.items():
            if key in eval_args:
                raise SwiftError(f'handle.evaluate scores the loaded model and takes no {key}=: {instead}')
        return evaluate(self.engine, datasets, limit, identity={'model': self.model_id, 'adapters': self.adapters},
                        **eval_args)


def load(model: str, adapters: Union[None, str, Sequence[str]] = None, **load_kwargs) -> ModelHandle:
    """A handle on `model` with `adapters` (one checkpoint directory, or several) loaded on first use."""
    return ModelHandle(model, adapters=adapters, **load_kwargs)
