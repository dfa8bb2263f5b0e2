"""Rows → training items → batches, for each family of alignment algorithms.

Pairs (dpo, orpo, simpo, cpo, rm): the chosen conversation is `messages`; the rejected one is
`rejected_messages`, or `messages` with its last answer replaced by `rejected_response`. Both are
encoded with the same template, so they share the prompt token for token.

Unpaired rows (kto): `messages` + `label` (true: desirable). A pair row is split into its chosen
(true) and rejected (false) halves. Each item also carries a mismatched (prompt, completion) sequence
- its prompt with the next item's completion - from which KTO estimates its KL reference point.

Prompts (ppo, grpo): `messages` ending with a user turn; a final assistant turn is dropped and kept as
`solution` when the row has none (so query/response data works with the accuracy reward). Every
other column travels with the prompt to the reward functions.

Distillation (gkd): `messages` ending with an answer, encoded as SFT encodes it, plus its prompt (the row
without the answer) for the steps where the student or the teacher answers it.

A row that does not fit the algorithm raises ValueError with the reason; encode_rows reports it
with the row's file:line, as for SFT.
"""
import copy
from typing import Any, Dict, List, Optional, Sequence

from swift.arguments.rlhf import rlhf_arguments_class
from swift.dataset.formats import rejected_messages
from swift.training.collator import PaddingCollator
from swift.utils import SwiftError

IGNORE_INDEX = -100
_TOKEN_KEYS = ('input_ids', 'labels', 'attention_mask')


MEDIA_KEYS = ('images', 'videos', 'audios')
# Pairwise algorithms whose trainer passes the media tensors to the model (preference.py); the others refuse media.
MEDIA_ALGORITHMS = ('dpo', 'orpo', 'simpo', 'cpo')


def _encode(template, row: Dict[str, Any], messages: List[Dict[str, Any]], prefix: str = '') -> Dict[str, Any]:
    encoded = template.encode({**row, 'messages': messages})
    out = {prefix + key: list(encoded[key]) for key in _TOKEN_KEYS}
    if encoded.get('media_spans'):  # a multimodal row: its pixel tensors (what the model's forward takes) go along
        from swift.template.media import NOT_MODEL_INPUTS
        out[prefix + 'media_spans'] = encoded['media_spans']  # encode_rows never truncates into these
        out[prefix + 'media'] = {k: v for k, v in encoded.items() if k not in NOT_MODEL_INPUTS}
    return out


def _check_ends_with_answer(messages: List[Dict[str, Any]], what: str) -> None:
    if not messages or messages[-1].get('role') != 'assistant':
        raise ValueError(f'{what} must end with an assistant answer')


class RowEncoder:
    """`template.encode` for alignment rows: what swift.dataset.encode_rows calls for each row.

    The template must not truncate (encode_rows applies --max_length and --truncation_strategy to each
    group: chosen_, rejected_, kl_, or none).
    """

    def __init__(self, template, rlhf_type: str):
        self.template = template
        self.rlhf_type = rlhf_type
        self.args_class = rlhf_arguments_class(rlhf_type)

    def encode(self, row: Dict[str, Any]) -> Dict[str, Any]:
        media = [key for key in MEDIA_KEYS if row.get(key)]
        if media and self.rlhf_type not in MEDIA_ALGORITHMS:
            raise ValueError(f'rows with {media[0]} are not supported by --rlhf_type {self.rlhf_type} yet '
                             f'({", ".join(MEDIA_ALGORITHMS)} take them)')
        if row.get('rejected_images'):
            raise ValueError('"rejected_images" (other images for the rejected answer) is not supported yet: '
                             'both answers of a pair see the row\'s images')
        if self.rlhf_type == 'gkd':
            return self.encode_distill(row)
        if self.args_class.PAIRWISE:
            return self.encode_pair(row)
        if self.args_class.OFFLINE:
            return self.encode_unpaired(row)
        return self.encode_prompt(row)

    def encode_pair(self, row: Dict[str, Any]) -> Dict[str, Any]:
        _check_ends_with_answer(row['messages'], 'the chosen conversation')
        rejected = rejected_messages(row)
        _check_ends_with_answer(rejected, 'the rejected conversation')
        item = {**_encode(self.template, row, row['messages'], 'chosen_'),
                **_encode(self.template, row, rejected, 'rejected_')}
        if 'margin' in row:  # reward models: how much better the chosen answer is
            item['margin'] = float(row['margin'])
        return item

    def encode_unpaired(self, row: Dict[str, Any]) -> Dict[str, Any]:
        if 'label' not in row:
            raise ValueError('KTO rows need a "label": true for a desirable answer, false for an undesirable one '
                             '(or a rejected_response, to use a pair as two rows)')
        _check_ends_with_answer(row['messages'], 'a KTO conversation')
        item = _encode(self.template, row, row['messages'])
        if not isinstance(row['label'], bool):
            raise ValueError(f'a KTO "label" is true or false (or 1/0), got {row["label"]!r}')
        item['label'] = row['label']
        return item

    def encode_distill(self, row: Dict[str, Any]) -> Dict[str, Any]:
        """GKD: the conversation as SFT encodes it (off-policy steps), and its prompt (on-policy steps)."""
        _check_ends_with_answer(row['messages'], 'a GKD conversation')
        item = _encode(self.template, row, row['messages'])
        prompt = prompt_row(row)
        item['prompt_ids'] = list(self.template.encode(prompt, for_inference=True)['input_ids'])
        item['row'] = prompt
        return item

    def encode_prompt(self, row: Dict[str, Any]) -> Dict[str, Any]:
        row = prompt_row(row)
        encoded = self.template.encode(row, for_inference=True)
        return {'input_ids': list(encoded['input_ids']), 'attention_mask': list(encoded['attention_mask']),
                'row': row}


def prompt_row(row: Dict[str, Any]) -> Dict[str, Any]:
    """The row as a prompt: a final assistant answer is removed (and becomes `solution` if there is none)."""
    messages = list(row['messages'])
    row = dict(row)
    if messages and messages[-1].get('role') == 'assistant':
        answer = messages.pop()
        row.setdefault('solution', answer.get('content'))
    if not messages or messages[-1].get('role') != 'user':
        raise ValueError('a prompt for PPO/GRPO/GKD must end with a user turn')
    row['messages'] = messages
    for key in ('rejected_response', 'rejected_messages'):
        row.pop(key, None)
    return row


def split_pairs_for_kto(rows, locations: Optional[Sequence[str]] = None):
    """KTO takes unpaired rows: a pair row becomes its chosen (label true) and rejected (label false) halves.

    Returns (rows, locations); rows that already have a label are kept as they are.
    """
    locations = list(locations if locations is not None else getattr(rows, 'locations', None)
                     or [f'row {i}' for i in range(len(rows))])
    out_rows, out_locations = [], []
    for row, location in zip(rows, locations):
        if 'label' in row or ('rejected_response' not in row and 'rejected_messages' not in row):
            out_rows.append(row)
            out_locations.append(location)
            continue
        chosen = {k: v for k, v in row.items() if k not in ('rejected_response', 'rejected_messages')}
        out_rows.append({**chosen, 'label': True})
        out_locations.append(f'{location} (chosen)')
        out_rows.append({**chosen, 'messages': rejected_messages(row), 'label': False})
        out_locations.append(f'{location} (rejected)')
    return out_rows, out_locations


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
    """The rows, their mismatched KL sequences (kl_*), and `label` (True: desirable)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, features: List[Dict[str, Any]]) -> Dict[str, Any]:
        import torch
        batch = _padded(features, '', self.pad_token_id)
        batch.update({f'kl_{k}': v for k, v in _padded(features, 'kl_', self.pad_token_id).items()})
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
        return KTOCollator(pad_token_id)
    return PromptCollator()
