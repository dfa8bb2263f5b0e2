"""PPO for language models (Ouyang et al. 2022; the recipe of TRL's PPOTrainer), with a value head.

Per step: one completion per prompt; the reward model scores prompt + completion; per-token rewards
are -beta × (log π - log π_ref) with the score added on the last token; GAE turns them into
advantages (whitened) and returns; the loss is the clipped surrogate + vf_coef × clipped value loss.

The value head is a linear layer on the policy's last hidden state (one backbone for policy and
critic, so LoRA PPO holds one copy of the weights). It is a submodule of the trained model (`v_head`), called
inside the model's forward by a forward hook when the forward returns hidden states, as TRL's PolicyAndValueWrapper
puts policy and critic in one module: so DDP averages its gradient, FSDP2 shards it with the model's root and
DeepSpeed ZeRO partitions it, and every optimizer parameter is one of the wrapped model's. It trains with the policy's
optimizer (no weight decay) and is saved beside the weights as value_head.safetensors, never inside the model file
or the adapter (and loaded again by --resume_from_checkpoint).

On several processes (DDP, FSDP2, ZeRO-3; docs/distributed.md): the advantages are whitened with the statistics of
every rank's tokens, so 2 processes × batch 1 train as 1 × batch 2 (when the completions have equal lengths: the
token means are per rank, as in TRL).

Logged: reward (the reward model's score), kl, policy_loss, value_loss, values/mean, clip_ratio,
completions/mean_length, completions/max_length, completions/clipped_ratio.
"""
import dataclasses
import os
from typing import Dict, Optional

import torch

from swift.tuners.saving import is_peft_model

from . import losses
from .online import OnlineTrainer

VALUE_HEAD_FILE = 'value_head.safetensors'
VALUE_HEAD = 'v_head'  # the head's name in the model (TRL's)


class ValueHead(torch.nn.Linear):
    """hidden [B, L, H] → values [B, L], computed in float32 whatever the parameters' dtype."""

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        weight, bias = self.weight.float(), self.bias.float()
        return torch.nn.functional.linear(hidden.float(), weight, bias).squeeze(-1)


class PPOTrainer(OnlineTrainer):

    def __init__(self, *args, reward_model=None, model=None, **kwargs):
        attach_value_head(model, sharded=bool(kwargs['args'].fsdp or kwargs['args'].deepspeed))
        model.register_forward_hook(self._values_hook)
        super().__init__(*args, model=model, **kwargs)
        self.reward_model = reward_model

    @property
    def value_head(self) -> ValueHead:
        return getattr(self.accelerator.unwrap_model(self.model), VALUE_HEAD)

    @staticmethod
    def _values_hook(module, args, output):
        """Inside the model's forward (FSDP2 has the root's parameters gathered, ZeRO-3 gathers the head's as it is
        called): a forward that returns hidden states (the training forward) returns the values too, in its output,
        where DDP's search for the parameters that took part in the forward (find_unused_parameters) finds them."""
        hidden = getattr(output, 'hidden_states', None)
        if hidden is None:
            return output
        return with_values(output, getattr(module, VALUE_HEAD)(hidden[-1]))

    def get_decay_parameter_names(self, model):
        return [name for name in super().get_decay_parameter_names(model) if f'{VALUE_HEAD}.' not in name]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        args = self.rlhf_args
        rows, prompt_ids = inputs['rows'], inputs['prompt_ids']
        completions = [per_prompt[0] for per_prompt in self.generate(rows, 1)]
        scores = self.score(rows, completions).to(self.args.device)

        batch = self.build_sequences(prompt_ids, completions)
        per_token, mask, outputs = self.policy_logps(model, batch, output_hidden_states=True)
        values = outputs.state_values[:, :-1] * mask  # the state that predicts each next token
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
        """The model (or adapter) without the head, and the head in its own file. Under FSDP / ZeRO-3 state_dict is
        the state gathered from every rank: the head's tensors are taken from it."""
        prefix = f'{VALUE_HEAD}.'
        if state_dict is None and not is_peft_model(self.model):
            state_dict = self.accelerator.unwrap_model(self.model).state_dict()
        if state_dict is not None:
            head = {k.rsplit(prefix, 1)[1]: v for k, v in state_dict.items() if prefix in k}
            state_dict = {k: v for k, v in state_dict.items() if prefix not in k}
        else:
            head = self.value_head.state_dict()
        super()._save(output_dir, state_dict)
        if self.args.should_save:
            from safetensors.torch import save_file
            directory = output_dir or self.args.output_dir
            save_file({k: v.detach().cpu().contiguous() for k, v in head.items()},
                      os.path.join(directory, VALUE_HEAD_FILE))


_WITH_VALUES: Dict[type, type] = {}


def with_values(output, values: torch.Tensor):
    """The model's output (a transformers ModelOutput) with one more field, state_values: a dataclass subclass of
    its class, which transformers registers as a pytree node like its own (DDP flattens and rebuilds the output)."""
    cls = type(output)
    if cls not in _WITH_VALUES:
        _WITH_VALUES[cls] = dataclasses.make_dataclass(
            f'{cls.__name__}WithValues', [('state_values', Optional[torch.Tensor], dataclasses.field(default=None))],
            bases=(cls, ))
    return _WITH_VALUES[cls](**output, state_values=values)


def attach_value_head(model, sharded: bool) -> None:
    """The zero-initialised value head as model.v_head (on the outermost module, so a LoRA adapter's file leaves it
    out). float32, unless FSDP2 / DeepSpeed will shard the model: then the model's dtype (FSDP2 gathers a module's
    parameters in one dtype; DeepSpeed casts the whole model to its precision anyway)."""
    hidden = model.config.get_text_config().hidden_size
    parameter = next(model.parameters())
    dtype = parameter.dtype if sharded else torch.float32
    head = ValueHead(hidden, 1).to(device=parameter.device, dtype=dtype)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    setattr(model, VALUE_HEAD, head)
