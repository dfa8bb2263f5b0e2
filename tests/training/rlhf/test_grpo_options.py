"""GRPO's ms-swift options on the tiny model, each checked by what it must change: --num_iterations reuses one
rollout for several updates (and the ratio moves off 1), --overlong_filter masks truncated completions out of the
loss, --dynamic_sample replaces equal-reward groups with new prompts, --log_completions writes completions.jsonl."""
import json
from pathlib import Path

import pytest

from swift.training.rlhf import rlhf_main
from swift.training.rlhf.grpo import GRPOTrainer, RepeatBatchSampler
from swift.training.rlhf.rewards import register_reward_function

PROMPTS = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'}], 'solution': str(2 * i)}
           for i in range(4)]


def _run(tiny_model_dir, out, **extra):
    args = dict(rlhf_type='grpo', model=str(tiny_model_dir), template='smollm2', output_dir=str(out),
                add_version=False, max_steps=2, save_steps=100, logging_steps=1, per_device_train_batch_size=2,
                learning_rate=1e-2, lora_dropout=0.0, report_to=['none'], seed=1, max_new_tokens=4,
                num_generations=2, reward_funcs=['length'], warmup_ratio=0.0)
    args.update(extra)
    return rlhf_main(rows=PROMPTS, **args)


def _steps(result):
    lines = (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()
    return [r for r in map(json.loads, lines) if 'loss' in r]


def test_repeat_sampler_hands_each_steps_prompts_in_num_iterations_times():
    order = list(RepeatBatchSampler(6, chunk=2, repeats=3, seed=0))
    assert len(order) == 18 and sorted(order) == sorted(list(range(6)) * 3)
    chunks = [order[i:i + 2] for i in range(0, 18, 2)]
    assert chunks[0] == chunks[1] == chunks[2] and chunks[3] == chunks[4] == chunks[5] != chunks[0]
    # 5 prompts in steps of 2: the last step's pair is completed from the start, never split across repeats
    order = list(RepeatBatchSampler(5, chunk=2, repeats=2, seed=1))
    assert len(order) == len(RepeatBatchSampler(5, chunk=2, repeats=2, seed=1)) == 12 and set(order) == set(range(5))
    pairs = [order[i:i + 2] for i in range(0, 12, 2)]
    assert pairs[0] == pairs[1] and pairs[2] == pairs[3] and pairs[4] == pairs[5] and len(set(pairs[4])) == 2


def test_num_iterations_reuses_the_rollout_and_logs_completions(tiny_model_dir, tmp_path, monkeypatch):
    calls = []
    generate = GRPOTrainer.generate
    monkeypatch.setattr(GRPOTrainer, 'generate', lambda self, rows, n: calls.append(len(rows)) or
                        generate(self, rows, n))
    result = _run(tiny_model_dir, tmp_path / 'out', num_iterations=2, log_completions=True, max_steps=2)
    assert calls == [2]  # step 1 generates; step 2 learns again from the same completions
    steps = _steps(result)
    assert len(steps) == 2 and all('clip_ratio' in r for r in steps)
    assert steps[0]['clip_ratio'] == 0.0  # the first update of a rollout is on-policy (ratio 1)
    completions = [json.loads(line) for line in (Path(result.output_dir) / 'completions.jsonl').read_text()
                   .splitlines()]
    assert [c['step'] for c in completions] == [1, 1, 1, 1]
    first = completions[0]
    assert first['prompt'][-1]['role'] == 'user' and isinstance(first['completion'], str)
    assert set(first['rewards']) == {'length'} and 'advantage' in first and 'reward' in first


def test_overlong_filter_masks_truncated_completions(tiny_model_dir, tmp_path, monkeypatch):
    masks = []
    make_rollout = GRPOTrainer.make_rollout

    def recording(self, inputs):
        rollout = make_rollout(self, inputs)
        labelled = (rollout['batch']['labels'][:, 1:] != -100).sum(-1).tolist()
        masks.append((labelled, rollout['mask'].sum(-1).tolist()))
        return rollout

    monkeypatch.setattr(GRPOTrainer, 'make_rollout', recording)
    # A random tiny model never stops within 4 tokens: every completion is cut, so every mask row is empty.
    result = _run(tiny_model_dir, tmp_path / 'out', overlong_filter=True, max_steps=1)
    assert masks == [([4, 4, 4, 4], [0, 0, 0, 0])]
    assert _steps(result)[0]['completions/overlong_filtered'] == 1.0


def test_dynamic_sample_replaces_groups_without_signal(tiny_model_dir, tmp_path, monkeypatch):
    """A reward that is constant for prompts 0 and 1 and varies for 2 and 3: a step's batch ends up made of
    prompts with a signal, drawn anew when the first draw had none."""
    def reward(completions, solution, **kwargs):
        return [0.0 if s in ('0', '2') else float(len(c) % 3) + 0.1 * i for i, (c, s) in
                enumerate(zip(completions, solution))]

    register_reward_function('half_flat', reward)
    kept = []
    make_rollout = GRPOTrainer.make_rollout

    def recording(self, inputs):
        rollout = make_rollout(self, inputs)
        kept.append(rollout['advantages'].view(-1, 2).abs().sum(1).gt(0).tolist())
        return rollout

    monkeypatch.setattr(GRPOTrainer, 'make_rollout', recording)
    result = _run(tiny_model_dir, tmp_path / 'out', reward_funcs=['half_flat'], dynamic_sample=True,
                  max_resample_times=5, max_steps=2)
    assert kept == [[True, True], [True, True]]
    steps = _steps(result)
    # (the first draws held flat groups: without --dynamic_sample they would have stayed in the batch)
    assert any(r['dynamic_sample/zero_std_groups'] > 0 for r in steps)
    assert any(r['dynamic_sample/resample_rounds'] > 0 for r in steps)


def test_grpo_option_values_are_checked():
    from swift.arguments import RLHFArguments
    from swift.utils import SwiftError
    from swift.utils.args import parse_args
    base = ['--rlhf_type', 'grpo', '--model', 'm', '--dataset', 'd', '--reward_funcs', 'accuracy']
    with pytest.raises(SwiftError, match='--num_iterations must be >= 1'):
        parse_args(RLHFArguments, base + ['--num_iterations', '0'])
    args = parse_args(RLHFArguments, base + ['--dynamic_sample', 'true', '--max_resample_times', '2'])
    assert args.dynamic_sample and args.max_resample_times == 2 and args.num_iterations == 1
