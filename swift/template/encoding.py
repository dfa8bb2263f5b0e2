"""Token ids and training labels from a template's segments.

The whole rendering is tokenized in one call, so input_ids are exactly the ids of the official
rendering (transformers' apply_chat_template also tokenizes with add_special_tokens=False: BOS
and EOS come from the template text). A token is trained iff its first character lies in a
trained segment; its character offsets say where it starts.
"""
import bisect
from typing import Any, Dict, List, Optional, Tuple

from swift.utils import SwiftError, get_logger

from .base import Segment
from .loss_scale import answer_weights, split_loss_scale

logger = get_logger()
IGNORE_INDEX = -100


class MaxLengthError(SwiftError):
    """The encoded row is longer than max_length and truncation_strategy is 'delete'."""


def encode_row(template, row: Dict[str, Any], for_inference: bool = False) -> Dict[str, Any]:
    if template.tokenizer is None:
        raise SwiftError(f'template {template.name!r} has no tokenizer: pass tokenizer= to get_template to encode')
    if not isinstance(row, dict) or 'messages' not in row:
        raise SwiftError(f'a row to encode needs a "messages" list, got keys {sorted(row) if isinstance(row, dict) else row!r}')
    messages = list(row['messages'])
    options = {k: row[k] for k in ('enable_thinking', 'date_string') if row.get(k) is not None}
    if for_inference:
        if messages and messages[-1].get('role') == 'assistant':
            messages = messages[:-1]
        segments = template.render_segments(messages, add_generation_prompt=True, tools=row.get('tools'), **options)
        segments = [Segment(s.text) for s in segments]  # nothing is trained in a prompt
    else:
        segments = template.render_segments(messages, add_generation_prompt=False, tools=row.get('tools'), **options)
        if template.meta.train_suffix and segments and segments[-1].answer_of is not None:
            segments.append(Segment(template.meta.train_suffix, segments[-1].answer_of))
    base, weightings = split_loss_scale(template.loss_scale)
    offsets: List[int] = []
    input_ids, labels = tokenize_segments(template.tokenizer, segments, base, offsets)
    weights = None
    if weightings and not for_inference:
        labels, weights = _weigh(segments, base, weightings, labels, offsets)
    input_ids, labels = _truncate(template, input_ids, labels)
    encoded = {'input_ids': input_ids, 'attention_mask': [1] * len(input_ids), 'length': len(input_ids)}
    if not for_inference:
        encoded['labels'] = labels
        if weights is not None:
            encoded['loss_scale'] = weights[:len(input_ids)] if template.truncation_strategy != 'left' else \
                weights[-len(input_ids):]
    return encoded


def _weigh(segments: List[Segment], base: str, weightings: List[str], labels: List[int], offsets: List[int]):
    """(labels with weight-0 tokens untrained, per-token weights or None when every weight is 0 or 1)."""
    spans = trained_spans(segments, base)
    answers, position = [], 0
    for segment in segments:
        if any(start <= position < end for start, end in spans):
            answers.append((position, segment.text))
        position += len(segment.text)
    changed = answer_weights(answers, weightings)
    weights = [changed.get(start, 1.0) if label != IGNORE_INDEX else 0.0 for label, start in zip(labels, offsets)]
    labels = [IGNORE_INDEX if w == 0 else label for label, w in zip(labels, weights)]
    return labels, (weights if any(w not in (0.0, 1.0) for w in weights) else None)


def trained_spans(segments: List[Segment], loss_scale: str) -> List[Tuple[int, int]]:
    """Character spans [start, end) whose tokens are trained under loss_scale."""
    answered = [s.answer_of for s in segments if s.answer_of is not None]
    last = max(answered) if answered else None
    spans, position = [], 0
    for segment in segments:
        end = position + len(segment.text)
        if (loss_scale == 'all' or (loss_scale == 'default' and segment.answer_of is not None)
                or (loss_scale == 'last_round' and segment.answer_of is not None and segment.answer_of == last)):
            if spans and spans[-1][1] == position:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((position, end))
        position = end
    return spans


def tokenize_segments(tokenizer, segments: List[Segment], loss_scale: str,
                      offsets: Optional[List[int]] = None) -> Tuple[List[int], List[int]]:
    """(input_ids, labels); `offsets`, when given, receives each token's first character position."""
    spans = trained_spans(segments, loss_scale)
    if not getattr(tokenizer, 'is_fast', False):
        return _tokenize_piecewise(tokenizer, segments, spans, offsets)
    text = ''.join(s.text for s in segments)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    starts = [start for start, _ in spans]
    labels = []
    for token_id, (start, _) in zip(encoded['input_ids'], encoded['offset_mapping']):
        if offsets is not None:
            offsets.append(start)
        k = bisect.bisect_right(starts, start) - 1
        labels.append(token_id if k >= 0 and start < spans[k][1] else IGNORE_INDEX)
    return list(encoded['input_ids']), labels


_warned_slow = False


def _tokenize_piecewise(tokenizer, segments: List[Segment], spans, offsets=None) -> Tuple[List[int], List[int]]:
    """Slow tokenizers give no character offsets: tokenize segment by segment (ids may differ at the seams)."""
    global _warned_slow
    if not _warned_slow:
        logger.warning('slow tokenizer (no offset mapping): encoding segment by segment; token ids can differ from '
                       'tokenizing the whole conversation at segment boundaries')
        _warned_slow = True
    input_ids, labels, position = [], [], 0
    for segment in segments:
        ids = tokenizer.encode(segment.text, add_special_tokens=False)
        trained = any(start <= position < end for start, end in spans)
        input_ids += ids
        labels += ids if trained else [IGNORE_INDEX] * len(ids)
        if offsets is not None:
            offsets += [position] * len(ids)
        position += len(segment.text)
    return input_ids, labels


def _truncate(template, input_ids: List[int], labels: List[int]) -> Tuple[List[int], List[int]]:
    max_length: Optional[int] = template.max_length
    if max_length is None or len(input_ids) <= max_length:
        return input_ids, labels
    if template.truncation_strategy == 'delete':
        raise MaxLengthError(f'encoded length {len(input_ids)} exceeds max_length {max_length}')
    if template.truncation_strategy == 'left':
        return input_ids[-max_length:], labels[-max_length:]
    return input_ids[:max_length], labels[:max_length]

