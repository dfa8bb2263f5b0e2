"""The friendly Python API: prepare_model, train, load.

    model, tokenizer = prepare_model('Qwen/Qwen2.5-0.5B-Instruct')
    result = train(model='smollm2-135m-instruct', dataset=[{'messages': [...]}], max_epochs=1)
    handle = load('smollm2-135m-instruct', adapters=[result.last_checkpoint])
    handle.infer('Who are you?')
"""
from typing import Any, Dict, List, Optional, Sequence, Union

# friendly keyword → swift flag
_FRIENDLY = {'max_epochs': 'num_train_epochs', 'epochs': 'num_train_epochs', 'lr': 'learning_rate',
             'batch_size': 'per_device_train_batch_size'}


# load() option -> the training flag it carries over to
_CARRIED_TO_TRAINING = {'template': 'template', 'default_system': 'system', 'torch_dtype': 'torch_dtype',
                        'model_type': 'model_type', 'revision': 'revision', 'use_hf': 'use_hf', 'offline': 'offline',
                        'attn_impl': 'attn_impl'}


# evaluate() keywords that a handle already fixed, and what to do instead
_NOT_FOR_A_HANDLE = {'adapters': 'load them with swift.load(model, adapters=[...])',
                     'template': 'load the handle with swift.load(model, template=...)',
                     'tokenizer': 'the handle loads its own',
                     'eval_url': 'score a server with swift.eval.evaluate(eval_url=...)'}


def prepare_model(model: str, **kwargs):
    """(model, tokenizer) for a registry ID, alias, hub ID or local directory."""
    from swift.model.loader import get_model_tokenizer
    return get_model_tokenizer(model, **kwargs)


def _train_kwargs(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    out = {}
    for key, value in kwargs.items():
        if key == 'use_qlora':
            if value:
                out.update(tuner_type='lora', quant_method='bnb', quant_bits=4)
            continue
        out[_FRIENDLY.get(key, key)] = value
    return out


def train(model: Any, dataset: Union[str, Sequence[str], List[dict]], tokenizer=None, **kwargs):
    """Fine-tune `model` (ID, path or prepared module) on `dataset` (ID, path, or a list of dicts).

    Keywords are `swift sft`'s flags, plus max_epochs, use_qlora and lora_rank. Returns a TrainResult
    (output_dir, last_checkpoint, metrics).
    """
    from swift.train.sft import sft_main
    kwargs = _train_kwargs(kwargs)
    rows = None
    if isinstance(dataset, list) and dataset and isinstance(dataset[0], dict):
        rows = dataset
    else:
        kwargs['dataset'] = [dataset] if isinstance(dataset, str) else list(dataset)
    if isinstance(model, str):
        return sft_main(None, tokenizer=tokenizer, rows=rows, model=model, **kwargs)
    return sft_main(None, prepared_model=model, tokenizer=tokenizer, rows=rows, **kwargs)


class ModelHandle:
    """A loaded model with its template: .infer(...) to chat, .train(...) to fine-tune, .evaluate(...) to score."""

    def __init__(self, model: str, adapters: Optional[Sequence[str]] = None, **load_kwargs):
        self.model_id = model
        self.adapters = list(adapters or [])
        self.load_kwargs = load_kwargs
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from swift.infer.pt_engine import PtEngine
            self._engine = PtEngine(self.model_id, adapters=self.adapters, **self.load_kwargs)
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
        from swift.utils import SwiftError
        # These pick another model: scoring this handle's instead would put the scores under the wrong name.
        for key, instead in _NOT_FOR_A_HANDLE.items():
            if key in eval_args:
                raise SwiftError(f'handle.evaluate scores the loaded model and takes no {key}=: {instead}')
        return evaluate(self, datasets, limit, **eval_args)


def load(model: str, adapters: Optional[Sequence[str]] = None, **load_kwargs) -> ModelHandle:
    return ModelHandle(model, adapters=adapters, **load_kwargs)
