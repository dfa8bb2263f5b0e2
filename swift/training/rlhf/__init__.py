"""Alignment (`swift rlhf`): DPO, ORPO, SimPO, CPO, KTO, reward models, PPO and GRPO.

    from swift.training.rlhf import rlhf_main
    result = rlhf_main(['--rlhf_type', 'dpo', '--model', 'smollm2-135m-instruct', '--dataset', 'pairs.jsonl'])

Layout: losses.py (every loss as a function of log-probabilities), data.py (encoding and batching pairs,
unpaired rows and prompts), one trainer module per family (preference.py, kto.py, reward_model.py, grpo.py,
ppo.py on top of base.py and online.py), rewards.py (GRPO reward functions), rollout.py (sampling completions),
workflow.py (rlhf_main). The flags are swift.arguments.rlhf's; the Python API (Trainer, DPOConfig,
train_dpo, ...) is swift.api's. Names are imported on first use: importing this package loads neither torch
nor transformers.
"""
from swift.utils.lazy import lazy_exports

_LAZY = {
    'rlhf_main': 'swift.training.rlhf.workflow',
    'register_reward_function': 'swift.training.rlhf.rewards',
    'REWARD_FUNCTIONS': 'swift.training.rlhf.rewards',
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
