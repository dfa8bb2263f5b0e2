"""The real-model proofs of `swift rlhf` on the embedded SmolLM2-135M-Instruct, as functions.

tests/training/rlhf/test_real_model.py runs them all with shorter schedules;
benchmarks/rlhf_proof.py runs them with these and prints the numbers recorded in docs/rlhf.md.
Every run uses LoRA, no system prompt (shorter sequences) and the data of trait_data.py.
"""
import json
import time
from pathlib import Path
from typing import Any, Dict, List

from swift.training.rlhf import rlhf_main

from . import measure
from .trait_data import arithmetic_rows, pair_rows, prompts

COMMON = dict(template='smollm2', system='', add_version=False, report_to=['none'], logging_steps=1, save_steps=1000,
              lora_dropout=0.0, warmup_ratio=0.0, seed=1, torch_dtype='float32', max_length=64)

# Short schedules, found sufficient for the bars of the proofs (see docs/rlhf.md for the measured margins).
SCHEDULES = {
    'dpo': dict(max_steps=8, per_device_train_batch_size=4, learning_rate=1e-3, beta=0.1),
    'kto': dict(max_steps=8, per_device_train_batch_size=8, learning_rate=2e-3, beta=0.1),
    'simpo': dict(max_steps=8, per_device_train_batch_size=4, learning_rate=1e-3),
    'orpo': dict(max_steps=8, per_device_train_batch_size=4, learning_rate=1e-3, beta=0.1),
    'rm': dict(max_steps=10, per_device_train_batch_size=4, learning_rate=1e-3),
    'ppo': dict(max_steps=3, per_device_train_batch_size=2, learning_rate=1e-4, max_new_tokens=12,
                temperature=0.8),
    'grpo': dict(max_steps=24, per_device_train_batch_size=2, num_generations=8, learning_rate=1e-4,
                 max_new_tokens=12, temperature=1.0, beta=0.0, reward_funcs=['format', 'accuracy']),
}


def train(model_dir, out_dir, rlhf_type: str, rows: List[Dict], **extra):
    started = time.time()
    options = {**COMMON, **SCHEDULES[rlhf_type], **extra}
    result = rlhf_main(rows=rows, rlhf_type=rlhf_type, model=str(model_dir), output_dir=str(out_dir), **options)
    return result, time.time() - started


def trait_rate_of(model_dir, checkpoint=None) -> float:
    model, tokenizer = measure.load_policy(str(model_dir), checkpoint)
    return measure.trait_rate(model, tokenizer, prompts(held_out=True))


def preference_proof(model_dir, out_dir, rlhf_type: str, **extra) -> Dict[str, Any]:
    """Train on the trait pairs; the trait rate of greedy answers to held-out prompts after training.

    DPO also reports the reward accuracy on held-out pairs (its implicit reward, policy vs reference).
    """
    result, seconds = train(model_dir, out_dir, rlhf_type, pair_rows(), **extra)
    model, tokenizer = measure.load_policy(str(model_dir), result.last_checkpoint)
    report = {'rlhf_type': rlhf_type, 'train_seconds': round(seconds, 1),
              'trait_rate_after': measure.trait_rate(model, tokenizer, prompts(held_out=True)),
              'checkpoint': result.last_checkpoint}
    if rlhf_type == 'dpo':
        report['reward_accuracy'] = measure.implicit_reward_accuracy(model, tokenizer, pair_rows(held_out=True))
    return report


def reward_model_proof(model_dir, out_dir, **extra) -> Dict[str, Any]:
    from swift.infer.reward_model import RewardModel
    result, seconds = train(model_dir, out_dir, 'rm', pair_rows(), **extra)
    scorer = RewardModel.load(result.last_checkpoint)
    return {'rlhf_type': 'rm', 'train_seconds': round(seconds, 1), 'checkpoint': result.last_checkpoint,
            'heldout_accuracy': measure.reward_model_accuracy(scorer, pair_rows(held_out=True))}


def ppo_run(model_dir, out_dir, reward_checkpoint, **extra) -> Dict[str, Any]:
    rows = [{'messages': p} for p in prompts(held_out=False)]
    result, seconds = train(model_dir, out_dir, 'ppo', rows, reward_model=reward_checkpoint, **extra)
    return {'rlhf_type': 'ppo', 'train_seconds': round(seconds, 1), 'checkpoint': result.last_checkpoint,
            'logged': _logged(result.output_dir, ('reward', 'kl', 'value_loss'))}


def grpo_proof(model_dir, out_dir, **extra) -> Dict[str, Any]:
    """GRPO with format + accuracy rewards on additions: the mean reward per step, first vs last third."""
    result, seconds = train(model_dir, out_dir, 'grpo', arithmetic_rows(64, seed=3), **extra)
    rewards = [r['reward'] for r in _records(result.output_dir) if 'reward' in r]
    third = max(1, len(rewards) // 3)
    return {'rlhf_type': 'grpo', 'train_seconds': round(seconds, 1), 'checkpoint': result.last_checkpoint,
            'rewards': rewards, 'first_third_mean': sum(rewards[:third]) / third,
            'last_third_mean': sum(rewards[-third:]) / third,
            'plot': str(Path(result.output_dir) / 'images' / 'reward.png')}


def _records(output_dir) -> List[Dict]:
    return [json.loads(line) for line in (Path(output_dir) / 'logging.jsonl').read_text().splitlines()]


def _logged(output_dir, keys) -> List[Dict]:
    return [{k: r[k] for k in keys if k in r} for r in _records(output_dir) if 'loss' in r]
