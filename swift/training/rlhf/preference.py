"""Pairwise preference training: DPO (with its loss variants, RPO and reference-free), ORPO, SimPO and CPO.

A batch is [chosen rows; rejected rows] (data.PairCollator). One forward pass of the policy scores
both halves; DPO adds one no-grad pass of the reference (or reads precomputed reference log-probs).

Logged per step: rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies (share of
pairs whose chosen reward is higher), logps/chosen, logps/rejected, and nll_loss where it is part of
the loss. Rewards are beta × log-ratio to the reference for DPO (the implicit reward), and beta ×
(average) log-probability for the reference-free methods, as TRL logs them.
"""
import torch

from . import losses
from .base import RLHFTrainer, sequence_logps


_NOT_MEDIA = ('input_ids', 'attention_mask', 'labels', 'ref_chosen_logps', 'ref_rejected_logps', 'margin')


def media_inputs(inputs):
    """The media tensors of a multimodal pair batch (pixel_values, ...), in the batch's [chosen; rejected] order."""
    return {k: v for k, v in inputs.items() if k not in _NOT_MEDIA}


class PreferenceTrainer(RLHFTrainer):
    PRECOMPUTED = ('ref_chosen_logps', 'ref_rejected_logps')

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        args = self.rlhf_args
        per_token, mask, outputs = sequence_logps(model, inputs['input_ids'], inputs['attention_mask'],
                                                  inputs['labels'], **media_inputs(inputs))
        lengths = mask.sum(-1).to(per_token.dtype)
        sum_logps = per_token.sum(-1)
        chosen_tokens, _ = per_token.chunk(2)
        chosen_mask, _ = mask.chunk(2)
        nll = losses.nll_loss(chosen_tokens, chosen_mask)
        if args.rlhf_type == 'dpo':
            loss, rewards = self._dpo(inputs, sum_logps, lengths, nll, chosen_tokens, chosen_mask)
        elif args.rlhf_type == 'orpo':
            mean_logps = sum_logps / lengths.clamp(min=1)
            loss = losses.orpo_loss(*mean_logps.chunk(2), args.beta, nll)
            rewards = (args.beta * mean_logps.detach()).chunk(2)
            self.record(nll_loss=nll, log_odds_ratio=losses.orpo_log_odds(*mean_logps.detach().chunk(2)))
        else:  # cpo (its --loss_type), simpo (CPO's simpo loss: length-normalised, with a target margin)
            loss_type = 'simpo' if args.rlhf_type == 'simpo' else args.loss_type[0]
            logps = sum_logps / lengths.clamp(min=1) if loss_type in ('simpo', 'ipo') else sum_logps
            chosen, rejected = logps.chunk(2)
            loss = losses.cpo_losses(chosen, rejected, args.beta, loss_type, args.label_smoothing,
                                     args.simpo_gamma).mean()
            if args.cpo_alpha:
                loss = loss + args.cpo_alpha * nll
                self.record(nll_loss=nll)
            rewards = (args.beta * chosen.detach(), args.beta * rejected.detach())
        self._record_pair_metrics(rewards, sum_logps.detach())
        return (loss, outputs) if return_outputs else loss

    def _dpo(self, inputs, sum_logps, lengths, nll, chosen_tokens, chosen_mask):
        args = self.rlhf_args
        chosen, rejected = sum_logps.chunk(2)
        ref_chosen, ref_rejected = self.reference_logps(inputs)
        loss = losses.dpo_loss(chosen, rejected, ref_chosen, ref_rejected, args.beta, args.loss_type,
                               args.loss_weights or None, args.label_smoothing, *lengths.chunk(2),
                               rpo_alpha=args.rpo_alpha, chosen_token_logps=chosen_tokens, chosen_mask=chosen_mask)
        if args.rpo_alpha:
            self.record(nll_loss=nll)
        rewards = (args.beta * (chosen - ref_chosen).detach(), args.beta * (rejected - ref_rejected).detach())
        return loss, rewards

    def reference_logps(self, inputs):
        """(reference chosen, reference rejected) sequence log-probs: precomputed, zero, or computed now."""
        if 'ref_chosen_logps' in inputs:
            return inputs['ref_chosen_logps'], inputs['ref_rejected_logps']
        if self.rlhf_args.reference_free:
            zeros = torch.zeros(inputs['input_ids'].size(0) // 2, device=inputs['input_ids'].device)
            return zeros, zeros
        with torch.no_grad(), self.reference() as ref:
            per_token, _, _ = sequence_logps(ref, inputs['input_ids'], inputs['attention_mask'], inputs['labels'],
                                             **media_inputs(inputs))
        return per_token.sum(-1).chunk(2)

    def _record_pair_metrics(self, rewards, sum_logps):
        chosen_rewards, rejected_rewards = rewards
        chosen_logps, rejected_logps = sum_logps.chunk(2)
        self.record(**{
            'rewards/chosen': chosen_rewards,
            'rewards/rejected': rejected_rewards,
            'rewards/margins': chosen_rewards - rejected_rewards,
            'rewards/accuracies': (chosen_rewards > rejected_rewards).float(),
            'logps/chosen': chosen_logps,
            'logps/rejected': rejected_logps,
        })
