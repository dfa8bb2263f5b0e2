"""Reward models as scorers: loading one (`--rlhf_type rm` output, adapter or full) and scoring conversations.

A reward model is the base model as AutoModelForSequenceClassification with one output (`score`, a
linear head on the last hidden state). With LoRA, the head is trained in full and saved with the
adapter (PEFT modules_to_save), so a checkpoint is: adapter + score head + args.json naming the base.

The score of a conversation is the head's output at its last token (the last position of the
attention mask), computed here rather than by the model's forward: transformers pools at the last
token that is not the pad token, and many chat models pad with their end-of-turn token, which also
ends every answer. Training (swift.training.rlhf.reward_model) and serving (reward_engine.py) both
score with sequence_scores, so a served reward is exactly the trained one.

    scorer = RewardModel.load('output/rm/v0-.../checkpoint-40')
    scorer.score([[{'role': 'user', ...}, {'role': 'assistant', ...}], ...])   # → [float, ...]
"""
import copy
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from transformers import AutoModelForSequenceClassification

from swift.model.loader import get_model_tokenizer, load_error
from swift.template import get_template
from swift.tuners import load_adapters
from swift.utils import SwiftError, get_logger
from swift.utils.checkpoint import ADAPTER_CONFIG, MODEL_CONFIG, read_json_object, read_run_args
from swift.utils.device import detect_device, resolve_dtype

from .engine import right_padded

logger = get_logger()
SCORE_HEAD = 'score'


def _backbone_and_head(model):
    """The transformer body and the score head of a (PEFT-wrapped) sequence-classification model."""
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    head = getattr(base, SCORE_HEAD, None)
    backbone = getattr(base, getattr(base, 'base_model_prefix', 'model'), None)
    if head is None or backbone is None:
        raise SwiftError(f'{type(base).__name__} is not a sequence-classification reward model (no score head): '
                         'train one with swift rlhf --rlhf_type rm')
    return backbone, head


def sequence_logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """[rows, num_labels]: the head applied at each right-padded row's last attended token."""
    backbone, head = _backbone_and_head(model)
    hidden = backbone(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
    last = attention_mask.sum(dim=1) - 1
    pooled = hidden[torch.arange(hidden.size(0), device=hidden.device), last]
    return head(pooled.to(head.weight.dtype if hasattr(head, 'weight') else pooled.dtype)).float()


def sequence_scores(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """One score per right-padded row (a one-output head, as a reward model's)."""
    return sequence_logits(model, input_ids, attention_mask).squeeze(-1)


def load_seq_cls_model(model_id: str, model_kwargs: Optional[Dict[str, Any]] = None, num_labels: int = 1):
    """(sequence-classification model with num_labels outputs, tokenizer) for a registry ID, hub ID or directory.

    A reward model checkpoint (…ForSequenceClassification) loads as it is. A causal LM is loaded as a
    causal LM first and its body moved under a new score head: transformers' own loading then handles
    the checkpoint's quirks (e.g. tied embeddings stored only as lm_head.weight, which a direct
    sequence-classification load would leave randomly initialised).
    """
    kwargs = dict(model_kwargs or {})
    _, tokenizer = get_model_tokenizer(model_id, load_model=False, **{k: v for k, v in kwargs.items() if k in (
        'use_hf', 'revision', 'offline', 'model_type', 'trust_remote_code')})
    info = tokenizer.model_info
    if _is_seq_cls_checkpoint(Path(info.model_dir)):
        info.torch_dtype = resolve_dtype(kwargs.get('torch_dtype', 'auto'), detect_device())
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                info.model_dir, num_labels=num_labels, dtype=info.torch_dtype,
                trust_remote_code=bool(kwargs.get('trust_remote_code')), device_map=kwargs.get('device_map'),
                **(kwargs.get('model_kwargs') or {}))
        except (OSError, ValueError) as e:
            raise load_error(info.model_dir, 'the reward model', e) from None
    else:
        causal, tokenizer = get_model_tokenizer(model_id, **kwargs)
        info = tokenizer.model_info
        model = _seq_cls_from_causal(causal, num_labels)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.model_info = info
    return model, tokenizer


def _is_seq_cls_checkpoint(model_dir: Path) -> bool:
    config_file = model_dir / MODEL_CONFIG
    architectures = (read_json_object(config_file).get('architectures') or []) if config_file.is_file() else []
    return any(name.endswith('ForSequenceClassification') for name in architectures)


def _seq_cls_from_causal(causal, num_labels: int = 1):
    config = copy.deepcopy(causal.config)
    config.num_labels = num_labels
    try:
        model = AutoModelForSequenceClassification.from_config(config, dtype=causal.dtype)
    except ValueError as e:
        raise SwiftError(f'{type(causal).__name__} has no sequence-classification variant to use as a reward model: '
                         f'{e}') from None
    body = getattr(model, model.base_model_prefix)
    body.load_state_dict(getattr(causal, causal.base_model_prefix).state_dict())
    return model.to(next(causal.parameters()).device)


def trained_template(tokenizer, saved: Dict[str, Any], template: Optional[str] = None,
                     system: Optional[str] = None):
    """The template (and system prompt) a checkpoint was trained with, from its args.json `saved`, unless
    template / system say otherwise; else the model's registered template."""
    info = getattr(tokenizer, 'model_info', None)
    name = template or saved.get('template') or (info.template if info else None) or (
        info.model_dir if info else None)
    system = system if system is not None else saved.get('system')
    return get_template(name, tokenizer=tokenizer, default_system=system)


def resolve_reward_model(reward_model: str, reward_adapters: Sequence[str] = ()) -> Tuple[str, List[str]]:
    """(base model, adapters) for --reward_model/--reward_adapters; an adapter checkpoint names its own base."""
    path = Path(reward_model).expanduser()
    adapters = list(reward_adapters)
    if path.is_dir() and (path / ADAPTER_CONFIG).is_file():
        base = read_run_args(path).get('model')
        if base is None:
            raise SwiftError(f'--reward_model {reward_model} is an adapter without args.json: pass the base model as '
                             f'--reward_model and this folder as --reward_adapters')
        return base, [str(path)] + adapters
    return reward_model, adapters


class RewardModel:
    """A frozen reward model that scores conversations (a list of messages ending with the answer)."""

    def __init__(self, model, tokenizer, template, batch_size: int = 8):
        self.model = model.eval()
        self.model.requires_grad_(False)
        self.tokenizer = tokenizer
        self.template = template
        self.batch_size = batch_size

    @classmethod
    def load(cls, reward_model: str, reward_adapters: Sequence[str] = (), template: Optional[str] = None,
             system: Optional[str] = None, model_kwargs: Optional[Dict[str, Any]] = None) -> 'RewardModel':
        """A trained reward model; conversations are rendered with the template and system prompt it was
        trained with (from its args.json) unless template / system say otherwise."""
        base, adapters = resolve_reward_model(reward_model, reward_adapters)
        saved = read_run_args(adapters[0] if adapters else base)
        model, tokenizer = load_seq_cls_model(base, model_kwargs)
        if adapters:
            model = load_adapters(model, adapters)
        logger.info(f'reward model: {base}' + (f' + {", ".join(adapters)}' if adapters else ''))
        return cls(model, tokenizer, trained_template(tokenizer, saved, template, system))

    def score(self, conversations: Sequence[List[Dict[str, Any]]]) -> List[float]:
        return self.score_ids([self.template.encode({'messages': list(messages)})['input_ids']
                               for messages in conversations])

    @torch.no_grad()
    def score_ids(self, sequences: Sequence[List[int]]) -> List[float]:
        """The scores of encoded conversations (token ids), batch_size at a time."""
        scores: List[float] = []
        for start in range(0, len(sequences), self.batch_size):
            input_ids, attention_mask = right_padded(self, [list(ids) for ids in sequences[start:start + self.batch_size]])
            scores += sequence_scores(self.model, input_ids, attention_mask).tolist()
        return scores

    def __call__(self, completions: List[str], messages: List[List[Dict[str, Any]]], **kwargs) -> List[float]:
        """As a GRPO reward function: the score of each prompt + completion."""
        return self.score([list(m) + [{'role': 'assistant', 'content': c}] for m, c in zip(messages, completions)])
