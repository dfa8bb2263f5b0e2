"""PPO for language models (Ouyang et al. 2022; the recipe of TRL's PPOTrainer), with a value head.

Per step: one completion per prompt; the reward model scores prompt + completion; per-token rewards
are -beta × (log π - log π_ref) with the score added on the last token; GAE turns them into
advantages (whitened) and returns; the loss is the clipped surrogate + vf_coef × clipped value loss.

The value head is a linear layer on the policy's last hidden state (one backbone for policy and
critic, so LoRA PPO holds one copy of the weights). It trains with the policy's optimizer and is
saved beside the adapter as value_head.safetensors (and loaded again by --resume_from_checkpoint).

On several processes (DDP): the advantages are whitened with the statistics of every rank's tokens, and the value
head, which lives outside the DDP-wrapped model, has its gradient averaged over the ranks after each backward, so
2 processes × batch 1 train as 1 × batch 2 (when the completions have equal lengths: the token means are per rank,
as in TRL). Not under --fsdp / --deepspeed (refused, swift/training/checks.py says why: the head sits beside the
wrapped model but in its optimizer, and FSDP2's and ZeRO's preparation look every optimizer parameter up in the model).

Logged: reward (the reward model's score), kl, policy_loss, value_loss, values/mean, clip_ratio,
completions/mean_length, completions/max_length, completions/clipped_ratio.
"""
import os
from typing import Optional

import torch

from . import losses
from .online import OnlineTrainer

VALUE_HEAD_FILE = 'value_head.safetensors'


class PPOTrainer(OnlineTrainer):

    def __init__(self, *args, reward_model=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.reward_model = reward_model
        hidden = self.model.config.get_text_config().hidden_size
        parameter = next(self.model.parameters())
        self.value_head = torch.nn.Linear(hidden, 1).to(device=parameter.device, dtype=torch.float32)
        torch.nn.init.zeros_(self.value_head.weight)
        torch.nn.init.zeros_(self.value_head.bias)

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        if not any(p is self.value_head.weight for group in optimizer.param_groups for p in group['params']):
            optimizer.add_param_group({'params': list(self.value_head.parameters()), 'weight_decay': 0.0})
        return optimizer

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        if self.accelerator.num_processes > 1:
            # DDP averaged the model's gradients in backward, not the head's: average them here. Idempotent over
            # gradient accumulation (the mean of already-equal parts is unchanged), so every micro-step may do it.
            for parameter in self.value_head.parameters():
                if parameter.grad is not None:
                    parameter.grad.copy_(self.sum_over_ranks(parameter.grad) / self.accelerator.num_processes)
        return loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        args = self.rlhf_args
        rows, prompt_ids = inputs['rows'], inputs['prompt_ids']
        completions = [per_prompt[0] for per_prompt in self.generate(rows, 1)]
        scores = self.score(rows, completions).to(self.args.device)

        batch = self.build_sequences(prompt_ids, completions)
        per_token, mask, outputs = self.policy_logps(model, batch, output_hidden_states=True)
        hidden = outputs.hidden_states[-1][:, :-1]  # the state that predicts each next token
        values = self.value_head(hidden.float()).squeeze(-1) * mask
        ref = self.reference_token_logps(batch)

        with torch.no_grad():
            old_logps, old_values = per_token.detach(), values.detach()
            token_rewards = losses.ppo_token_rewards(scores, old_logps, ref, mask, args.beta)
            advantages, returns = losses.gae(token_rewards, old_values, mask, args.gamma, args.lam)
            advantages = losses.masked_whiten(advantages, mask, total=self.sum_over_ranks) * mask
        policy_loss = losses.masked_mean(
            losses.clipped_surrogate(per_token, old_logps, advantages, args.epsilon,
                                     args.epsilon_high if args.epsilon_high is not None else args.epsilon), mask)
        value_loss = losses.ppo_value_loss(values, old_values, returns, mask, args.cliprange_value)
        loss = policy_loss + args.vf_coef * value_loss

        self.record(reward=scores.mean(), kl=losses.masked_mean(old_logps - ref, mask).detach(),
                    policy_loss=policy_loss, value_loss=value_loss, **{'values/mean': losses.masked_mean(old_values,
                                                                                                          mask)})
        self.record_completions(completions)
        return (loss, outputs) if return_outputs else loss

    def score(self, rows, completions) -> torch.Tensor:
        conversations = [list(row['messages']) + [{'role': 'assistant', 'content': c.text}]
                         for row, c in zip(rows, completions)]
        scores = torch.tensor(self.reward_model.score(conversations))
        penalty = self.rlhf_args.missing_eos_penalty
        if penalty:
            cut = torch.tensor([c.finish_reason == 'length' for c in completions])
            scores = scores - penalty * cut.float()
        return scores

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        path = os.path.join(resume_from_checkpoint, VALUE_HEAD_FILE)
        if os.path.isfile(path):  # resuming: the critic continues too
            from safetensors.torch import load_file
            self.value_head.load_state_dict(load_file(path))

    def _save(self, output_dir: Optional[str] = None, state_dict=None) -> None:
        super()._save(output_dir, state_dict)
        if self.args.should_save:
            from safetensors.torch import save_file
            directory = output_dir or self.args.output_dir
            save_file({k: v.detach().cpu().contiguous() for k, v in self.value_head.state_dict().items()},
                      os.path.join(directory, VALUE_HEAD_FILE))
