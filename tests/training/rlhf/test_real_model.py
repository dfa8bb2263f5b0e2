"""Alignment proofs on the real embedded SmolLM2-135M-Instruct (LoRA, CPU, short schedules).

Chosen answers open with "Ahoy!", rejected ones do not (trait_data.py). The base model never opens
with it; after DPO, greedy answers to held-out prompts do, and DPO's implicit reward ranks held-out
pairs correctly; KTO, SimPO and ORPO move the same measure the same way; GRPO raises its rule reward
(format + accuracy on additions) over a run; a reward model ranks held-out pairs, and PPO runs with
it. benchmarks/rlhf_proof.py runs the same proofs with longer schedules (the numbers in docs/rlhf.md).
"""
from pathlib import Path

import pytest

from . import proofs

pytestmark = pytest.mark.slow

# Shorter than the benchmark's schedules: enough for the bars below, with a margin seen in runs.
# KTO at the benchmark's cosine 2e-3 needs its 8 steps; at a constant 5e-3 the trait appears after 4
# (seeds 1 and 2; 3 steps: not yet). GRPO with 6 completions per prompt: the mean reward of the last
# 2 of 4 steps beat the first 2 by 0.46, 0.33, 0.38 and 0.42 (seeds 1-4). ORPO: 0.85 after 5 steps (seeds 1, 2).
SHORT = {'dpo': dict(max_steps=8), 'simpo': dict(max_steps=6), 'rm': dict(max_steps=6), 'ppo': dict(max_steps=2),
         'kto': dict(max_steps=5, learning_rate=5e-3, lr_scheduler_type='constant'), 'orpo': dict(max_steps=5),
         'grpo': dict(max_steps=4, learning_rate=3e-4, num_generations=6)}


@pytest.fixture(scope='module')
def trait_rate_before(smollm_dir):
    return proofs.trait_rate_of(smollm_dir)


def test_dpo_teaches_the_trait(smollm_dir, tmp_path, trait_rate_before):
    report = proofs.preference_proof(smollm_dir, tmp_path / 'dpo', 'dpo', **SHORT['dpo'])
    assert trait_rate_before < 0.1
    assert report['trait_rate_after'] >= 0.8, report
    assert report['reward_accuracy'] >= 0.9, report


@pytest.mark.parametrize('rlhf_type', ['kto', 'simpo', 'orpo'])
def test_other_methods_move_the_trait_the_same_way(smollm_dir, tmp_path, trait_rate_before, rlhf_type):
    report = proofs.preference_proof(smollm_dir, tmp_path / rlhf_type, rlhf_type, **SHORT[rlhf_type])
    assert report['trait_rate_after'] >= trait_rate_before + 0.3, report


def test_grpo_raises_the_mean_reward_over_the_run(smollm_dir, tmp_path):
    report = proofs.grpo_proof(smollm_dir, tmp_path / 'grpo', **SHORT['grpo'])
    rewards = report['rewards']
    assert len(rewards) == SHORT['grpo']['max_steps'], report
    assert sum(rewards[-2:]) / 2 > sum(rewards[:2]) / 2, report  # the last two logged steps beat the first two
    assert Path(report['plot']).is_file()


def test_reward_model_ranks_held_out_pairs_and_drives_ppo(smollm_dir, tmp_path):
    report = proofs.reward_model_proof(smollm_dir, tmp_path / 'rm', **SHORT['rm'])
    assert report['heldout_accuracy'] >= 0.9, report
    ppo = proofs.ppo_run(smollm_dir, tmp_path / 'ppo', report['checkpoint'], **SHORT['ppo'])
    assert len(ppo['logged']) == SHORT['ppo']['max_steps']
    assert all({'reward', 'kl', 'value_loss'} <= set(step) for step in ppo['logged'])
