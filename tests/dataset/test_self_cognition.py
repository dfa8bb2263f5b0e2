"""swift/self-cognition: shipped data, placeholders, and the held-out questions."""
import json
import re

import pytest

from swift.dataset import HELD_OUT_IDENTITY_QUESTIONS, load_datasets, lookup_dataset
from swift.dataset.self_cognition import DATA_FILE
from swift.utils import SwiftError


def _raw_rows():
    return [json.loads(line) for line in DATA_FILE.read_text(encoding='utf-8').splitlines() if line.strip()]


def _normalize(text):
    return re.sub(r'[\W_]+', '', text.lower())


def test_shipped_data_is_bilingual_and_complete():
    rows = _raw_rows()
    assert len(rows) >= 100
    tags = [r['tag'] for r in rows]
    assert tags.count('en') >= 45 and tags.count('zh') >= 45
    assert len({r['query'] for r in rows}) == len(rows)  # no duplicate questions
    for row in rows:
        assert set(row) == {'query', 'response', 'tag'}
        assert '{{NAME}}' in row['response'] or '{{AUTHOR}}' in row['response'], row


def test_held_out_questions_are_not_in_the_data():
    questions = {_normalize(r['query']) for r in _raw_rows()}
    assert len(HELD_OUT_IDENTITY_QUESTIONS) >= 3
    for held_out in HELD_OUT_IDENTITY_QUESTIONS:
        assert _normalize(held_out) not in questions, held_out
    # Not even the key phrasing: the held-out check must measure generalization.
    for row in _raw_rows():
        q = row['query'].lower()
        assert 'introduce' not in q and 'creator' not in q and 'call you' not in q, q
        assert '介绍' not in q and '称呼' not in q and '创造者' not in q, q


def test_placeholders_filled_per_language():
    result = load_datasets('swift/self-cognition', model_name=['小黄', 'Xiao Huang'], model_author=['魔搭', 'ModelScope'],
                           log=False)
    rows = result.train.rows
    assert len(rows) == len(_raw_rows()) and result.report.bad_count == 0
    text = json.dumps(rows, ensure_ascii=False)
    assert '{{' not in text
    by_query = {r['messages'][0]['content']: r['messages'][1]['content'] for r in rows}
    assert by_query['你是谁？'] == '我是小黄，由魔搭开发的人工智能助手。有什么可以帮你的吗？'
    assert by_query['Who are you?'] == 'I am Xiao Huang, an AI assistant developed by ModelScope. How can I help you today?'
    assert by_query['Are you Xiao Huang?'].startswith('Yes, I')
    assert all('tag' not in r for r in rows)


def test_one_name_for_both_languages_and_sampling():
    result = load_datasets('swift/self-cognition#300', model_name='Bot', model_author='Lab', log=False)
    assert len(result.train) == 300
    assert all('Bot' in r['messages'][1]['content'] or 'Lab' in r['messages'][1]['content'] for r in result.train)


def test_names_are_required():
    with pytest.raises(SwiftError, match='--model_name and --model_author'):
        load_datasets('swift/self-cognition', log=False)
    with pytest.raises(SwiftError, match='one name, or two'):
        load_datasets('swift/self-cognition', model_name=['a', 'b', 'c'], model_author='x', log=False)


def test_registered_with_ms_swift_ids():
    meta = lookup_dataset('self-cognition')
    assert meta.ms_dataset_id == 'swift/self-cognition' and meta.hf_dataset_id == 'modelscope/self-cognition'
    assert meta.dataset_path == str(DATA_FILE)
