"""swift export --to_cached_dataset true and swift sft / pt --cached_dataset (ms-swift's flags): the samples are
written in one step with a manifest, training from them skips encoding and gives the first step's loss that
training from the raw rows gives, and samples encoded another way are refused, naming what differs."""
import json

import pytest

from swift.cli.main import main as swift
from swift.dataset.cached import write_cached_dataset
from swift.export import export_main
from swift.utils import SwiftError


def _rows(n):
    return [{'messages': [{'role': 'user', 'content': f'What is {i} times three?'},
                          {'role': 'assistant', 'content': f'{i} times three is {3 * i}.'}]} for i in range(n)]


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp('cached-data') / 'rows.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in _rows(12)))
    return str(path)


@pytest.fixture(scope='module')
def exported(tmp_path_factory, tiny_model_dir, data):
    out = tmp_path_factory.mktemp('cached') / 'tiny-cached'
    result = export_main(model=str(tiny_model_dir), template='smollm2', dataset=[data], split_dataset_ratio=0.25,
                         max_length=64, to_cached_dataset=True, output_dir=str(out))
    assert result.kind == 'cached' and result.output_dir == str(out)
    return out


def _train(tiny_model_dir, tmp_path, **data_flags):
    from swift.training.sft import sft_main
    result = sft_main(model=str(tiny_model_dir), template='smollm2', max_length=64, torch_dtype='float32',
                      max_steps=1, logging_steps=1, per_device_train_batch_size=2, save_steps=1000,
                      report_to=['none'], output_dir=str(tmp_path), **data_flags)
    first = next(h for h in result.log_history if 'loss' in h)
    return first['loss'], result


def test_export_writes_train_and_val_with_a_manifest(exported, tiny_model_dir):
    manifests = {split: json.loads((exported / split / 'manifest.json').read_text()) for split in ('train', 'val')}
    assert manifests['train']['samples'] == 9 and manifests['val']['samples'] == 3
    train = manifests['train']
    assert train['template'] == 'smollm2' and train['model'] == str(tiny_model_dir)
    assert train['settings']['max_length'] == 64 and train['settings']['truncation_strategy'] == 'delete'
    assert train['template_mode'] == 'train' and len(train['tokenizer']) == 64
    samples = [json.loads(line) for line in (exported / 'train' / 'samples.jsonl').read_text().splitlines()]
    assert len(samples) == 9 and all(len(s['input_ids']) == len(s['labels']) <= 64 for s in samples)
    assert not [p for p in exported.parent.iterdir() if p.name.startswith('.')]  # no temporary folder left


def test_training_from_it_equals_training_from_the_rows(exported, tiny_model_dir, data, tmp_path, monkeypatch):
    raw_loss, _ = _train(tiny_model_dir, tmp_path / 'raw', dataset=[data], split_dataset_ratio=0.25)

    def no_encoding(*args, **kwargs):
        raise AssertionError('--cached_dataset encoded rows')
    monkeypatch.setattr('swift.training.sft.encode', no_encoding)
    cached_loss, result = _train(tiny_model_dir, tmp_path / 'cached', cached_dataset=[str(exported / 'train')],
                                 cached_val_dataset=[str(exported / 'val')])
    assert cached_loss == pytest.approx(raw_loss, rel=1e-6)
    saved = json.loads((tmp_path / 'cached' / 'args.json').read_text()) if (tmp_path / 'cached' / 'args.json').exists() \
        else json.loads(next((tmp_path / 'cached').rglob('args.json')).read_text())
    assert saved['cached_dataset'] == [str(exported / 'train')] and not saved['dataset']
    assert result.last_checkpoint


def test_mismatches_are_refused_naming_the_field(exported, tiny_model_dir, tmp_path, capsys):
    base = ['sft', '--model', str(tiny_model_dir), '--template', 'smollm2', '--cached_dataset', str(exported)]
    assert swift(base + ['--max_length', '32', '--check_args']) != 0  # before any model loads
    assert "--max_length 64 there, 32 here" in capsys.readouterr().err
    assert swift(base + ['--max_length', '64', '--check_args']) == 0
    capsys.readouterr()
    with pytest.raises(SwiftError, match=r"system: exported 'You are a helpful AI assistant.*', this run 'Be brief.'"):
        _train(tiny_model_dir, tmp_path / 'system', cached_dataset=[str(exported)], system='Be brief.')
    manifest = exported / 'val' / 'manifest.json'
    original = manifest.read_text()
    try:
        manifest.write_text(original.replace('"tokenizer": "', '"tokenizer": "0'))
        with pytest.raises(SwiftError, match='tokenizes differently'):
            _train(tiny_model_dir, tmp_path / 'tokenizer', cached_dataset=[str(exported)])
    finally:
        manifest.write_text(original)
    assert swift(['rlhf', '--model', str(tiny_model_dir), '--cached_dataset', str(exported), '--check_args']) != 0
    assert ('--template_mode train; swift rlhf --rlhf_type dpo trains on --template_mode rlhf'
            in capsys.readouterr().err)
    assert swift(['rlhf', '--rlhf_type', 'grpo', '--reward_funcs', 'accuracy', '--model', str(tiny_model_dir),
                  '--cached_dataset', str(exported),
                  '--check_args']) != 0
    assert '--cached_dataset is not supported with --rlhf_type grpo' in capsys.readouterr().err


def test_export_flags_are_checked(tiny_model_dir, data, tmp_path, capsys):
    model = ['export', '--model', str(tiny_model_dir)]
    assert swift(model + ['--to_ollama', 'true', '--split_dataset_ratio', '0.1', '--check_args']) != 0
    assert '--split_dataset_ratio: this export reads no rows' in capsys.readouterr().err
    assert swift(model + ['--quant_method', 'bnb', '--quant_bits', '4', '--dataset', data, '--truncation_strategy',
                          'left', '--max_length', '128', '--check_args']) == 0
    assert swift(model + ['--to_cached_dataset', 'true', '--dataset', data, '--template_mode', 'rlhf',
                          '--check_args']) == 0
    assert swift(model + ['--to_cached_dataset', 'true', '--dataset', data, '--template_mode', 'grpo',
                          '--check_args']) != 0


def test_an_interrupted_write_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        write_cached_dataset(tmp_path / 'out', {'train': [{'input_ids': [1]}, {'input_ids': object()}]}, {})
    assert list(tmp_path.iterdir()) == []


# ---- swift rlhf: --template_mode rlhf (pairs) and kto, as ms-swift names them

def _pairs(n):
    return [{**row, 'rejected_response': row['messages'][1]['content'].replace('three is', 'three is not')}
            for row in _rows(n)]


def _rlhf_first_loss(tiny_model_dir, out, rlhf_type, **data_flags):
    from swift.training.rlhf import rlhf_main
    result = rlhf_main(rlhf_type=rlhf_type, model=str(tiny_model_dir), template='smollm2', max_length=64,
                       torch_dtype='float32', max_steps=1, logging_steps=1, per_device_train_batch_size=2,
                       save_steps=1000, report_to=['none'], output_dir=str(out), seed=1, **data_flags)
    return next(h for h in result.log_history if 'loss' in h)['loss']


def _export_pairs(tiny_model_dir, tmp_path, mode):
    path = tmp_path / 'pairs.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in _pairs(6)))
    out = tmp_path / f'cached-{mode}'
    export_main(model=str(tiny_model_dir), template='smollm2', dataset=[str(path)], max_length=64,
                to_cached_dataset=True, template_mode=mode, output_dir=str(out))
    manifest = json.loads((out / 'train' / 'manifest.json').read_text())
    assert manifest['template_mode'] == mode and manifest['settings']['loss_scale'] == 'last_round'
    return path, out


def test_dpo_from_a_cached_dataset_equals_training_from_the_rows(tiny_model_dir, tmp_path, monkeypatch):
    path, out = _export_pairs(tiny_model_dir, tmp_path, 'rlhf')
    raw = _rlhf_first_loss(tiny_model_dir, tmp_path / 'raw', 'dpo', dataset=[str(path)])

    def no_encoding(*args, **kwargs):
        raise AssertionError('--cached_dataset encoded rows')
    monkeypatch.setattr('swift.training.rlhf.workflow.encode_items', no_encoding)
    cached = _rlhf_first_loss(tiny_model_dir, tmp_path / 'from-cache', 'dpo', cached_dataset=[str(out)])
    assert cached == pytest.approx(raw, rel=1e-6)
    with pytest.raises(SwiftError, match='exported with --template_mode rlhf'):  # pairs are not KTO's rows
        _rlhf_first_loss(tiny_model_dir, tmp_path / 'other', 'kto', cached_dataset=[str(out)])


def test_kto_export_holds_the_items_swift_rlhf_encodes(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    from swift.dataset.alignment import encode_alignment_rows
    from swift.template import get_template
    path, out = _export_pairs(tiny_model_dir, tmp_path, 'kto')
    samples = [json.loads(line) for line in (out / 'train' / 'samples.jsonl').read_text().splitlines()]
    template = get_template('smollm2', tokenizer=AutoTokenizer.from_pretrained(str(tiny_model_dir)))
    expected = encode_alignment_rows(_pairs(6), template, 'kto', model=None, max_length=64,
                                     truncation_strategy='delete', loss_scale='last_round')
    key = json.dumps  # (the export's rows are in the loader's shuffled order)
    assert sorted(map(key, samples)) == sorted(map(key, expected)) and sum(s['label'] for s in samples) == 6
    with pytest.raises(SwiftError, match='exported with --template_mode kto'):
        _rlhf_first_loss(tiny_model_dir, tmp_path / 'other', 'dpo', cached_dataset=[str(out)])
