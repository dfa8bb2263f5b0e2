"""Training items → batches, for each family of alignment algorithms, and KTO's mismatched pairs.

The items come from swift.dataset.alignment (rows → items: pairs, unpaired rows, prompts, distillation rows),
which both swift rlhf and swift export --to_cached_dataset use. Each KTO item also carries a mismatched
(prompt, completion) sequence - its prompt with the next item's completion - from which KTO estimates its KL
reference point (added here, after encoding or after reading a cached dataset).
"""
import copy
from typing import Any, Dict, List, Optional

from swift.arguments.rlhf import rlhf_arguments_class
# re-exported: the row encoding moved to the dataset layer (export encodes with it too)
from swift.dataset.alignment import MEDIA_ALGORITHMS, MEDIA_KEYS, RowEncoder, prompt_row, split_pairs_for_kto
from swift.dataset.formats import rejected_messages
from swift.training.collator import PaddingCollator
from swift.utils import SwiftError

__all__ = ['MEDIA_ALGORITHMS', 'MEDIA_KEYS', 'RowEncoder', 'prompt_row', 'split_pairs_for_kto', 'rejected_messages',
           'add_kl_pairs', 'PairCollator', 'KTOCollator', 'PromptCollator', 'DistillCollator', 'collator_for']
IGNORE_INDEX = -100
_TOKEN_KEYS = ('input_ids', 'labels', 'attention_mask')


def add_kl_pairs(items: List[Dict[str, Any]], max_length: Optional[int] = None) -> None:
    """Give each KTO item a mismatched sequence: its own prompt, the completion of the next item.

    KTO's reference point z0 is the policy/reference log-ratio on completions that do not answer
    their prompt (Ethayarajh et al. 2024; TRL rotates completions by one the same way). The pairs are
    fixed here, not per batch, so precomputed reference log-probs stay valid under shuffling.
    """
    if len(items) < 2:
        raise SwiftError('KTO needs at least 2 training rows (its KL estimate pairs each prompt with another '
                         'row\'s answer)')
    for index, item in enumerate(items):
        other = items[(index + 1) % len(items)]
        prompt = _prompt_length(item)
        other_prompt = _prompt_length(other)
        item['kl_input_ids'] = (item['input_ids'][:prompt] + other['input_ids'][other_prompt:])[:max_length]
        item['kl_labels'] = ([IGNORE_INDEX] * prompt + other['labels'][other_prompt:])[:max_length]
        item['kl_attention_mask'] = [1] * len(item['kl_input_ids'])
        if item.get('media'):  # the prompt's images come with it (its media tokens are in the prompt, never cut:
            item['kl_media'] = item['media']  # the item itself fits max_length)


def _prompt_length(item: Dict[str, Any]) -> int:
    return next(i for i, label in enumerate(item['labels']) if label != IGNORE_INDEX)


# ---------------------------------------------------------------- collators


def _padded(features: List[Dict[str, Any]], prefix: str, pad_token_id: int) -> Dict[str, Any]:
    rows = [{key: f[prefix + key] for key in _TOKEN_KEYS} for f in features]
    return PaddingCollator(pad_token_id)(rows)


def _floats(features: List[Dict[str, Any]], key: str):
    import torch
    if all(key in f for f in features):
        return torch.tensor([f[key] for f in features], dtype=torch.float32)
    return None


class PairCollator:
    """[chosen rows; rejected rows] padded to one width: input_ids, attention_mask, labels of shape [2B, L].

    Multimodal pairs also get their media tensors (pixel_values, ...) in the same order, collated by the template.
    """

    def __init__(self, pad_token_id: int, template=None):
        self.pad_token_id = pad_token_id
        self.template = template

    def __call__(self, features: List[Dict[str, Any]]) -> Dict[str, Any]:
        halves = [{key: f[prefix + key] for key in _TOKEN_KEYS} for prefix in ('chosen_', 'rejected_')
                  for f in features]
        batch = _padded(halves, '', self.pad_token_id)
        media = [f.get(prefix + 'media') or {} for prefix in ('chosen_', 'rejected_') for f in features]
        if any(media):
            if self.template is None or not hasattr(self.template, 'collate_media'):
                raise SwiftError('these pairs carry images: PairCollator needs the multimodal template (template=)')
            batch.update(self.template.collate_media(media, input_ids=batch.get('input_ids')))
        for key in ('ref_chosen_logps', 'ref_rejected_logps', 'margin'):
            values = _floats(features, key)
            if values is not None:
                batch[key] = values
        return batch


class KTOCollator:
    """The rows, their mismatched KL sequences (kl_*), and `label` (True: desirable); multimodal rows also get their
    media tensors (pixel_values, ...; kl_pixel_values, ... for the KL sequences), collated by the template."""

    def __init__(self, pad_token_id: int, template=None):
        self.pad_token_id = pad_token_id
        self.template = template

    def __call__(self, features: List[Dict[str, Any]]) -> Dict[str, Any]:
        import torch
        batch = _padded(features, '', self.pad_token_id)
        batch.update({f'kl_{k}': v for k, v in _padded(features, 'kl_', self.pad_token_id).items()})
        for prefix in ('', 'kl_'):
            media = [f.get(prefix + 'media') or {} for f in features]
            if any(media):
                if self.template is None or not hasattr(self.template, 'collate_media'):
                    raise SwiftError('these KTO rows carry images: KTOCollator needs the multimodal template')
                collated = self.template.collate_media(media, input_ids=batch[prefix + 'input_ids'])
                batch.update({prefix + key: value for key, value in collated.items()})
        batch['label'] = torch.tensor([f['label'] for f in features], dtype=torch.bool)
        for key in ('ref_logps', 'ref_kl_logps'):
            values = _floats(features, key)
            if values is not None:
                batch[key] = values
        return batch


class PromptCollator:
    """Prompts stay lists (the trainer generates from them): prompt_ids and the rows for the rewards."""

    def __call__(self, features: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {'prompt_ids': [list(f['input_ids']) for f in features], 'rows': [copy.deepcopy(f['row'])
                                                                                  for f in features]}


class DistillCollator:
    """GKD: the padded conversations, and their prompts as lists (for on-policy answers)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, features: List[Dict[str, Any]]) -> Dict[str, Any]:
        batch = _padded(features, '', self.pad_token_id)
        batch.update(PromptCollator()([{'input_ids': f['prompt_ids'], 'row': f['row']} for f in features]))
        return batch


def collator_for(rlhf_type: str, pad_token_id: int, template=None):
    if rlhf_type == 'gkd':
        return DistillCollator(pad_token_id)
    args_class = rlhf_arguments_class(rlhf_type)
    if args_class.PAIRWISE:
        return PairCollator(pad_token_id, template)
    if args_class.OFFLINE:
        return KTOCollator(pad_token_id, template)
    return PromptCollator()
