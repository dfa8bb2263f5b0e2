"""Alignment rows (swift rlhf) → training items: what each family of algorithms trains on.

It lives in the dataset layer, below training and export, because both encode with it: `swift rlhf` when it
trains, and `swift export --to_cached_dataset true --template_mode rlhf|kto` ahead of time (ms-swift's modes).

Pairs (dpo, orpo, simpo, cpo, rm): the chosen conversation is `messages`; the rejected one is
`rejected_messages`, or `messages` with its last answer replaced by `rejected_response`. Both are
encoded with the same template, so they share the prompt token for token.

Unpaired rows (kto): `messages` + `label` (true: desirable). A pair row is split into its chosen
(true) and rejected (false) halves.

Prompts (ppo, grpo): `messages` ending with a user turn; a final assistant turn is dropped and kept as
`solution` when the row has none (so query/response data works with the accuracy reward). Every
other column travels with the prompt to the reward functions.

Distillation (gkd): `messages` ending with an answer, encoded as SFT encodes it, plus its prompt (the row
without the answer) for the steps where the student or the teacher answers it.

A row that does not fit the algorithm raises ValueError with the reason; encode_rows reports it
with the row's file:line, as for SFT.
"""
import copy
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .cache import cached_encoding
from .encode import encode_rows
from .formats import rejected_messages

_TOKEN_KEYS = ('input_ids', 'labels', 'attention_mask')
MEDIA_KEYS = ('images', 'videos', 'audios')
# Algorithms whose trainer passes the media tensors to the model (preference.py, kto.py, grpo.py through online.py);
# the others refuse media.
MEDIA_ALGORITHMS = ('dpo', 'orpo', 'simpo', 'cpo', 'kto', 'grpo')
# ms-swift's --template_mode of a cached dataset: 'rlhf' (the pairwise algorithms) and 'kto'; 'train' is swift sft/pt's
ENCODING_OF_MODE = {'rlhf': 'dpo', 'kto': 'kto'}  # the pairwise algorithms all encode as dpo does


def template_mode_of(rlhf_type: str) -> Optional[str]:
    """The --template_mode whose cached samples --rlhf_type trains on; None for the online algorithms (ppo, grpo,
    gkd: they generate from prompts, and ms-swift caches none of them either)."""
    from swift.arguments.rlhf import rlhf_arguments_class  # rlhf's argument classes: built only when asked
    if rlhf_type == 'kto':
        return 'kto'
    return 'rlhf' if rlhf_arguments_class(rlhf_type).PAIRWISE else None


def _encode(template, row: Dict[str, Any], messages: List[Dict[str, Any]], prefix: str = '') -> Dict[str, Any]:
    encoded = template.encode({**row, 'messages': messages})
    out = {prefix + key: list(encoded[key]) for key in _TOKEN_KEYS}
    if encoded.get('media_spans'):  # a multimodal row: its pixel tensors (what the model's forward takes) go along
        out[prefix + 'media_spans'] = encoded['media_spans']  # encode_rows never truncates into these
        out[prefix + 'media'] = template.model_media_inputs(encoded)
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
        from swift.arguments.rlhf import rlhf_arguments_class
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


def encode_alignment_rows(rows, template, rlhf_type: str, *, model: Optional[str], max_length: Optional[int],
                          truncation_strategy: str, loss_scale: Optional[str], strict: bool = False,
                          num_proc: int = 1, use_cache: bool = False) -> List[Dict[str, Any]]:
    """Rows → items for --rlhf_type (a row that does not fit is reported with its file:line). swift rlhf and
    swift export --to_cached_dataset both call this, so a cached dataset holds exactly the items training makes."""
    rows, locations = _rows_and_locations(rows, rlhf_type)
    encoder_template = copy.copy(template)
    encoder_template.max_length = None  # encode_rows applies max_length to each sequence of an item
    encoder_template.loss_scale = loss_scale
    encoder = RowEncoder(encoder_template, rlhf_type)
    settings = dict(model=model, rlhf_type=rlhf_type, max_length=max_length,
                    truncation_strategy=truncation_strategy, strict=strict)
    return cached_encoding(rows, encoder, settings, lambda: encode_rows(
        rows, encoder, max_length=max_length, truncation_strategy=truncation_strategy, strict=strict,
        locations=locations, num_proc=num_proc)[0], enabled=use_cache)


def _rows_and_locations(rows, rlhf_type: str) -> Tuple[Any, Optional[List[str]]]:
    locations = getattr(rows, 'locations', None)
    if rlhf_type == 'kto':
        return split_pairs_for_kto(rows, locations)
    return rows, locations
