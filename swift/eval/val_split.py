"""`swift eval --adapters checkpoint-N --load_data_args true`: score the checkpoint on the validation rows of the
run that saved it (its datasets, split and seeds from args.json, as `swift infer --load_data_args` answers them).

The rows are encoded as that run encoded them (its template, system prompt, max_length, truncation and loss
scale) and scored teacher-forced: the mean loss over the trained tokens and the share of them the model
predicts (token_acc). With every validation row in one evaluation batch this is the run's own eval_loss; it
needs the weights, so a server at --eval_url cannot be scored this way.
"""
from types import SimpleNamespace
from typing import Any, Dict, List

from swift.dataset import encode_rows
from swift.infer.batch import saved_data_args, training_val_rows
from swift.template import template_for_args
from swift.utils import SwiftError

NAME = 'val_split'
# what the saved run's encoding depends on, with the defaults of swift sft when args.json lacks one
_ENCODING_DEFAULTS = {'use_chat_template': True, 'template': None, 'system': None, 'max_length': None,
                      'truncation_strategy': 'delete', 'loss_scale': 'default', 'agent_template': None,
                      'enable_thinking': None}


def _training_template(args, tokenizer):
    saved = saved_data_args(args)
    flags = SimpleNamespace(**{k: saved.get(k, default) for k, default in _ENCODING_DEFAULTS.items()})
    flags.template = args.template or flags.template
    return template_for_args(flags, tokenizer), flags


def score_val_split(lm, args) -> Dict[str, Any]:
    """{'metrics': {'n', 'loss', 'token_acc'}, ...} in the shape of a benchmark's result."""
    import torch
    model = getattr(lm, 'model', None)
    if model is None:
        raise SwiftError('--load_data_args scores the validation rows with the model\'s weights: it needs a local '
                         'model (--model / --adapters), not --eval_url')
    rows = training_val_rows(args)
    template, flags = _training_template(args, lm.tokenizer)
    samples: List[Dict[str, Any]] = encode_rows(rows, template, max_length=flags.max_length,
                                                truncation_strategy=flags.truncation_strategy,
                                                loss_scale=flags.loss_scale)[0]
    if not samples:
        raise SwiftError('--load_data_args: none of the validation rows could be encoded (see the report above)')
    device = next(model.parameters()).device
    total_loss, correct, count = 0.0, 0, 0
    with torch.inference_mode():
        for sample in samples:
            input_ids = torch.tensor([sample['input_ids']], device=device)
            labels = torch.tensor(sample['labels'][1:], device=device)
            logits = model(input_ids=input_ids).logits[0, :-1].float()
            trained = labels != -100
            total_loss += float(torch.nn.functional.cross_entropy(logits[trained], labels[trained], reduction='sum'))
            correct += int((logits[trained].argmax(-1) == labels[trained]).sum())
            count += int(trained.sum())
    metrics = {'n': len(samples), 'loss': total_loss / count, 'token_acc': correct / count}
    return {'metrics': metrics, 'subsets': {'default': dict(metrics)}, 'scoring': 'teacher-forced',
            'few_shot_num': 0, 'rows': len(rows), 'trained_tokens': count}
