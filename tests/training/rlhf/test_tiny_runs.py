"""Every --rlhf_type end to end on the tiny model: checkpoint, args.json, logged metrics, plots, swift infer."""
import io
import json
from pathlib import Path

import pytest
import torch

from swift.training.rlhf import rlhf_main

PAIRS = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'},
                       {'role': 'assistant', 'content': f'Ahoy! {i} plus {i} is {2 * i}.'}],
          'rejected_response': f'{i} plus {i} is {2 * i}.'} for i in range(8)]
PROMPTS = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'}], 'solution': str(2 * i)}
           for i in range(4)]

PAIR_METRICS = ('rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies', 'logps/chosen',
                'logps/rejected')
EXPECTED_METRICS = {
    'dpo': PAIR_METRICS,
    'orpo': PAIR_METRICS + ('nll_loss', 'log_odds_ratio'),
    'simpo': PAIR_METRICS,
    'cpo': PAIR_METRICS + ('nll_loss', ),
    'kto': ('kl', 'rewards/chosen', 'rewards/rejected', 'logps/chosen', 'logps/rejected'),
    'rm': ('rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies'),
    'grpo': ('reward', 'reward_std', 'kl', 'rewards/accuracy/mean', 'rewards/format/mean',
             'rewards/reward_model/mean', 'completions/mean_length', 'completions/clipped_ratio'),
    'ppo': ('reward', 'kl', 'policy_loss', 'value_loss', 'values/mean', 'completions/mean_length'),
}


def run(tiny_model_dir, out, rlhf_type, rows, **extra):
    args = dict(rlhf_type=rlhf_type, model=str(tiny_model_dir), template='smollm2', output_dir=str(out),
                add_version=False, max_steps=2, save_steps=100, logging_steps=1, per_device_train_batch_size=2,
                learning_rate=1e-3, lora_dropout=0.0, report_to=['none'], seed=1)
    if rlhf_type in ('ppo', 'grpo'):
        args.update(max_new_tokens=8)
    if rlhf_type == 'grpo':
        args.update(num_generations=2)
    args.update(extra)
    return rlhf_main(rows=rows, **args)


def _records(output_dir):
    return [json.loads(line) for line in (Path(output_dir) / 'logging.jsonl').read_text().splitlines()]


def _check_run(result, rlhf_type, tiny_model_dir):
    run_dir = Path(result.output_dir)
    checkpoint = Path(result.last_checkpoint)
    assert checkpoint.name == 'checkpoint-2'
    for name in ('adapter_config.json', 'adapter_model.safetensors', 'args.json'):
        assert (checkpoint / name).is_file(), name
    saved = json.loads((checkpoint / 'args.json').read_text())
    assert saved['model'] == str(tiny_model_dir) and saved['template'] == 'smollm2'
    assert saved['rlhf_type'] == rlhf_type
    steps = [r for r in _records(run_dir) if 'loss' in r]
    assert [r['global_step'] for r in steps] == [1, 2]
    for key in EXPECTED_METRICS[rlhf_type]:  # (a KTO step may hold desirable rows only: look at every step)
        assert any(key in r for r in steps), key
        assert (run_dir / 'images' / f'{key.replace("/", "_")}.png').is_file(), key
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in steps)
    return checkpoint


def _infer_loads(checkpoint):
    """`swift infer --adapters checkpoint` answers a piped question with nothing else given."""
    from swift.arguments import InferArguments
    from swift.infer.main import infer_main
    from swift.utils.args import parse_args
    args = parse_args(InferArguments, ['--adapters', str(checkpoint), '--max_new_tokens', '3'])
    out = io.StringIO()
    assert infer_main(args, io.StringIO('What is 1 plus 1?\n'), out).answered == 1
    assert len(out.getvalue().splitlines()) == 1


@pytest.mark.parametrize('rlhf_type', ['dpo', 'orpo', 'simpo', 'cpo', 'kto'])
def test_offline_types_end_to_end(tiny_model_dir, tmp_path, rlhf_type):
    result = run(tiny_model_dir, tmp_path / 'out', rlhf_type, PAIRS)
    checkpoint = _check_run(result, rlhf_type, tiny_model_dir)
    _infer_loads(checkpoint)


def score_with_swift_infer(monkeypatch, argv, stdin: str) -> str:
    """stdout of `swift infer ARGV` (the command line's own entry point) given stdin."""
    from swift.cli.infer import main
    monkeypatch.setattr('sys.stdin', io.StringIO(stdin))
    out = io.StringIO()
    monkeypatch.setattr('sys.stdout', out)
    assert main(argv) == 0
    return out.getvalue()


def test_reward_model_end_to_end(tiny_model_dir, reward_checkpoint, monkeypatch):
    from swift.infer.reward_model import RewardModel
    checkpoint = _check_run_dir(reward_checkpoint, 'rm', tiny_model_dir)
    scorer = RewardModel.load(str(checkpoint))
    scores = scorer.score([PAIRS[0]['messages'], PAIRS[1]['messages']])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
    # The saved head is the trained one, not a fresh random one: scores are reproducible across loads.
    assert RewardModel.load(str(checkpoint)).score([PAIRS[0]['messages']])[0] == pytest.approx(scores[0], abs=1e-5)
    # `swift infer --adapters checkpoint` loads it as the reward model it is: one reward per piped conversation.
    stdin = ''.join(json.dumps(row['messages']) + '\n' for row in PAIRS[:2])
    printed = score_with_swift_infer(monkeypatch, ['--adapters', str(checkpoint)], stdin).splitlines()
    assert [float(line) for line in printed] == pytest.approx(scores, abs=1e-5)


def _check_run_dir(checkpoint, rlhf_type, tiny_model_dir):
    from swift.training.runner import TrainResult
    checkpoint = Path(checkpoint)
    return _check_run(TrainResult(str(checkpoint.parent), str(checkpoint)), rlhf_type, tiny_model_dir)


def test_grpo_end_to_end(tiny_model_dir, tmp_path, reward_checkpoint):
    result = run(tiny_model_dir, tmp_path / 'out', 'grpo', PROMPTS, reward_funcs=['accuracy', 'format'],
                 reward_model=reward_checkpoint)
    checkpoint = _check_run(result, 'grpo', tiny_model_dir)
    _infer_loads(checkpoint)


def test_ppo_end_to_end(tiny_model_dir, tmp_path, reward_checkpoint):
    result = run(tiny_model_dir, tmp_path / 'out', 'ppo', PROMPTS, reward_model=reward_checkpoint)
    checkpoint = _check_run(result, 'ppo', tiny_model_dir)
    assert (checkpoint / 'value_head.safetensors').is_file()
    _infer_loads(checkpoint)


def test_evaluation_logs_the_same_metrics_with_eval_prefix(tiny_model_dir, tmp_path):
    result = run(tiny_model_dir, tmp_path / 'out', 'dpo', PAIRS, split_dataset_ratio=0.25, eval_steps=2)
    evaluations = [r for r in _records(result.output_dir) if 'eval_loss' in r]
    assert evaluations and evaluations[-1]['global_step'] == 2
    for key in ('eval_rewards/accuracies', 'eval_rewards/margins', 'eval_logps/chosen'):
        assert key in evaluations[-1], key
    assert not any(k.startswith('eval_') for r in _records(result.output_dir) if 'loss' in r for k in r)
