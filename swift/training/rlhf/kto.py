"""KTO: unpaired rows, each labelled desirable or undesirable (Ethayarajh et al. 2024).

Per step: the policy scores the rows (with gradient) and their mismatched KL sequences (without);
the reference scores both, unless --precompute_ref_log_probs did it once before training. The KL
reference point z0 is the batch mean of the policy/reference log-ratio on the mismatched sequences; on several
processes the mean over every rank's rows (TRL gathers it too), so that 2 processes × batch 1 train as 1 × batch 2.

Logged: kl (z0), rewards/chosen and rewards/rejected (beta × log-ratio of the desirable and
undesirable rows of the logging window, over every rank), rewards/margins (their difference, as TRL logs it),
logps/chosen, logps/rejected.
"""
import torch

from . import losses
from .base import RLHFTrainer, sequence_logps


_NOT_MEDIA = ('input_ids', 'attention_mask', 'labels', 'label', 'ref_logps', 'ref_kl_logps')


def media_inputs(batch, prefix: str = ''):
    """The media tensors (pixel_values, ...) of the rows (prefix '') or of their KL sequences (prefix 'kl_')."""
    if prefix:
        return {k[len(prefix):]: v for k, v in batch.items()
                if k.startswith(prefix) and k[len(prefix):] not in _NOT_MEDIA}
    return {k: v for k, v in batch.items() if not k.startswith('kl_') and k not in _NOT_MEDIA}


def _logps(model, batch, prefix: str = ''):
    per_token, _, outputs = sequence_logps(model, batch[prefix + 'input_ids'], batch[prefix + 'attention_mask'],
                                           batch[prefix + 'labels'], **media_inputs(batch, prefix))
    return per_token.sum(-1), outputs


class KTOTrainer(RLHFTrainer):
    PRECOMPUTED = ('ref_logps', 'ref_kl_logps')

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        args = self.rlhf_args
        logps, outputs = _logps(model, inputs)
        with torch.no_grad():
            kl_logps, _ = _logps(model, inputs, 'kl_')
        ref_logps, ref_kl_logps = self.reference_logps(inputs)
        kl = losses.kto_kl(kl_logps, ref_kl_logps, total=self.sum_over_ranks)
        desirable = inputs['label']
        per_sample = losses.kto_losses(logps, ref_logps, desirable, kl, args.beta, args.loss_type[0],
                                       args.desirable_weight, args.undesirable_weight)
        loss = per_sample.nanmean()

        rewards = args.beta * (logps - ref_logps).detach()
        values = {'kl': kl}
        if desirable.any():
            values.update({'rewards/chosen': rewards[desirable], 'logps/chosen': logps.detach()[desirable]})
        if (~desirable).any():
            values.update({'rewards/rejected': rewards[~desirable], 'logps/rejected': logps.detach()[~desirable]})
        self.record(**values)
        return (loss, outputs) if return_outputs else loss

    def derived_metrics(self, logs, prefix):
        # the margin of the logged means (TRL's KTO logs it so): a row of each kind anywhere in the logging window,
        # on any rank, is enough (with batch 1 per rank no single batch holds both)
        chosen, rejected = logs.get(f'{prefix}rewards/chosen'), logs.get(f'{prefix}rewards/rejected')
        if chosen is not None and rejected is not None:
            logs[f'{prefix}rewards/margins'] = round(chosen - rejected, 6)

    def reference_logps(self, inputs):
        if 'ref_logps' in inputs:
            return inputs['ref_logps'], inputs['ref_kl_logps']
        with torch.no_grad(), self.reference() as ref:
            return _logps(ref, inputs)[0], _logps(ref, inputs, 'kl_')[0]
