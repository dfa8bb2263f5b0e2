"""GRPO (Shao et al. 2024): sample a group of completions per prompt, reward each, and push the policy
towards the completions that beat their group's mean.

Per step: num_generations completions for each prompt of the batch; every reward function scores
them (weighted sum = the reward); advantages are rewards normalised within each group; the loss is
the clipped surrogate plus beta × KL to the reference (losses.grpo_loss, checked against TRL).

Logged: reward (mean of the weighted sum), reward_std, rewards/<function>/mean for each reward
function, kl, clip_ratio, completions/mean_length, completions/max_length, completions/clipped_ratio.
"""
from typing import Callable, List, Sequence, Tuple

import torch

from swift.utils import SwiftError

from . import losses
from .online import OnlineTrainer
from .rollout import Completion


class GRPOTrainer(OnlineTrainer):

    def __init__(self, *args, reward_functions: Sequence[Tuple[str, Callable]] = (),
                 reward_weights: Sequence[float] = (), **kwargs):
        """reward_functions: (name, function) pairs; the name labels the function's logged mean."""
        super().__init__(*args, **kwargs)
        self.reward_functions = list(reward_functions)
        self.reward_weights = list(reward_weights) or [1.0] * len(self.reward_functions)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        args = self.rlhf_args
        group = args.num_generations
        rows = [row for row in inputs['rows'] for _ in range(group)]
        prompt_ids = [ids for ids in inputs['prompt_ids'] for _ in range(group)]
        completions = [c for per_prompt in self.generate(inputs['rows'], group) for c in per_prompt]

        rewards = self.score(rows, completions).to(self.args.device)
        advantages = losses.group_advantages(rewards, group, args.scale_rewards)
        batch = self.build_sequences(prompt_ids, completions)
        per_token, mask, outputs = self.policy_logps(model, batch)
        ref = self.reference_token_logps(batch) if args.beta != 0.0 else None
        old = per_token.detach()  # one update per rollout
        loss = losses.grpo_loss(per_token, old, ref, advantages, mask, args.beta, args.epsilon, args.epsilon_high,
                                args.loss_type[0], args.max_new_tokens)

        self.record(reward=rewards.mean(), reward_std=rewards.view(-1, group).std(dim=1).mean())
        if ref is not None:
            self.record(kl=losses.masked_mean(losses.k3_kl(per_token.detach(), ref), mask))
        self.record_completions(completions)
        return (loss, outputs) if return_outputs else loss

    def score(self, rows, completions: List[Completion]) -> torch.Tensor:
        """The weighted sum of every reward function's scores (None counts as 0); logs each function's mean."""
        texts = [c.text for c in completions]
        columns = {key: [row.get(key) for row in rows] for key in {k for row in rows for k in row}}
        columns.update(completion_lengths=[len(c.token_ids) for c in completions],
                       max_completion_length=self.rlhf_args.max_new_tokens)
        total = torch.zeros(len(completions))
        for (name, function), weight in zip(self.reward_functions, self.reward_weights):
            values = function(texts, **columns)
            if len(values) != len(texts):
                raise SwiftError(f'reward function {name!r} returned {len(values)} values for {len(texts)} completions')
            scores = torch.tensor([0.0 if v is None else float(v) for v in values])
            self.record(**{f'rewards/{name}/mean': scores.mean()})
            total += weight * scores
        return total
