"""The Python API of alignment training (re-exported from `swift`).

    from swift import Trainer, DPOConfig, train_dpo, train_rm, rlhf_main, RLHFArguments

    trainer = Trainer(model='smollm2-135m-instruct', train_dataset=pairs, dpo_config=DPOConfig(beta=0.1))
    result = trainer.train()                          # a TrainResult: output_dir, last_checkpoint, metrics

    result = train_dpo(model=..., ref_model=..., dataset=pairs, beta=0.1, max_epochs=2)
    result = train_rm(model=..., dataset=pairs)
    result = rlhf_main(RLHFArguments(rlhf_type='kto', model=..., dataset=['data.jsonl']))

`model` is a registry ID, hub ID or local path, or a module (then pass `tokenizer=` too; a module
prepared with Swift.prepare_model trains its adapters as they are). `dataset` / `train_dataset` is
a dataset ID or path, several of them, or a list of dicts in any supported row format. Every other
keyword is a `swift rlhf` flag (lr, max_epochs, batch_size and use_qlora are accepted too).
"""
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Sequence, Union

from swift.utils import SwiftError

from .arguments import RLHFArguments  # noqa: F401  (re-exported)
from .workflow import rlhf_main  # noqa: F401  (re-exported)

Dataset = Union[str, Sequence[str], List[dict]]


@dataclass
class DPOConfig:
    """The DPO-specific settings, with `swift rlhf`'s names and defaults (see RLHFArguments for all)."""
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


def _run(rlhf_type: str, model: Any, dataset: Dataset, tokenizer=None, ref_model=None, **kwargs):
    from swift.api import _train_kwargs
    kwargs = _train_kwargs(kwargs)
    rows = None
    if isinstance(dataset, list) and dataset and isinstance(dataset[0], dict):
        rows = dataset
    elif isinstance(dataset, (str, list, tuple)) and dataset:
        kwargs['dataset'] = [dataset] if isinstance(dataset, str) else list(dataset)
    else:
        raise SwiftError('dataset must be a dataset ID or path, a list of them, or a non-empty list of dicts')
    return rlhf_main(None, model=model, tokenizer=tokenizer, ref_model=ref_model, rows=rows, rlhf_type=rlhf_type,
                     **kwargs)


def train_dpo(model, dataset: Dataset, ref_model=None, **kwargs):
    """DPO; keywords are swift rlhf flags (beta, loss_type, rpo_alpha, reference_free, max_epochs, ...)."""
    return _run('dpo', model, dataset, ref_model=ref_model, **kwargs)


def train_orpo(model, dataset: Dataset, **kwargs):
    return _run('orpo', model, dataset, **kwargs)


def train_simpo(model, dataset: Dataset, **kwargs):
    return _run('simpo', model, dataset, **kwargs)


def train_cpo(model, dataset: Dataset, **kwargs):
    return _run('cpo', model, dataset, **kwargs)


def train_kto(model, dataset: Dataset, ref_model=None, **kwargs):
    return _run('kto', model, dataset, ref_model=ref_model, **kwargs)


def train_rm(model, dataset: Dataset, **kwargs):
    """A reward model (sequence classification) trained on preference pairs."""
    return _run('rm', model, dataset, **kwargs)


def train_ppo(model, dataset: Dataset, reward_model: str, ref_model=None, **kwargs):
    return _run('ppo', model, dataset, ref_model=ref_model, reward_model=reward_model, **kwargs)


def train_grpo(model, dataset: Dataset, reward_funcs: Sequence[str] = (), ref_model=None, **kwargs):
    return _run('grpo', model, dataset, ref_model=ref_model, reward_funcs=list(reward_funcs), **kwargs)


class Trainer:
    """`Trainer(model=..., train_dataset=..., dpo_config=DPOConfig(...)).train()`.

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
        self.result = _run(self.rlhf_type, self.model, self.train_dataset, tokenizer=self.tokenizer,
                           ref_model=self.ref_model, **self.kwargs)
        return self.result
