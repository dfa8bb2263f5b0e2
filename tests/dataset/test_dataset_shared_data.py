"""The real public datasets in ../shared/data load, and every dropped row is a genuine problem."""
import gzip
import json
import re

from swift.dataset import load_datasets, lookup_dataset, standardize_row


def test_alpaca_en(shared_data):
    path = shared_data / 'alpaca_en' / 'alpaca_data_4000.json'
    result = load_datasets(str(path), log=False)
    report = result.report
    assert report.rows_read == 4000
    assert report.formats == {'alpaca': 3999}
    # The one dropped row really has an empty output.
    assert [str(b) for b in report.bad_rows] == [f'{path}: element 2335: messages[1]: empty assistant turn']
    assert json.loads(path.read_text())[2335]['output'] == ''
    first = result.train[0]['messages']
    assert [m['role'] for m in first] == ['user', 'assistant']


def test_alpaca_zh_keeps_english_columns(shared_data):
    result = load_datasets(str(shared_data / 'alpaca_zh'), log=False)
    report = result.report
    assert report.rows_read == 3000 and report.formats == {'alpaca': 2996}
    assert {b.reason for b in report.bad_rows} == {'messages[1]: empty assistant turn'}
    assert all('alpaca_chinese_part_' in b.location and '(line ' in b.location for b in report.bad_rows)
    row = result.train[0]
    assert row['messages'][0]['content'] == '给出保持健康的三个建议。'
    assert row['en_instruction'] == 'Give three tips for staying healthy.'


def test_llamafactory_dpo_sharegpt_preference(shared_data):
    result = load_datasets(str(shared_data / 'llamafactory_dpo'), log=False)
    assert result.report.bad_count == 0
    assert result.report.formats == {'sharegpt': 600}
    assert all(r['messages'][-1]['role'] == 'assistant' and r['rejected_response'] for r in result.train)
    raw = json.loads((shared_data / 'llamafactory_dpo' / 'dpo_en_demo.json').read_text())[0]
    assert result.train[0]['messages'][-1]['content'] == raw['chosen']['value']
    assert result.train[0]['rejected_response'] == raw['rejected']['value']


def _hh_turns(transcript):
    """(speaker, text) turns of a '\n\nHuman: ...\n\nAssistant: ...' transcript, parsed independently."""
    parts = re.split(r'\n\n(Human|Assistant):', transcript)
    return list(zip(parts[1::2], (t.strip() for t in parts[2::2])))


def _assistant_twice(transcript):
    speakers = [speaker for speaker, _ in _hh_turns(transcript)]
    return ('Assistant', 'Assistant') in zip(speakers, speakers[1:])


def test_hh_rlhf_bad_rows_are_explained(shared_data):
    path = shared_data / 'hh_rlhf' / 'harmless-base' / 'test.jsonl.gz'
    result = load_datasets(str(path), log=False)
    report = result.report
    assert report.rows_read == 1812 and report.formats == {'hh_rlhf': 1803}
    lines = gzip.open(path, 'rt', encoding='utf-8').read().splitlines()
    for bad in report.bad_rows:
        row = json.loads(lines[int(bad.location.rsplit(':', 1)[1]) - 1])
        turns = _hh_turns(row['chosen']) + _hh_turns(row['rejected'])
        if 'empty assistant turn' in bad.reason:
            assert any(speaker == 'Assistant' and not text for speaker, text in turns)
        else:
            assert 'two assistant turns in a row' in bad.reason
            assert _assistant_twice(row['chosen']) or _assistant_twice(row['rejected'])
    row = result.train[0]
    assert row['messages'][0]['role'] == 'user' and row['rejected_response']


def test_gsm8k_through_the_registered_preprocessor(shared_data):
    meta = lookup_dataset('modelscope/gsm8k')
    raw = json.loads((shared_data / 'gsm8k' / 'test.jsonl').read_text().splitlines()[0])
    name, row = standardize_row(meta.preprocess(dict(raw), None))
    assert row['messages'] == [{'role': 'user', 'content': raw['question']},
                               {'role': 'assistant', 'content': raw['answer']}]
    assert row['solution'] == raw['answer'] and '####' in row['solution']
