"""The on-disk run format (swift/utils/checkpoint.py): run directories, args.json, checkpoint-N, and what a
checkpoint directory holds — the one module every stage reads it through."""
import json
import re

import pytest

from swift.utils import SwiftError
from swift.utils.checkpoint import (ADAPTER, FULL, REWARD_MODEL, UNKNOWN, adapter_paths, check_resumable,
                                    checkpoint_kind, checkpoint_step, fill_from_checkpoint, last_checkpoint,
                                    list_checkpoints, parse_adapter_spec, read_run_args, resolve_output_dir,
                                    write_run_args)


def test_checkpoint_steps_are_read_from_names_only(tmp_path):
    assert checkpoint_step('out/v0/checkpoint-40') == 40 and checkpoint_step(tmp_path / 'checkpoint-7') == 7
    for not_a_checkpoint in ('out/v0', 'checkpoint-', 'checkpoint-4x', '.checkpoint-staging', None, ''):
        assert checkpoint_step(not_a_checkpoint) is None
    for name in ('checkpoint-10', 'checkpoint-9', 'checkpoint-100', '.checkpoint-staging', 'runs', 'checkpoint-x'):
        (tmp_path / name).mkdir()
    (tmp_path / 'checkpoint-5').write_text('a file, not a checkpoint')
    assert [p.name for p in list_checkpoints(tmp_path)] == ['checkpoint-9', 'checkpoint-10', 'checkpoint-100']
    assert last_checkpoint(tmp_path).name == 'checkpoint-100' and last_checkpoint(tmp_path / 'none') is None


def test_run_directories_are_versioned_and_resuming_continues_the_same_run(tmp_path):
    first = resolve_output_dir(str(tmp_path / 'out'), 'Qwen/Qwen2.5-7B-Instruct', True, None)
    second = resolve_output_dir(str(tmp_path / 'out'), 'Qwen/Qwen2.5-7B-Instruct', True, None)
    assert re.fullmatch(r'v0-\d{8}-\d{6}', first.name) and second.name.startswith('v1-') and second.is_dir()
    assert resolve_output_dir(str(tmp_path / 'fixed'), 'm', False, None) == (tmp_path / 'fixed').resolve()
    (first / 'checkpoint-3').mkdir()
    assert resolve_output_dir('ignored', 'm', True, str(first / 'checkpoint-3')) == first
    with pytest.raises(SwiftError, match='is not a checkpoint-N folder .*its last checkpoint is .*checkpoint-3'):
        check_resumable(first)
    with pytest.raises(SwiftError, match='is not a directory'):
        check_resumable(tmp_path / 'gone')


def test_args_json_is_found_in_the_checkpoint_or_its_run(tmp_path):
    run = tmp_path / 'v0'
    (run / 'checkpoint-2').mkdir(parents=True)
    assert read_run_args(run / 'checkpoint-2') == {}
    write_run_args(run, {'model': 'base', 'template': 'chatml'})
    assert read_run_args(run / 'checkpoint-2') == {'model': 'base', 'template': 'chatml'}
    write_run_args(run / 'checkpoint-2', {'model': 'own'})
    assert read_run_args(run / 'checkpoint-2')['model'] == 'own'  # its own first
    (run / 'args.json').write_text('[1, 2]')
    with pytest.raises(SwiftError, match='args.json: expected a JSON object'):
        read_run_args(run)


def test_what_a_checkpoint_holds(tmp_path):
    def directory(name, files):
        path = tmp_path / name
        path.mkdir()
        for file_name, content in files.items():
            (path / file_name).write_text(json.dumps(content))
        return path

    assert checkpoint_kind(directory('lora', {'adapter_config.json': {}})) == ADAPTER
    assert checkpoint_kind(directory('full', {'config.json': {'architectures': ['LlamaForCausalLM']}})) == FULL
    assert checkpoint_kind(directory('rm-lora', {'adapter_config.json': {}, 'args.json': {'rlhf_type': 'rm'}})) \
        == REWARD_MODEL
    assert checkpoint_kind(directory('rm-full', {'config.json': {'architectures': ['LlamaForSequenceClassification'],
                                                                 'id2label': {'0': 'LABEL_0'}}})) == REWARD_MODEL
    assert checkpoint_kind(directory('classifier', {'config.json': {
        'architectures': ['LlamaForSequenceClassification'], 'id2label': {'0': 'no', '1': 'yes'}}})) == FULL
    assert checkpoint_kind(directory('empty', {})) == UNKNOWN and checkpoint_kind(tmp_path / 'missing') == UNKNOWN


def test_adapters_named_on_the_command_line_fill_in_their_base(tmp_path):
    checkpoint = tmp_path / 'v0' / 'checkpoint-1'
    checkpoint.mkdir(parents=True)
    write_run_args(checkpoint.parent, {'model': 'base', 'template': 'chatml', 'system': 'Hi.'})
    assert parse_adapter_spec(f'mine={checkpoint}', 0) == ('mine', str(checkpoint))
    assert parse_adapter_spec(str(checkpoint), 1) == ('adapter_1', str(checkpoint))
    assert adapter_paths([f'a={checkpoint}', 'b']) == [str(checkpoint), 'b']

    class Args:
        adapters = ['no-args-here', str(checkpoint)]
        model, template, system = None, 'mine', None

    args = Args()
    assert fill_from_checkpoint(args) == checkpoint.parent / 'args.json'
    assert (args.model, args.template, args.system) == ('base', 'mine', 'Hi.')  # set flags are kept
