"""ms-swift's names and values: --infer_backend transformers/pt, --attn_impl spellings, --system FILE.txt,
--model_revision, --truncation_strategy split (swift pt) and on infer/deploy."""
import pytest

from swift.arguments import DeployArguments, ExportArguments, InferArguments, PtArguments, RLHFArguments, SftArguments
from swift.dataset import encode_rows
from swift.utils import SwiftError
from swift.utils.args import parse_args
from tests.dataset.test_dataset_encode import CharTemplate

TRAIN = ['--model', 'm', '--dataset', 'd.jsonl']


@pytest.mark.parametrize('backend', ['transformers', 'pt'])
def test_infer_backend_transformers_and_its_old_name(backend):
    assert parse_args(InferArguments, ['--model', 'm', '--infer_backend', backend]).infer_backend == 'transformers'


@pytest.mark.parametrize('given, expected', [('flash_attn', 'flash_attention_2'),
                                             ('flash_attention_2', 'flash_attention_2'), ('sdpa', 'sdpa'),
                                             ('eager', 'eager')])
def test_attn_impl_spellings_become_transformers_names(given, expected):
    assert parse_args(SftArguments, TRAIN + ['--attn_impl', given]).load_kwargs()['attn_implementation'] == expected


def test_model_revision():
    assert parse_args(InferArguments, ['--model', 'm', '--model_revision', 'v1.0']).load_kwargs()['revision'] == 'v1.0'


def test_system_from_a_txt_file_and_escaped_newlines(tmp_path):
    path = tmp_path / 'system.txt'
    path.write_text('You are terse.\nAnswer in one line.', encoding='utf-8')
    from swift.infer.checks import check_infer_args
    args = check_infer_args(parse_args(InferArguments, ['--model', str(tmp_path), '--system', str(path)]))
    assert args.system == 'You are terse.\nAnswer in one line.'
    assert parse_args(InferArguments, ['--model', 'm', '--system', 'a\\nb']).system == 'a\nb'
    with pytest.raises(SwiftError, match='no such file'):
        check_infer_args(parse_args(InferArguments, ['--model', str(tmp_path), '--system', 'missing.txt']))


def test_truncation_strategy_split_is_for_pt_only():
    assert parse_args(PtArguments, TRAIN + ['--truncation_strategy', 'split']).truncation_strategy == 'split'
    for cls in (SftArguments, RLHFArguments):
        with pytest.raises(SwiftError, match='split .* is for swift pt'):
            parse_args(cls, TRAIN + ['--truncation_strategy', 'split'])


def test_split_cuts_long_rows_into_pieces():
    rows = [{'messages': [{'role': 'user', 'content': 'abcdefghij'}]}]  # 10 tokens, every one trained
    encoded, report = encode_rows(rows, CharTemplate(loss_scale='all'), max_length=4, truncation_strategy='split',
                                  log=False)
    assert [e['input_ids'] for e in encoded] == [[97, 98, 99, 100], [101, 102, 103, 104], [105, 106]]
    assert [e['length'] for e in encoded] == [4, 4, 2] and report.split == 1


def test_truncation_strategy_on_infer_and_deploy_and_where_export_encodes():
    assert parse_args(DeployArguments, ['--model', 'm', '--truncation_strategy', 'left']).truncation_strategy == 'left'
    with pytest.raises(SwiftError, match='--truncation_strategy must be one of delete, left, right'):
        parse_args(InferArguments, ['--model', 'm', '--truncation_strategy', 'split'])
    with pytest.raises(SwiftError, match='--truncation_strategy: this export reads no rows'):
        parse_args(ExportArguments, ['--model', 'm', '--to_ollama', 'true', '--truncation_strategy', 'left'])
    assert parse_args(ExportArguments, ['--model', 'm', '--to_cached_dataset', 'true', '--dataset', 'd.jsonl',
                                        '--truncation_strategy', 'split']).truncation_strategy == 'split'
