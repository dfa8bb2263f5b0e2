"""ms-swift's data flags, real: --dataset_shuffle / --val_dataset_shuffle, --dataset_num_proc (parallel encoding
gives what one process gives), --load_from_cache_file (a changed input is never served from the cache)."""
import json

import pytest

from swift.dataset import cached_encoding, encode_rows, load_datasets
from swift.template import get_template


def _rows(n):
    return [{'messages': [{'role': 'user', 'content': f'question {i}'},
                          {'role': 'assistant', 'content': f'answer {i}'}]} for i in range(n)]


@pytest.fixture()
def data_file(tmp_path):
    path = tmp_path / 'rows.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in _rows(20)))
    return path


def _answers(rows):
    return [r['messages'][-1]['content'] for r in rows]


def test_dataset_shuffle(data_file):
    in_order = load_datasets([str(data_file)], log=False)
    assert _answers(in_order.train) == [f'answer {i}' for i in range(20)]
    shuffled = load_datasets([str(data_file)], shuffle=True, seed=3, log=False)
    assert _answers(shuffled.train) != _answers(in_order.train)
    assert sorted(_answers(shuffled.train)) == sorted(_answers(in_order.train))
    assert _answers(load_datasets([str(data_file)], shuffle=True, seed=3, log=False).train) == _answers(shuffled.train)
    # without shuffling, #N takes the first N rows; with it, a seeded sample
    assert _answers(load_datasets([f'{data_file}#3'], log=False).train) == ['answer 0', 'answer 1', 'answer 2']
    assert _answers(load_datasets([f'{data_file}#3'], shuffle=True, log=False).train) != ['answer 0', 'answer 1',
                                                                                          'answer 2']
    split = load_datasets([str(data_file)], split_dataset_ratio=0.25, val_shuffle=True, log=False)
    assert sorted(_answers(split.val)) == sorted(_answers(load_datasets(
        [str(data_file)], split_dataset_ratio=0.25, log=False).val))


def test_parallel_encoding_equals_one_process(smollm_tokenizer):
    template = get_template('smollm2', tokenizer=smollm_tokenizer)
    rows = _rows(9) + [{'messages': [{'role': 'user', 'content': 'long ' * 80},
                                     {'role': 'assistant', 'content': 'x'}]}]
    one, one_report = encode_rows(rows, template, max_length=64, log=False)
    two, two_report = encode_rows(rows, template, max_length=64, num_proc=3, log=False)
    assert two == one and len(one) == 9
    assert two_report.to_dict() == one_report.to_dict() and two_report.too_long == 1


def test_encoding_cache_hits_only_for_identical_inputs(smollm_tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv('SWIFT_CACHE', str(tmp_path / 'cache'))
    calls = []

    def run(rows, template, settings=None):
        def encode():
            calls.append(1)
            return encode_rows(rows, template, log=False)[0]
        return cached_encoding(rows, template, settings or {'max_length': None}, encode, enabled=True)

    template = get_template('smollm2', tokenizer=smollm_tokenizer)
    first = run(_rows(4), template)
    assert run(_rows(4), template) == first and len(calls) == 1  # read back, not encoded again
    changed = _rows(4)
    changed[2]['messages'][1]['content'] = 'another answer'
    assert run(changed, template) != first and len(calls) == 2  # one changed row: encoded again
    run(_rows(4), get_template('smollm2', tokenizer=smollm_tokenizer, default_system='Be brief.'))
    run(_rows(4), template, {'max_length': 8})
    assert len(calls) == 4  # another system prompt, other settings: encoded again
    assert len(list((tmp_path / 'cache' / 'encoded').glob('*.json'))) == 4
    cached_encoding(_rows(4), template, {'max_length': None}, lambda: calls.append(1) or [], enabled=False)
    assert len(calls) == 5  # off: always encoded


def test_data_seed_decides_the_split_apart_from_seed(data_file):
    from swift.arguments import SftArguments
    from swift.dataset import load_datasets_for
    from swift.utils.args import parse_args

    def val(*flags):
        args = parse_args(SftArguments, ['--model', 'm', '--dataset', str(data_file), '--split_dataset_ratio', '0.25',
                                         *flags])
        return _answers(load_datasets_for(args).val)
    assert val('--seed', '1', '--data_seed', '7') == val('--seed', '2', '--data_seed', '7')  # --seed does not matter
    assert val('--data_seed', '7') != val('--data_seed', '8')
    assert val('--seed', '7') == val('--seed', '1', '--data_seed', '7')  # by default --seed is the data's seed
