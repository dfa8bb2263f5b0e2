"""Alignment proofs on the real embedded SmolLM2-135M-Instruct (LoRA, CPU, short schedules).

Chosen answers open with "Ahoy!", rejected ones do not (trait_data.py). The base model never opens
with it; after DPO, greedy answers to held-out prompts do, and DPO's implicit reward ranks held-out
pairs correctly; SimPO moves the same measure the same way; a reward model ranks held-out pairs, and
PPO runs with it. The rest does not fit the test-time budget (about 3-4 minutes for all real-model
tests on 2 CPU cores): KTO (two extra forward passes per step) and ORPO moving the trait, and GRPO
raising its reward over a run, are run by benchmarks/rlhf_proof.py, whose numbers docs/rlhf.md records.
"""
import pytest

from . import proofs

pytestmark = pytest.mark.slow

# Shorter than the benchmark's schedules: enough for the bars below, with a margin seen in runs.
SHORT = {'dpo': dict(max_steps=5), 'simpo': dict(max_steps=6), 'rm': dict(max_steps=6), 'ppo': dict(max_steps=2)}


@pytest.fixture(scope='module')
def trait_rate_before(smollm_dir):
    return proofs.trait_rate_of(smollm_dir)


def test_dpo_teaches_the_trait(smollm_dir, tmp_path, trait_rate_before):
    report = proofs.preference_proof(smollm_dir, tmp_path / 'dpo', 'dpo', **SHORT['dpo'])
    assert trait_rate_before < 0.1
    assert report['trait_rate_after'] >= 0.8, report
    assert report['reward_accuracy'] >= 0.9, report


def test_simpo_moves_the_trait_the_same_way(smollm_dir, tmp_path, trait_rate_before):
    report = proofs.preference_proof(smollm_dir, tmp_path / 'simpo', 'simpo', **SHORT['simpo'])
    assert report['trait_rate_after'] >= trait_rate_before + 0.3, report


def test_reward_model_ranks_held_out_pairs_and_drives_ppo(smollm_dir, tmp_path):
    report = proofs.reward_model_proof(smollm_dir, tmp_path / 'rm', **SHORT['rm'])
    assert report['heldout_accuracy'] >= 0.9, report
    ppo = proofs.ppo_run(smollm_dir, tmp_path / 'ppo', report['checkpoint'], **SHORT['ppo'])
    assert len(ppo['logged']) == SHORT['ppo']['max_steps']
    assert all({'reward', 'kl', 'value_loss'} <= set(step) for step in ppo['logged'])
