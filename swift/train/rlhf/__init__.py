"""Alignment (`swift rlhf`): DPO, ORPO, SimPO, CPO, KTO, reward models, PPO and GRPO.

    from swift.train.rlhf import rlhf_main, RLHFArguments
    result = rlhf_main(['--rlhf_type', 'dpo', '--model', 'smollm2-135m-instruct', '--dataset', 'pairs.jsonl'])

Layout: arguments.py (the flags), losses.py (every loss as a function of log-probabilities),
data.py (encoding and batching pairs, unpaired rows and prompts), one trainer module per family
(preference.py, kto.py, reward_model.py, grpo.py, ppo.py on top of base.py), rewards.py (GRPO reward
functions), rollout.py (sampling completions), workflow.py (rlhf_main) and api.py (the Python API).
Names are imported on first use: importing this package loads neither torch nor transformers.
"""
from swift.utils.lazy import lazy_exports

_LAZY = {
    'RLHFArguments': 'swift.train.rlhf.arguments',
    'RLHF_TYPES': 'swift.train.rlhf.arguments',
    'rlhf_main': 'swift.train.rlhf.workflow',
    'Trainer': 'swift.train.rlhf.api',
    'DPOConfig': 'swift.train.rlhf.api',
    'train_dpo': 'swift.train.rlhf.api',
    'train_orpo': 'swift.train.rlhf.api',
    'train_simpo': 'swift.train.rlhf.api',
    'train_cpo': 'swift.train.rlhf.api',
    'train_kto': 'swift.train.rlhf.api',
    'train_rm': 'swift.train.rlhf.api',
    'train_ppo': 'swift.train.rlhf.api',
    'train_grpo': 'swift.train.rlhf.api',
    'register_reward_function': 'swift.train.rlhf.rewards',
    'REWARD_FUNCTIONS': 'swift.train.rlhf.rewards',
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
