"""The refusal table: ms-swift flags and environment variables swift does not support are refused with their
reason, never guessed at ("did you mean: seed?") and never ignored."""
import subprocess
from pathlib import Path
import sys

import pytest

from swift.arguments import COMMAND_ARGUMENTS, RLHF_ARGUMENT_CLASSES, InferArguments, SftArguments
from swift.arguments.ui import AppArguments, MenuArguments, WebUIArguments
from swift.arguments.unsupported import UNSUPPORTED_ENV, UNSUPPORTED_FLAGS, unsupported_env_messages
from swift.utils import SwiftError
from swift.utils.args import aliases, argument_fields, parse_args, same_meaning_names

BASE = ['--model', 'm', '--dataset', 'd.jsonl']


def _every_option():
    names = set()
    pages = [WebUIArguments, AppArguments, MenuArguments]  # swift web-ui / app / menu
    for cls in [*COMMAND_ARGUMENTS.values(), *RLHF_ARGUMENT_CLASSES.values(), *pages]:
        names |= set(argument_fields(cls)) | set(aliases(cls))
    return names


def test_no_refused_flag_is_also_an_option():
    # when a feature lands its names must leave the table, or the table would refuse nothing (and lie)
    assert not set(UNSUPPORTED_FLAGS) & _every_option()


def test_sequence_parallelism_outside_ddp_is_refused_with_its_reason():
    assert parse_args(SftArguments, BASE + ['--sequence_parallel_size', '2']).sequence_parallel_size == 2
    with pytest.raises(SwiftError) as error:
        parse_args(SftArguments, BASE + ['--deepspeed', 'zero2', '--sequence_parallel_size', '2'])
    assert str(error.value) == ('--sequence_parallel_size runs under DDP only for now (with --deepspeed / --fsdp it '
                                'is untested): drop one of them (docs/distributed.md)')


def test_every_unknown_flag_at_once_each_with_its_own_answer():
    with pytest.raises(SwiftError) as error:
        parse_args(SftArguments, BASE + ['--use_ray', 'true', '--lora_rnak', '4', '--vllm_max_num_seqs', '8',
                                         '--frobnicate', '1', '--max_len', '10', '--lora_rank', 'x'])
    lines = str(error.value).splitlines()
    assert lines[0] == '--use_ray is not supported yet (distributed training: see docs/distributed.md)'
    assert lines[1] == 'unknown argument --lora_rnak. Did you mean: lora_rank?'
    assert lines[2].startswith('--vllm_max_num_seqs is not supported yet (vLLM options as flags')
    assert '--engine_kwargs' in lines[2]
    assert lines[3] == 'unknown argument --frobnicate.'
    assert lines[4] == 'unknown argument --max_len. Did you mean: max_length?'
    assert lines[5] == "--lora_rank: expected a whole number, got 'x'"


@pytest.mark.parametrize('key, expected', [
    ('seed', []), ('deepspeed', []), ('learning_rat', ['learning_rate']), ('lr', []),
    ('eval_stategy', ['eval_strategy']), ('max_len', ['max_length']), ('num_train_epoch', ['num_train_epochs']),
])
def test_did_you_mean_only_names_that_mean_the_same(key, expected):
    candidates = ['seed', 'data_seed', 'learning_rate', 'eval_strategy', 'eval_steps', 'max_length',
                  'num_train_epochs', 'lora_rank']
    if key == 'seed':
        candidates.remove('seed')
    assert same_meaning_names(key, candidates) == expected


def test_environment_variables_refused_when_set():
    assert unsupported_env_messages('sft', {}) == []
    assert unsupported_env_messages('sft', {'MAX_NUM': ''}) == []  # set but empty: as unset
    [message] = unsupported_env_messages('sft', {'MAX_NUM': '12'})
    assert message == ('the environment variable MAX_NUM is not supported yet (multimodal models: see '
                       'docs/multimodal.md)')
    # the media size controls are the template's (media_options.py: used, or refused by the model's processor)
    assert unsupported_env_messages('sft', {'MAX_PIXELS': '1003520', 'FPS_MAX_FRAMES': '12'}) == []
    # NPROC_PER_NODE launches training and data-parallel swift infer; with swift deploy it would be ignored
    assert unsupported_env_messages('sft', {'NPROC_PER_NODE': '2'}) == []
    assert unsupported_env_messages('infer', {'NPROC_PER_NODE': '2'}) == []
    [message] = unsupported_env_messages('deploy', {'NPROC_PER_NODE': '2'})
    assert 'NPROC_PER_NODE with swift deploy is not supported yet' in message
    assert {'VIDEO_MAX_TOKEN_NUM', 'IMAGE_MIN_TOKEN_NUM', 'MAX_NUM'} <= set(UNSUPPORTED_ENV)


def test_cli_refuses_an_environment_variable(tmp_path):
    env = {'PATH': '/usr/bin:/bin', 'PYTHONPATH': str(__import__('pathlib').Path(__file__).parents[2]),
           'VIDEO_MAX_TOKEN_NUM': '12', 'HOME': str(tmp_path)}
    done = subprocess.run([sys.executable, '-m', 'swift.cli.main', 'infer', '--model', 'm', '--check_args'],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert 'the environment variable VIDEO_MAX_TOKEN_NUM is not supported yet (multimodal models' in done.stderr


def test_use_hf_environment_variable_is_honoured(monkeypatch):
    monkeypatch.setenv('USE_HF', '1')
    assert parse_args(InferArguments, ['--model', 'm']).use_hf is True
    monkeypatch.delenv('USE_HF')
    assert parse_args(InferArguments, ['--model', 'm']).use_hf is False


# ms-swift variables swift uses as ms-swift does (or that the libraries underneath read themselves)
USED_ENV = {'MAX_PIXELS', 'MIN_PIXELS', 'IMAGE_MAX_TOKEN_NUM', 'VIDEO_MAX_PIXELS', 'FPS', 'FPS_MAX_FRAMES',
            'VIDEO_MIN_PIXELS', 'VIDEO_TOTAL_PIXELS', 'FPS_MIN_FRAMES', 'MAX_SLICE_NUMS',
            'SAMPLING_RATE', 'USE_HF', 'NPROC_PER_NODE', 'NNODES', 'NODE_RANK', 'MASTER_ADDR', 'MASTER_PORT', 'CUDA_VISIBLE_DEVICES',
            'ASCEND_RT_VISIBLE_DEVICES', 'PYTORCH_CUDA_ALLOC_CONF', 'MODELSCOPE_CACHE', 'VLLM_USE_V1'}


def _ms_swift_names():
    lines = (Path(__file__).parent / 'ms_swift_names.txt').read_text().splitlines()
    names = [line for line in lines if line and not line.startswith('#')]
    return [n[2:] for n in names if n.startswith('--')], [n for n in names if not n.startswith('--')]


def test_every_ms_swift_flag_is_taken_or_refused():
    flags, _ = _ms_swift_names()
    assert len(flags) > 400
    neither = [f for f in flags if f not in _every_option() and f not in UNSUPPORTED_FLAGS]
    assert neither == [], 'add these to swift/arguments/unsupported.py (or implement them)'


def test_every_ms_swift_variable_is_used_or_refused():
    _, variables = _ms_swift_names()
    assert [v for v in variables if v not in USED_ENV and v not in UNSUPPORTED_ENV] == []
