"""GRPO (Shao et al. 2024): sample a group of completions per prompt, reward each, and push the policy
towards the completions that beat their group's mean.

Per rollout: num_generations completions for each prompt of the batch; every reward function scores
them (weighted sum = the reward); advantages are rewards normalised within each group; the loss is
the clipped surrogate plus beta × KL to the reference (losses.grpo_loss, checked against TRL).

The ms-swift / TRL / DAPO options:
- --num_iterations μ: each rollout is learned from μ times. The sampler hands each step's prompts in μ times in
  a row (TRL's RepeatSampler); the first time they are generated, scored and their log-probabilities kept as
  the "old" policy's, the next μ-1 times the same completions are reused, so the ratio π/π_old moves and clips.
- --overlong_filter: completions cut at --max_new_tokens get a zero loss mask (they still count in their group's
  advantages, as in ms-swift).
- --dynamic_sample: groups whose rewards are all equal teach nothing (zero advantage); they are replaced by
  groups of new prompts drawn from the training set, up to --max_resample_times rounds; if the batch is still
  short, the equal-reward groups fill it (ms-swift's behaviour).
- --log_completions: every completion, with its prompt, rewards and advantage, is appended to
  <output_dir>/completions.jsonl.

Logged: reward (mean of the weighted sum), reward_std, rewards/<function>/mean for each reward
function, kl, completions/mean_length, completions/max_length, completions/clipped_ratio, and with the options
above clip_ratio, completions/overlong_filtered, dynamic_sample/resample_rounds, dynamic_sample/zero_std_groups.
"""
import json
import os
from typing import Any, Callable, Dict, List, Sequence, Tuple

import torch
from torch.utils.data import Sampler

from swift.utils import SwiftError

from . import losses
from .online import OnlineTrainer
from .rollout import Completion


class RepeatBatchSampler(Sampler):
    """A shuffled order in chunks of `chunk` indices (one optimizer step's prompts), each chunk repeated `repeats`
    times in a row, so a step's prompts come back for the next repeats-1 steps (--num_iterations). A short last
    chunk is completed with the epoch's first indices, so that batches never straddle two repeats."""

    def __init__(self, size: int, chunk: int, repeats: int, seed: int):
        self.size, self.chunk, self.repeats, self.seed = size, chunk, repeats, seed
        self.epoch = 0

    def __iter__(self):
        order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed + self.epoch)).tolist()
        self.epoch += 1
        for start in range(0, self.size, self.chunk):
            chunk = order[start:start + self.chunk]
            chunk += order[:self.chunk - len(chunk)]
            for _ in range(self.repeats):
                yield from chunk

    def __len__(self) -> int:
        return -(-self.size // self.chunk) * self.chunk * self.repeats


class GRPOTrainer(OnlineTrainer):

    def __init__(self, *args, reward_functions: Sequence[Tuple[str, Callable]] = (),
                 reward_weights: Sequence[float] = (), **kwargs):
        """reward_functions: (name, function) pairs; the name labels the function's logged mean."""
        super().__init__(*args, **kwargs)
        self.reward_functions = list(reward_functions)
        self.reward_weights = list(reward_weights) or [1.0] * len(self.reward_functions)
        self._rollouts: Dict[Any, Dict[str, Any]] = {}  # --num_iterations: rollouts still to be learned from
        self._resample_draws = 0

    def _get_train_sampler(self, train_dataset=None):
        if self.rlhf_args.num_iterations == 1:
            return super()._get_train_sampler(train_dataset)
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        chunk = self.args.per_device_train_batch_size * self.args.gradient_accumulation_steps
        return RepeatBatchSampler(len(dataset), chunk, self.rlhf_args.num_iterations, self.args.seed)

    # ---- the loss -----------------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        args = self.rlhf_args
        rollout = self.rollout_for(inputs)
        batch, mask = rollout['batch'], rollout['mask']
        per_token, _, outputs = self.policy_logps(model, batch)
        old = rollout['old'] if rollout['old'] is not None else per_token.detach()
        ref = rollout['ref']
        loss = losses.grpo_loss(per_token, old, ref, rollout['advantages'], mask, args.beta, args.epsilon,
                                args.epsilon_high, args.loss_type[0], args.max_new_tokens,
                                normalizer=rollout.get('normalizer'))
        if ref is not None:
            self.record(kl=losses.masked_mean(losses.k3_kl(per_token.detach(), ref), mask))
        if args.num_iterations > 1:
            ratio = torch.exp(per_token.detach() - old)
            high = args.epsilon if args.epsilon_high is None else args.epsilon_high
            clipped = ((ratio < 1 - args.epsilon) | (ratio > 1 + high)).float()
            self.record(clip_ratio=losses.masked_mean(clipped, mask))
        return (loss, outputs) if return_outputs else loss

    def rollout_for(self, inputs) -> Dict[str, Any]:
        """This step's rollout: a new one, or (--num_iterations) the one made when these prompts came first."""
        if not self.model.training or self.rlhf_args.num_iterations == 1:
            return self.make_rollout(inputs)
        key = tuple(tuple(ids) for ids in inputs['prompt_ids'])
        rollout = self._rollouts.get(key)
        if rollout is None:
            rollout = self._rollouts[key] = self.make_rollout(inputs)
            rollout['uses'] = 0
        rollout['uses'] += 1
        if rollout['uses'] >= self.rlhf_args.num_iterations:
            del self._rollouts[key]
        return rollout

    # ---- rollouts -----------------------------------------------------------------------------
    def make_rollout(self, inputs) -> Dict[str, Any]:
        """Generate, score and (--dynamic_sample) refill; the tensors the loss needs, computed once."""
        args = self.rlhf_args
        group = args.num_generations
        rows, prompt_ids = list(inputs['rows']), list(inputs['prompt_ids'])
        completions, rewards, columns = self.sample_groups(rows)
        if args.dynamic_sample and self.model.training:
            rows, prompt_ids, completions, rewards, columns = self.dynamic_sample(rows, prompt_ids, completions,
                                                                                  rewards, columns)
        rewards = rewards.to(self.args.device)
        advantages = self.advantages(rewards)
        self.record(reward=rewards.mean(), reward_std=rewards.view(-1, group).std(dim=1).mean())
        for name, values in columns.items():
            self.record(**{f'rewards/{name}/mean': values.mean()})
        self.record_completions(completions)
        repeated_ids = [ids for ids in prompt_ids for _ in range(group)]
        batch = self.build_sequences(repeated_ids, completions)
        self.attach_media(batch, [row for row in rows for _ in range(group)])
        mask = (batch['labels'][:, 1:] != losses.IGNORE_INDEX)
        if args.overlong_filter:
            kept = torch.tensor([c.finish_reason != 'length' for c in completions], device=mask.device)
            mask = mask & kept.unsqueeze(1)
            self.record(**{'completions/overlong_filtered': 1.0 - kept.float().mean()})
        with torch.no_grad():
            old = self.policy_logps(self.model, batch)[0] if args.num_iterations > 1 and self.model.training else None
            ref = self.reference_token_logps(batch) if args.beta != 0.0 else None
        if args.log_completions and self.model.training:
            self.log_completions([r for r in rows for _ in range(group)], completions, rewards, advantages, columns)
        return {'batch': batch, 'mask': mask, 'advantages': advantages, 'old': old, 'ref': ref,
                'normalizer': self.token_normalizer(mask)}

    def advantages(self, rewards: torch.Tensor) -> torch.Tensor:
        """This rank's advantages, computed from the rewards of the whole step gathered over the ranks (in rank order,
        as TRL does): --scale_rewards batch divides by the std of every rank's rewards, as one process with the
        whole batch would. A group never spans two ranks (each rank samples whole groups for its prompts)."""
        args = self.rlhf_args
        if self.accelerator.num_processes <= 1:
            return losses.group_advantages(rewards, args.num_generations, args.scale_rewards)
        everyone = self.accelerator.gather(rewards.float().contiguous())
        start = self.accelerator.process_index * rewards.numel()
        return losses.group_advantages(everyone, args.num_generations, args.scale_rewards)[start:start + rewards.numel()]

    def token_normalizer(self, mask: torch.Tensor):
        """--loss_type dapo: the completion tokens of the whole step over all ranks, per rank (TRL's normaliser), so
        that DDP's mean of the ranks' gradients is the token mean over the global batch; None for the others."""
        if self.rlhf_args.loss_type[0] != 'dapo' or self.accelerator.num_processes <= 1:
            return None
        total = self.accelerator.reduce(mask.sum().float().reshape(1), 'sum')
        return float(total.item()) / self.accelerator.num_processes

    def sample_groups(self, rows):
        """(completions, weighted rewards, {function: scores}) of num_generations completions per row."""
        group = self.rlhf_args.num_generations
        completions = [c for per_prompt in self.generate(rows, group) for c in per_prompt]
        repeated = [row for row in rows for _ in range(group)]
        rewards, columns = self.score(repeated, completions)
        return completions, rewards, columns

    def dynamic_sample(self, rows, prompt_ids, completions, rewards, columns):
        """DAPO's dynamic sampling: keep the groups with different rewards; fill the batch from new prompts."""
        args = self.rlhf_args
        group, wanted = args.num_generations, len(rows)
        pools = {'kept': [], 'flat': []}

        def sort(rows_, ids_, completions_, rewards_, columns_):
            for index in range(len(rows_)):
                span = slice(index * group, (index + 1) * group)
                entry = (rows_[index], ids_[index], completions_[span], rewards_[span],
                         {name: values[span] for name, values in columns_.items()})
                pools['kept' if rewards_[span].std() > 0 else 'flat'].append(entry)

        sort(rows, prompt_ids, completions, rewards, columns)
        self.record(**{'dynamic_sample/zero_std_groups': len(pools['flat']) / wanted})
        rounds = 0
        while len(pools['kept']) < wanted and rounds < args.max_resample_times:
            rounds += 1
            new_rows, new_ids = self.draw_prompts(wanted)
            sort(new_rows, new_ids, *self.sample_groups(new_rows))
        self.record(**{'dynamic_sample/resample_rounds': rounds})
        chosen = (pools['kept'] + pools['flat'])[:wanted]
        names = list(columns)
        return ([e[0] for e in chosen], [e[1] for e in chosen], [c for e in chosen for c in e[2]],
                torch.cat([e[3] for e in chosen]), {n: torch.cat([e[4][n] for e in chosen]) for n in names})

    def draw_prompts(self, count: int):
        """`count` prompts of the training set drawn at random (seeded by --seed and the draw number)."""
        self._resample_draws += 1
        # each rank draws its own prompts (the same seed everywhere would resample the same rows on every rank)
        generator = torch.Generator().manual_seed(self.args.seed * 7919 + self._resample_draws
                                                  + 104729 * self.args.process_index)
        indices = torch.randint(len(self.train_dataset), (count, ), generator=generator).tolist()
        items = [self.train_dataset[i] for i in indices]
        return [dict(item['row']) for item in items], [list(item['input_ids']) for item in items]

    def score(self, rows, completions: List[Completion]):
        """(weighted sum of every reward function's scores, {name: scores}); None counts as 0."""
        texts = [c.text for c in completions]
        columns = {key: [row.get(key) for row in rows] for key in {k for row in rows for k in row}}
        columns.update(completion_lengths=[len(c.token_ids) for c in completions],
                       max_completion_length=self.rlhf_args.max_new_tokens)
        total = torch.zeros(len(completions))
        per_function = {}
        for (name, function), weight in zip(self.reward_functions, self.reward_weights):
            values = function(texts, **columns)
            if len(values) != len(texts):
                raise SwiftError(f'reward function {name!r} returned {len(values)} values for {len(texts)} completions')
            scores = torch.tensor([0.0 if v is None else float(v) for v in values])
            per_function[name] = scores
            total += weight * scores
        return total, per_function

    def log_completions(self, rows, completions, rewards, advantages, columns) -> None:
        """One JSON line per completion in <output_dir>/completions.jsonl (main process only)."""
        if not self.is_world_process_zero():
            return
        path = os.path.join(self.args.output_dir, 'completions.jsonl')
        with open(path, 'a', encoding='utf-8') as file:
            for index, (row, completion) in enumerate(zip(rows, completions)):
                record = {'step': self.state.global_step + 1, 'prompt': row['messages'], 'completion': completion.text,
                          'finish_reason': completion.finish_reason, 'reward': float(rewards[index]),
                          'advantage': float(advantages[index]),
                          'rewards': {name: float(values[index]) for name, values in columns.items()}}
                file.write(json.dumps(record, ensure_ascii=False) + '\n')
