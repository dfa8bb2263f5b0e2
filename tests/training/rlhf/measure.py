"""Measurements for the real-model proofs: trait rate of greedy answers, reward accuracy on held-out pairs."""
from typing import Dict, List, Optional, Sequence

import torch

from .trait_data import has_trait


def load_policy(model_dir: str, adapter: Optional[str] = None):
    """(model, tokenizer) in eval mode; with an adapter, a PeftModel (disable_adapter() gives the base)."""
    from swift.model.loader import get_model_tokenizer
    from swift.tuners import load_adapters
    model, tokenizer = get_model_tokenizer(str(model_dir), torch_dtype='float32')
    if adapter:
        model = load_adapters(model, [str(adapter)])
    return model.eval(), tokenizer


def greedy_answers(model, tokenizer, conversations: Sequence[List[Dict]], max_tokens: int = 6,
                   system: str = '') -> List[str]:
    from swift.infer.transformers_engine import PtEngine
    from swift.infer.protocol import InferRequest, RequestConfig
    with PtEngine(model, tokenizer, template='smollm2', default_system=system) as engine:
        responses = engine.infer([InferRequest(messages=list(c)) for c in conversations],
                                 RequestConfig(max_tokens=max_tokens, temperature=0.0), use_tqdm=False)
    return [r.choices[0].message.content for r in responses]


def trait_rate(model, tokenizer, conversations, system: str = '') -> float:
    answers = greedy_answers(model, tokenizer, conversations, system=system)
    return sum(has_trait(a) for a in answers) / len(answers)


@torch.no_grad()
def implicit_reward_accuracy(peft_model, tokenizer, pairs: Sequence[Dict], system: str = '') -> float:
    """Share of held-out pairs whose DPO implicit reward (log π - log π_ref) is higher for the chosen answer."""
    from swift.template import get_template
    from swift.training.collator import PaddingCollator
    from swift.training.rlhf.base import sequence_logps
    from swift.training.rlhf.data import RowEncoder
    template = get_template('smollm2', tokenizer=tokenizer, default_system=system, loss_scale='last_round')
    encoder = RowEncoder(template, 'dpo')
    items = [encoder.encode(row) for row in pairs]
    collate = PaddingCollator(tokenizer.pad_token_id)
    rows = [{k: item[p + k] for k in ('input_ids', 'labels', 'attention_mask')} for p in ('chosen_', 'rejected_')
            for item in items]
    batch = collate(rows)
    policy, _, _ = sequence_logps(peft_model, batch['input_ids'], batch['attention_mask'], batch['labels'])
    with peft_model.disable_adapter():
        reference, _, _ = sequence_logps(peft_model, batch['input_ids'], batch['attention_mask'], batch['labels'])
    chosen, rejected = (policy.sum(-1) - reference.sum(-1)).chunk(2)
    return (chosen > rejected).float().mean().item()


def reward_model_accuracy(scorer, pairs: Sequence[Dict]) -> float:
    from swift.training.rlhf.data import rejected_messages
    chosen = scorer.score([row['messages'] for row in pairs])
    rejected = scorer.score([rejected_messages(row) for row in pairs])
    return sum(c > r for c, r in zip(chosen, rejected)) / len(pairs)
