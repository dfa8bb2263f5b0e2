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
    """A loaded model with its template: .infer(...) to chat, .train(...) to fine-tune further."""

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
        result = train(self.model_id, dataset, **sft_args)
        return result


def load(model: str, adapters: Optional[Sequence[str]] = None, **load_kwargs) -> ModelHandle:
    return ModelHandle(model, adapters=adapters, **load_kwargs)
