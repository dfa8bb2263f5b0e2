"""`swift <command> ... --check_args`: the whole command line (and config file) validated as the run would, the
resolved arguments printed, exit 0 or the error, and nothing loaded (no model, no dataset, no torch)."""
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

NO_TORCH = ('import sys; from swift.cli.main import main; code = main(sys.argv[1:]); '
            'heavy = [m for m in ("torch", "transformers", "datasets") if m in sys.modules]; '
            'print("HEAVY", heavy, file=sys.stderr); sys.exit(code)')


def swift(*argv, cwd=REPO):
    """Runs `swift argv` in a fresh interpreter; (exit code, stdout, stderr, modules it imported that it shouldn't)."""
    done = subprocess.run([sys.executable, '-c', NO_TORCH, *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    heavy_line = [line for line in done.stderr.splitlines() if line.startswith('HEAVY ')][-1]
    stderr = '\n'.join(line for line in done.stderr.splitlines() if not line.startswith('HEAVY '))
    return done.returncode, done.stdout, stderr, heavy_line[len('HEAVY '):]


def test_a_valid_training_config_is_printed_resolved_without_loading_anything(tmp_path):
    config = tmp_path / 'grpo.yaml'
    config.write_text('rlhf_type: grpo\nmodel: some-org/not-downloaded\ndataset: [prompts.jsonl]\n'
                      'reward_funcs: [accuracy, format]\nmax_completion_length: 64\n')
    code, out, err, heavy = swift('rlhf', str(config), '--num_generations', '4', '--learning_rate', '1e-6',
                                  '--check_args')
    assert code == 0, err
    assert heavy == '[]'
    resolved = json.loads(out)
    assert resolved['command'] == 'swift rlhf' and resolved['arguments'] == 'GRPOArguments'
    assert resolved['num_generations'] == 4 and resolved['learning_rate'] == 1e-6
    assert resolved['max_new_tokens'] == 64 and resolved['beta'] == 0.04 and resolved['temperature'] == 0.9
    assert 'the arguments are valid' in err and '--max_completion_length is renamed: use --max_new_tokens' in err
    assert not (tmp_path / 'output').exists() and not (REPO / 'output' / 'not-downloaded').exists()


@pytest.mark.parametrize('argv, message', [
    (['sft', '--model', 'm', '--dataset', 'd.jsonl', '--tuner_type', 'lorra'], "unknown --tuner_type 'lorra'"),
    (['sft', '--model', 'm', '--dataset', 'd.jsonl', '--template', 'chatmll'], "--template 'chatmll' is not"),
    (['sft', '--model', 'm', '--dataset', 'd.jsonl', '--eval_benchmarks', 'gsm8kk'], "unknown benchmark 'gsm8kk'"),
    (['sft', '--model', 'm', '--dataset', 'd.jsonl', '--resume_from_checkpoint', 'nowhere'], 'is not a directory'),
    (['rlhf', '--model', 'm', '--dataset', 'd', '--rlhf_type', 'grpo', '--reward_funcs', 'accurcy'],
     'Did you mean: accuracy'),
    (['rlhf', '--model', 'm', '--dataset', 'd', '--vf_coef', '0.1'], '--vf_coef is a PPO option; this run is dpo'),
    (['infer', '--model', 'm', '--infer_backend', 'vllmm'], 'Did you mean: vllm'),
    (['infer', '--adapters', 'no-such-checkpoint'], '--model is required'),
    (['eval', '--model', 'm', '--eval_dataset', 'mmluu'], "unknown benchmark 'mmluu'"),
    (['export', '--model', 'm', '--adapters', 'a', '--merge_lora', '--temperature', '0'],
     '--temperature is an option of swift infer, deploy, sample, rollout, not of swift export'),
    (['deploy', '--model', 'm', '--port', '70000'], '--port must be in [0, 65535]'),
    (['deploy', '--model', 'm', '--shutdown_timeout', '-1'], '--shutdown_timeout must be >= 0, got -1.0'),
    (['deploy', '--model', 'm', '--max_embedding_inputs', '0'], '--max_embedding_inputs must be >= 1, got 0'),
    (['deploy', '--model', 'm', '--max_request_bytes', '-5'], '--max_request_bytes must be >= 0 (0: no limit)'),
    (['deploy', '--model', 'm', '--body_timeout', 'nan'], '--body_timeout: expected a finite number'),
])
def test_what_the_run_would_refuse_is_refused_in_a_second(argv, message):
    code, out, err, heavy = swift(*argv, '--check_args')
    assert code == 1 and out == ''
    assert message in err and 'Traceback' not in err
    assert heavy == '[]'


def test_a_checkpoint_fills_in_what_infer_would_use(tmp_path):
    checkpoint = tmp_path / 'v0-run' / 'checkpoint-5'
    checkpoint.mkdir(parents=True)
    (checkpoint / 'adapter_config.json').write_text('{}')
    (checkpoint.parent / 'args.json').write_text(json.dumps({'model': 'base-model', 'template': 'chatml',
                                                             'system': 'You are Nova.'}))
    code, out, err, heavy = swift('infer', '--adapters', str(checkpoint), '--check_args')
    assert code == 0, err
    resolved = json.loads(out)
    assert (resolved['model'], resolved['template'], resolved['system']) == ('base-model', 'chatml', 'You are Nova.')
    assert heavy == '[]'


@pytest.mark.parametrize('yaml_text, message', [
    ('model: m\nsystem: "hi \\ud800"\n', '--system holds a lone UTF-16 surrogate (\\ud800) at character 3'),
    ('model: m\nengine_kwargs: &x {a: *x}\n', '--engine_kwargs: nested more than 32 levels deep, or contains itself'),
    ('model: m\nmax_new_tokens: 1.0e+400\n', '--max_new_tokens: expected a finite number'),
    ('model: m\n1: x\n', 'key 1 is not an argument name'),
])
def test_a_crafted_config_is_one_line_never_a_traceback(tmp_path, yaml_text, message):
    config = tmp_path / 'crafted.yaml'
    config.write_text(yaml_text)
    code, out, err, heavy = swift('infer', str(config), '--check_args')
    assert code == 1 and out == '' and 'Traceback' not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith('swift infer: error: ') and message in last


def test_one_number_for_a_list_flag_is_a_list_of_one(tmp_path):
    config = tmp_path / 'grpo.yaml'
    config.write_text('rlhf_type: grpo\nmodel: m\ndataset: d.jsonl\nreward_funcs: accuracy\nreward_weights: 1.0\n')
    code, out, err, _ = swift('rlhf', str(config), '--check_args')
    assert code == 0, err
    resolved = json.loads(out)
    assert resolved['reward_weights'] == [1.0] and resolved['reward_funcs'] == ['accuracy']
