"""Sources, spec strings, sampling, splitting, bad-row reports and the registry."""
import gzip
import json
import textwrap
from collections import Counter

import pytest

from swift.dataset import (DATASET_REGISTRY, DatasetMeta, load_datasets, lookup_dataset, parse_dataset_spec,
                           register_dataset, sample_indices, split_indices)
from swift.utils import SwiftError


def write_jsonl(path, rows):
    path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows), encoding='utf-8')
    return path


def qa_rows(n, prefix='q'):
    return [{'query': f'{prefix}{i}', 'response': f'a{i}'} for i in range(n)]


def queries(rows):
    return [r['messages'][0]['content'] for r in rows]


# ---------------------------------------------------------------- spec strings


@pytest.mark.parametrize('text, dataset_id, hub, subsets, sample', [
    ('AI-ModelScope/alpaca-gpt4-data-en', 'AI-ModelScope/alpaca-gpt4-data-en', None, [], None),
    ('AI-ModelScope/alpaca-gpt4-data-en#500', 'AI-ModelScope/alpaca-gpt4-data-en', None, [], 500),
    ('hf::vicgalle/alpaca-gpt4', 'vicgalle/alpaca-gpt4', 'hf', [], None),
    ('ms::AI-ModelScope/hh-rlhf:harmless-base#20', 'AI-ModelScope/hh-rlhf', 'ms', ['harmless-base'], 20),
    ('org/name:sub-a/sub_b', 'org/name', None, ['sub-a', 'sub_b'], None),
    ('data/train.jsonl#3', 'data/train.jsonl', None, [], 3),
    ('swift/self-cognition#1000', 'swift/self-cognition', None, [], 1000),
])
def test_parse_dataset_spec(text, dataset_id, hub, subsets, sample):
    spec = parse_dataset_spec(text)
    assert (spec.dataset_id, spec.hub, spec.subsets, spec.sample) == (dataset_id, hub, subsets, sample)


def test_existing_path_is_never_split(tmp_path):
    odd = write_jsonl(tmp_path / 'odd:name#2.jsonl', qa_rows(3))
    spec = parse_dataset_spec(str(odd))
    assert spec.dataset_id == str(odd) and spec.sample is None and spec.subsets == []


@pytest.mark.parametrize('text, message', [('', 'empty dataset spec'), ('org/name#0', '#0 samples no rows'),
                                           ('org/name#abc', 'must be a row count')])
def test_bad_specs(text, message):
    with pytest.raises(SwiftError, match=message):
        parse_dataset_spec(text)


# ---------------------------------------------------------------- sampling, concatenation, split


def test_sample_with_repetition_is_seeded():
    idx = sample_indices(10, 25, seed=1)
    assert len(idx) == 25
    assert Counter(idx) == Counter(list(range(10)) * 2 + sample_indices(10, 5, seed=1))
    assert sample_indices(10, 25, seed=1) == idx
    assert sample_indices(10, 5, seed=1) != sample_indices(10, 5, seed=2)


def test_hash_n_samples_and_concatenates(tmp_path):
    a = write_jsonl(tmp_path / 'a.jsonl', qa_rows(4, 'a'))
    b = write_jsonl(tmp_path / 'b.jsonl', qa_rows(3, 'b'))
    result = load_datasets([f'{a}#10', f'{b}#2'], log=False)
    got = queries(result.train)
    assert len(got) == 12
    counts = Counter(got[:10])
    assert set(counts) == {'a0', 'a1', 'a2', 'a3'} and sorted(counts.values()) == [2, 2, 3, 3]
    assert set(got[10:]) <= {'b0', 'b1', 'b2'} and len(set(got[10:])) == 2
    assert [s.sampled for s in result.report.sources] == [10, 2]
    # the sampled rows keep their source line
    assert all(loc.startswith(str(a)) for loc in result.train.locations[:10])


def test_split_ratio_is_deterministic(tmp_path):
    path = write_jsonl(tmp_path / 'd.jsonl', qa_rows(100))
    first = load_datasets(str(path), split_dataset_ratio=0.1, seed=3, log=False)
    again = load_datasets(str(path), split_dataset_ratio=0.1, seed=3, log=False)
    other = load_datasets(str(path), split_dataset_ratio=0.1, seed=4, log=False)
    assert (len(first.train), len(first.val)) == (90, 10)
    assert queries(first.val) == queries(again.val)
    assert queries(first.val) != queries(other.val)
    assert not set(queries(first.val)) & set(queries(first.train))
    assert split_indices(1, 0.5, 0) == ([0], [])


def test_val_dataset_and_split_add_up(tmp_path):
    train = write_jsonl(tmp_path / 't.jsonl', qa_rows(20, 't'))
    val = write_jsonl(tmp_path / 'v.jsonl', qa_rows(3, 'v'))
    result = load_datasets(str(train), val_dataset=[str(val)], split_dataset_ratio=0.1, log=False)
    assert len(result.train) == 18 and len(result.val) == 5
    assert queries(result.val)[-3:] == ['v0', 'v1', 'v2']


# ---------------------------------------------------------------- sources


def test_sources_csv_parquet_txt_gz_json(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    (tmp_path / 'a.csv').write_text('instruction,input,output\n"multi\nline",,x\nq2,in,y\n', encoding='utf-8')
    pq.write_table(pa.Table.from_pylist([{'query': 'pq', 'response': 'r', 'system': None}]), tmp_path / 'b.parquet')
    (tmp_path / 'c.txt').write_text('first text\n\nsecond text\n', encoding='utf-8')
    with gzip.open(tmp_path / 'd.jsonl.gz', 'wt', encoding='utf-8') as f:
        f.write(json.dumps({'text': 'gz'}) + '\n')
    (tmp_path / 'e.json').write_text(json.dumps([{'query': 'j', 'response': 'k'}], indent=2), encoding='utf-8')
    (tmp_path / 'notes.md').write_text('ignored', encoding='utf-8')

    result = load_datasets(str(tmp_path), log=False)
    assert result.report.bad_count == 0
    assert result.report.formats == Counter({'alpaca': 2, 'query_response': 2, 'text': 3})
    by_first = {r['messages'][0]['content']: r for r in result.train}
    assert by_first['multi\nline']['messages'][1] == {'role': 'assistant', 'content': 'x'}
    assert by_first['q2\nin']['messages'][1]['content'] == 'y'
    assert by_first['first text']['messages'] == [{'role': 'assistant', 'content': 'first text'}]
    assert result.train.locations[:2] == [f'{tmp_path}/a.csv:2', f'{tmp_path}/a.csv:4']
    assert f'{tmp_path}/c.txt:3' in result.train.locations
    assert f'{tmp_path}/e.json: element 0 (line 2)' in result.train.locations


def test_saved_datasets_dir(tmp_path):
    import datasets
    datasets.Dataset.from_list(qa_rows(5)).save_to_disk(str(tmp_path / 'plain'))
    datasets.DatasetDict({
        'train': datasets.Dataset.from_list(qa_rows(4, 't')),
        'test': datasets.Dataset.from_list(qa_rows(2, 'x'))
    }).save_to_disk(str(tmp_path / 'dict'))
    assert len(load_datasets(str(tmp_path / 'plain'), log=False).train) == 5
    # a directory of files skips the saved dataset inside it (its .json files are metadata, not rows)
    write_jsonl(tmp_path / 'extra.jsonl', qa_rows(2, 'e'))
    assert queries(load_datasets(str(tmp_path), log=False).train) == ['e0', 'e1']
    assert queries(load_datasets(str(tmp_path / 'dict'), log=False).train) == ['t0', 't1', 't2', 't3']
    assert queries(load_datasets(f'{tmp_path / "dict"}:test', log=False).train) == ['x0', 'x1']


def test_columns_option(tmp_path):
    path = write_jsonl(tmp_path / 'gsm.jsonl', [{'question': 'q', 'answer': 'a'}])
    with pytest.raises(SwiftError, match='no usable rows'):
        load_datasets(str(path), log=False)
    result = load_datasets(str(path), columns={'question': 'query', 'answer': 'response'}, log=False)
    assert result.train[0]['messages'][1]['content'] == 'a'


def test_missing_file_and_unknown_name():
    with pytest.raises(SwiftError, match='dataset file not found'):
        load_datasets('./nope/missing.jsonl', log=False)
    with pytest.raises(SwiftError, match="Did you mean: .*swift/self-cognition"):
        load_datasets('self-cogniton', log=False)


# ---------------------------------------------------------------- bad rows


BROKEN = textwrap.dedent('''\
    {"query": "q1", "response": "a1"}
    {"query": "q2", "response": "a2"
    {"query": "q3", "response": "a3"}
    {"query": "q4", "response": ""}
    {"messages": [{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]}
    {"query": "q6", "response": "a6"}
    ''')


def test_three_broken_lines_are_all_reported(tmp_path):
    path = tmp_path / 'broken.jsonl'
    path.write_text(BROKEN, encoding='utf-8')
    result = load_datasets(str(path), report_dir=str(tmp_path / 'out'), log=False)
    assert queries(result.train) == ['q1', 'q3', 'q6']
    report = result.report
    assert report.bad_count == 3
    assert [b.location for b in report.bad_rows] == [f'{path}:2', f'{path}:4', f'{path}:5']
    reasons = [b.reason for b in report.bad_rows]
    assert 'not valid JSON' in reasons[0]
    assert 'empty assistant turn' in reasons[1]
    assert 'must start with a user turn' in reasons[2]
    saved = json.loads((tmp_path / 'out' / 'dataset_report.json').read_text())
    assert saved['bad_count'] == 3 and saved['bad_rows'][0]['location'] == f'{path}:2'
    assert 'broken.jsonl:4: messages[1]: empty assistant turn' in report.summary()


def test_bad_rows_are_printed(tmp_path, caplog):
    path = tmp_path / 'broken.jsonl'
    path.write_text(BROKEN, encoding='utf-8')
    import logging
    logger = logging.getLogger('swift')
    logger.addHandler(caplog.handler)
    try:
        load_datasets(str(path))
    finally:
        logger.removeHandler(caplog.handler)
    assert 'broken.jsonl:2: not valid JSON' in caplog.text
    assert '3 bad row(s) dropped' in caplog.text


def test_strict_stops_at_first_bad_row(tmp_path):
    path = tmp_path / 'broken.jsonl'
    path.write_text(BROKEN, encoding='utf-8')
    with pytest.raises(SwiftError, match=r'broken\.jsonl:2: not valid JSON'):
        load_datasets(str(path), strict=True, log=False)


def test_json_array_bad_element_and_broken_file(tmp_path):
    path = tmp_path / 'arr.json'
    path.write_text(json.dumps([{'text': 'ok'}, 5, {'instruction': 'q', 'output': ''}]), encoding='utf-8')
    report = load_datasets(str(path), log=False).report
    assert [str(b) for b in report.bad_rows] == [
        f'{path}: element 1: expected a JSON object, got int',
        f'{path}: element 2: messages[1]: empty assistant turn',
    ]
    path.write_text('[\n  {"text": "ok"},\n  {"text": oops}\n]', encoding='utf-8')
    with pytest.raises(SwiftError, match=r'arr\.json:3:12: not valid JSON'):
        load_datasets(str(path), log=False)


def test_csv_wrong_field_count(tmp_path):
    path = tmp_path / 'x.csv'
    path.write_text('query,response\nq1,a1\nq2,a2,extra\n', encoding='utf-8')
    report = load_datasets(str(path), log=False).report
    assert [str(b) for b in report.bad_rows] == [f'{path}:3: 3 fields, but the header has 2']


def test_python_rows_are_a_source_like_a_file():
    """Rows from Python are checked, named and split exactly as a file's (the API's train(dataset=[...]))."""
    rows = [{'query': f'q{i}', 'response': 'a'} for i in range(10)] + [{'foo': 1}, 'not a dict']
    result = load_datasets(rows=rows, split_dataset_ratio=0.2, seed=1, log=False)
    assert len(result.train) == 8 and len(result.val) == 2
    assert all(loc.startswith('<python list>: row ') for loc in result.train.locations + result.val.locations)
    assert [str(b) for b in result.report.bad_rows][1] == '<python list>: row 11: a row must be a dict, got str'
    assert '<python list>: row 10' in str(result.report.bad_rows[0])
    with pytest.raises(SwiftError, match='none were'):
        load_datasets('<python list>', log=False)


# ---------------------------------------------------------------- registry, plugins, hub


def test_registry_lookup():
    meta = lookup_dataset('vicgalle/alpaca-gpt4')
    assert meta is lookup_dataset('AI-ModelScope/alpaca-gpt4-data-en') is lookup_dataset('alpaca-gpt4-data-en')
    assert meta.hf_dataset_id == 'vicgalle/alpaca-gpt4'
    assert lookup_dataset('llm-wizard/alpaca-gpt4-data-zh').ms_dataset_id == 'AI-ModelScope/alpaca-gpt4-data-zh'
    assert lookup_dataset('AI-ModelScope/hh-rlhf').subsets[0] == 'harmless-base'
    with pytest.raises(SwiftError, match='already registered'):
        register_dataset(DatasetMeta(ms_dataset_id='AI-ModelScope/alpaca-gpt4-data-en'))


def test_plugin_registers_a_dataset(tmp_path):
    data = write_jsonl(tmp_path / 'raw.jsonl', [{'q': 'What is 2+2?', 'a': '4'}, {'q': 'skip me', 'a': ''}])
    plugin = tmp_path / 'my_plugin.py'
    plugin.write_text(
        textwrap.dedent(f'''
        from swift.dataset import DatasetMeta, register_dataset

        def to_query(row):
            if not row['a']:
                return None  # filtered on purpose
            return {{'query': row['q'], 'response': row['a'], 'solution': row['a']}}

        register_dataset(DatasetMeta(dataset_name='my-math', dataset_path={str(data)!r}, preprocess_func=to_query))
        '''))
    try:
        result = load_datasets('my-math', external_plugins=[str(plugin)], log=False)
        assert result.train.rows == [{
            'messages': [{
                'role': 'user',
                'content': 'What is 2+2?'
            }, {
                'role': 'assistant',
                'content': '4'
            }],
            'solution': '4'
        }]
        assert result.report.sources[0].skipped == 1
    finally:
        DATASET_REGISTRY.pop('my-math', None)


def test_hub_unreachable_is_one_clear_line(monkeypatch):
    # Point both hubs at a closed local port: the check fails at once, whatever the machine's network.
    monkeypatch.setenv('HF_ENDPOINT', 'http://127.0.0.1:9')
    monkeypatch.setenv('MODELSCOPE_DOMAIN', 'http://127.0.0.1:9')
    for var in ('HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'HF_HUB_OFFLINE'):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SwiftError) as info:
        load_datasets('AI-ModelScope/alpaca-gpt4-data-en#10', log=False)
    message = str(info.value)
    assert "'AI-ModelScope/alpaca-gpt4-data-en' from ModelScope" in message and 'local file' in message
    assert '\n' not in message
    with pytest.raises(SwiftError, match="'vicgalle/alpaca-gpt4' from Hugging Face"):
        load_datasets('hf::AI-ModelScope/alpaca-gpt4-data-en', log=False)
    with pytest.raises(SwiftError, match="'someone/unregistered' from Hugging Face"):
        load_datasets('someone/unregistered', use_hf=True, log=False)
    with pytest.raises(SwiftError, match="unknown subset 'nope'"):
        load_datasets('AI-ModelScope/hh-rlhf:nope', log=False)
    # registered on ModelScope only: use_hf falls back to it, an explicit hf:: prefix does not
    with pytest.raises(SwiftError, match="'AI-ModelScope/hh-rlhf' from ModelScope"):
        load_datasets('AI-ModelScope/hh-rlhf:harmless-base', use_hf=True, log=False)
    with pytest.raises(SwiftError, match='not registered on Hugging Face'):
        load_datasets('hf::AI-ModelScope/hh-rlhf', log=False)


def test_hub_library_failure_is_one_line():
    """With HF_HUB_OFFLINE=1 the reachability check is skipped; the library's own error becomes one line."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO
    env = {**os.environ, 'HF_HUB_OFFLINE': '1'}
    done = subprocess.run([sys.executable, '-m', 'swift.cli.main', 'data', 'check', '--dataset', 'hf::org/nothing'],
                          cwd=REPO, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    error = [line for line in done.stderr.splitlines() if line.startswith('swift data: error:')]
    assert len(error) == 1 and "'org/nothing:default/train' from Hugging Face" in error[0]
    assert 'Traceback' not in done.stderr


def test_hostile_rows_are_row_errors_with_their_line_never_a_crash(tmp_path):
    """A lone surrogate, a 10 MB string, nesting past Python's recursion limit, a number Python will not convert:
    each is one bad row with file:line, and the good rows around them load."""
    path = tmp_path / 'hostile.jsonl'
    lines = [json.dumps({'query': 'q1', 'response': 'a1'}),
             json.dumps({'query': 'hi \ud800', 'response': 'a2'}),  # json.dumps writes the escape "\ud800"
             json.dumps({'text': 'word ' * 2_000_000}),
             '{"text": ' + '[' * 100_000 + ']' * 100_000 + '}',
             '{"query": "q5", "response": "a5", "n": ' + '9' * 5000 + '}',
             json.dumps({'query': 'q6', 'response': 'a6'})]
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    result = load_datasets(str(path), report_dir=str(tmp_path / 'out'), log=False)
    assert queries(result.train) == ['q1', 'q6']
    bad = {row.location: row.reason for row in result.report.bad_rows}
    assert list(bad) == [f'{path}:{n}' for n in (2, 3, 4, 5)]
    assert 'lone UTF-16 surrogate (\\ud800) at character 3' in bad[f'{path}:2']
    assert '10,000,000 characters long' in bad[f'{path}:3']
    assert 'recursion limit' in bad[f'{path}:4'] and '4300 digits' in bad[f'{path}:5']
    saved = json.loads((tmp_path / 'out' / 'dataset_report.json').read_text(encoding='utf-8'))
    assert saved['bad_count'] == 4
    with pytest.raises(SwiftError, match=r'hostile\.jsonl:2: .*lone UTF-16 surrogate'):
        load_datasets(str(path), strict=True, log=False)


def test_a_json_array_with_an_unreadable_element_is_one_clear_error(tmp_path):
    path = tmp_path / 'arr.json'
    path.write_text('[{"query": "q", "response": "a"}, {"text": ' + '[' * 100_000 + ']' * 100_000 + '}]')
    with pytest.raises(SwiftError, match=r'arr\.json: element 1 cannot be read \(nested too deeply\)'):
        load_datasets(str(path), log=False)
