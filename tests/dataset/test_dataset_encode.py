"""encode_rows: max_length policies, counts, failures, and the template contract."""
import pytest

from swift.dataset import Rows, encode_rows, load_datasets
from swift.template import get_template
from swift.utils import SwiftError


class CharTemplate:
    """One token per character: the prompt is every non-assistant message, the answer the assistant turns."""

    def __init__(self, max_length=None, loss_scale='default'):
        self.max_length = max_length  # encode_rows must switch this off and apply its own policy
        self.loss_scale = loss_scale
        self.seen_loss_scales = []

    def encode(self, row):
        self.seen_loss_scales.append(self.loss_scale)
        if self.max_length is not None:
            raise AssertionError('encode_rows should have cleared the template max_length')
        ids, labels = [], []
        for message in row['messages']:
            if message['content'] == 'FAIL':
                raise ValueError('cannot render FAIL')
            tokens = [ord(c) for c in message['content']]
            ids += tokens
            trained = message['role'] == 'assistant' or self.loss_scale == 'all'
            labels += tokens if trained else [-100] * len(tokens)
        return {'input_ids': ids, 'labels': labels, 'attention_mask': [1] * len(ids), 'length': len(ids)}


def row(query, response):
    return {'messages': [{'role': 'user', 'content': query}, {'role': 'assistant', 'content': response}]}


ROWS = [row('ab', 'cd'), row('abcdef', 'gh'), row('a', 'bcdefgh'), row('abcdefgh', 'i')]  # lengths 4, 8, 8, 9


def test_no_max_length_keeps_everything():
    encoded, report = encode_rows(ROWS, CharTemplate(), log=False)
    assert len(encoded) == 4 and report.lengths == [4, 8, 8, 9]
    assert report.length_stats() == {'min': 4, 'mean': 7.25, 'p95': 9, 'max': 9}


def test_delete():
    encoded, report = encode_rows(ROWS, CharTemplate(), max_length=6, truncation_strategy='delete', log=False)
    assert [e['input_ids'] for e in encoded] == [[97, 98, 99, 100]]
    assert (report.too_long, report.deleted, report.truncated, report.encoded) == (3, 3, 0, 1)


def test_left_truncation_keeps_the_end_and_labels_aligned():
    encoded, report = encode_rows(ROWS, CharTemplate(), max_length=6, truncation_strategy='left', log=False)
    assert report.too_long == 3 and report.truncated == 3 and report.encoded == 4
    second = encoded[1]
    assert second['input_ids'] == [ord(c) for c in 'cdefgh']
    assert second['labels'] == [-100] * 4 + [ord('g'), ord('h')]
    assert second['attention_mask'] == [1] * 6 and second['length'] == 6


def test_right_truncation_drops_rows_left_without_labels():
    encoded, report = encode_rows(ROWS, CharTemplate(), max_length=6, truncation_strategy='right', log=False)
    # 'abcdefgh'+'i' cut to 'abcdef' keeps no answer token: dropped and counted
    assert report.truncated == 3 and report.no_labels == 2 and report.encoded == 2
    assert encoded[1]['input_ids'] == [ord(c) for c in 'abcdef']
    assert encoded[1]['labels'] == [-100] + [ord(c) for c in 'bcdef']
    assert '2 row(s) dropped: no trainable (label) token left' in report.summary()


def test_error_names_the_row(tmp_path):
    path = tmp_path / 'd.jsonl'
    path.write_text('{"query": "ab", "response": "cd"}\n{"query": "abcdefgh", "response": "i"}\n')
    rows = load_datasets(str(path), log=False).train
    with pytest.raises(SwiftError, match=r'd\.jsonl:2: 9 tokens, more than max_length 6'):
        encode_rows(rows, CharTemplate(), max_length=6, truncation_strategy='error', log=False)


def test_failures_are_counted_and_strict_stops():
    rows = Rows(ROWS[:2] + [row('FAIL', 'x')], ['f:1', 'f:2', 'f:3'])
    encoded, report = encode_rows(rows, CharTemplate(), log=False)
    assert len(encoded) == 2 and report.failed == 1
    assert report.failures == [('f:3', 'ValueError: cannot render FAIL')]
    with pytest.raises(SwiftError, match='f:3: the template cannot encode this row'):
        encode_rows(rows, CharTemplate(), strict=True, log=False)
    with pytest.raises(SwiftError, match='could not encode any row'):
        encode_rows(Rows([row('FAIL', 'x')]), CharTemplate(), log=False)


def test_template_settings_are_not_mutated():
    template = CharTemplate(max_length=3, loss_scale='default')
    encoded, _ = encode_rows(ROWS[:1], template, loss_scale='all', log=False)
    assert encoded[0]['labels'] == [97, 98, 99, 100]  # 'all' trains the prompt too
    assert template.max_length == 3 and template.loss_scale == 'default'
    with pytest.raises(SwiftError, match='truncation_strategy must be one of'):
        encode_rows(ROWS, template, truncation_strategy='middle')


def test_preference_groups_are_truncated_separately():

    class PairTemplate:

        def encode(self, row):
            return {'chosen_input_ids': [1] * 8, 'chosen_labels': [5] * 8, 'rejected_input_ids': [2] * 3,
                    'rejected_labels': [6] * 3}

    encoded, report = encode_rows([{'messages': []}], PairTemplate(), max_length=5, truncation_strategy='left',
                                  log=False)
    assert report.lengths == [8] and report.truncated == 1
    assert len(encoded[0]['chosen_input_ids']) == 5 and len(encoded[0]['rejected_input_ids']) == 3


def test_real_template_on_alpaca(shared_data, smollm_tokenizer):
    """The speed of this encoding is measured by benchmarks/cli_latency.py, not asserted here."""
    template = get_template('smollm2', tokenizer=smollm_tokenizer)
    rows = load_datasets(str(shared_data / 'alpaca_en' / 'alpaca_data_4000.json'), log=False).train
    encoded, report = encode_rows(rows, template, max_length=128, truncation_strategy='delete', log=False)
    assert report.total == 3999 and report.failed == 0
    assert report.deleted == sum(1 for n in report.lengths if n > 128) > 0
    assert len(encoded) == 3999 - report.deleted - report.no_labels
    sample = encoded[0]
    assert len(sample['input_ids']) == len(sample['labels']) <= 128
    assert any(t != -100 for t in sample['labels']) and sample['labels'][0] == -100
