"""The alignment losses, as plain functions of log-probabilities (no model, no trainer).

Each function takes what the algorithm's paper takes (sequence or per-token log-probabilities of
the policy and the reference model, advantages, values) and returns per-sequence losses or the
batch loss. tests/training/rlhf/test_losses_vs_trl.py checks every one against TRL's own code on the
same tensors: value and gradients.

Conventions: `*_logps` of a sequence are the SUM of its completion tokens' log-probabilities
(`sum_logps`); length-normalised variants divide by the completion length where the algorithm says so.
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from swift.arguments.rlhf import CPO_LOSS_TYPES, DPO_LOSS_TYPES, GRPO_LOSS_TYPES, KTO_LOSS_TYPES

# ---------------------------------------------------------------- log-probabilities

IGNORE_INDEX = -100


def selective_log_softmax(logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """log_softmax(logits)[..., index] without keeping the whole [*, vocab] log-softmax alive."""
    if logits.dtype in (torch.float32, torch.float64):
        picked = torch.gather(logits, -1, index.unsqueeze(-1)).squeeze(-1)
        return picked - torch.logsumexp(logits, dim=-1)
    # low precision: logsumexp in half precision is inaccurate, go row by row in float32
    rows = [torch.gather(F.log_softmax(row.float(), -1), -1, idx.unsqueeze(-1)).squeeze(-1)
            for row, idx in zip(logits, index)]
    return torch.stack(rows)


def token_logps(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0):
    """(per-token log-probs [B, T-1], completion mask [B, T-1]) of labels under causal-LM logits [B, T, V].

    The logit at position t predicts the token at t+1; positions whose label is IGNORE_INDEX get 0.
    """
    logits = logits[:, :-1]
    if temperature != 1.0:
        logits = logits / temperature
    target = labels[:, 1:]
    mask = target != IGNORE_INDEX
    logps = selective_log_softmax(logits, target.clamp(min=0))
    return logps * mask, mask


# ---------------------------------------------------------------- DPO and its variants



def dpo_losses(loss_type: str,
               chosen_logps: torch.Tensor,
               rejected_logps: torch.Tensor,
               ref_chosen_logps: torch.Tensor,
               ref_rejected_logps: torch.Tensor,
               beta: float,
               label_smoothing: float = 0.0,
               chosen_lengths: Optional[torch.Tensor] = None,
               rejected_lengths: Optional[torch.Tensor] = None,
               discopop_tau: float = 0.05) -> torch.Tensor:
    """Per-pair DPO losses of one loss_type (Rafailov et al. 2023 and the variants TRL names the same way).

    chosen_lengths / rejected_lengths (completion tokens) are needed by the length-normalised 'ipo'
    and 'sigmoid_norm' only.
    """
    chosen_logratios = chosen_logps - ref_chosen_logps
    rejected_logratios = rejected_logps - ref_rejected_logps
    delta = chosen_logratios - rejected_logratios
    if loss_type == 'sigmoid':
        return -F.logsigmoid(beta * delta)
    if loss_type == 'hinge':
        return torch.relu(1 - beta * delta)
    if loss_type == 'ipo':  # per-token average log-ratios, as the IPO authors confirmed to TRL
        chosen = chosen_logratios / chosen_lengths.clamp(min=1)
        rejected = rejected_logratios / rejected_lengths.clamp(min=1)
        return (chosen - rejected - 1 / (2 * beta))**2
    if loss_type == 'exo_pair':
        epsilon = torch.tensor(label_smoothing, device=delta.device)
        return (torch.sigmoid(beta * delta) * (F.logsigmoid(beta * delta) - torch.log1p(-epsilon)) +
                torch.sigmoid(-beta * delta) * (F.logsigmoid(-beta * delta) - torch.log(epsilon)))
    if loss_type == 'nca_pair':
        chosen, rejected = beta * chosen_logratios, beta * rejected_logratios
        return -F.logsigmoid(chosen) - 0.5 * F.logsigmoid(-chosen) - 0.5 * F.logsigmoid(-rejected)
    if loss_type == 'robust':  # Chowdhury et al. 2024: unbiased under label noise `label_smoothing`
        clean = -(1 - label_smoothing) * F.logsigmoid(beta * delta)
        flipped = -label_smoothing * F.logsigmoid(-beta * delta)
        return (clean - flipped) / (1 - 2 * label_smoothing)
    if loss_type == 'bco_pair':
        return -F.logsigmoid(beta * chosen_logratios) - F.logsigmoid(-beta * rejected_logratios)
    if loss_type == 'sppo_hard':
        return (chosen_logratios - 0.5 / beta)**2 + (rejected_logratios + 0.5 / beta)**2
    if loss_type in ('aot', 'aot_unpaired'):
        if loss_type == 'aot':
            sorted_policy = torch.sort(chosen_logps - rejected_logps, dim=0)[0]
            sorted_ref = torch.sort(ref_chosen_logps - ref_rejected_logps, dim=0)[0]
        else:
            sorted_policy = torch.sort(chosen_logratios, dim=0)[0]
            sorted_ref = torch.sort(rejected_logratios, dim=0)[0]
        gap = sorted_policy - sorted_ref
        return -F.logsigmoid(beta * gap) * (1 - label_smoothing) - F.logsigmoid(-beta * gap) * label_smoothing
    if loss_type == 'apo_zero':
        return (1 - torch.sigmoid(beta * chosen_logratios)) + torch.sigmoid(beta * rejected_logratios)
    if loss_type == 'apo_down':
        return torch.sigmoid(beta * chosen_logratios) + (1 - torch.sigmoid(beta * delta))
    if loss_type == 'discopop':
        logits = beta * delta
        modulation = torch.sigmoid(logits / discopop_tau)
        return -F.logsigmoid(logits) * (1 - modulation) + torch.exp(-logits) * modulation
    if loss_type == 'sigmoid_norm':
        chosen = chosen_logratios / chosen_lengths.clamp(min=1)
        rejected = rejected_logratios / rejected_lengths.clamp(min=1)
        return -F.logsigmoid(beta * (chosen - rejected))
    raise ValueError(f'unknown DPO loss_type {loss_type!r}; choose from {", ".join(DPO_LOSS_TYPES)}')


def nll_loss(per_token_logps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood over all masked tokens of the batch (the SFT loss)."""
    return -per_token_logps[mask.bool()].mean()


def dpo_loss(chosen_logps: torch.Tensor,
             rejected_logps: torch.Tensor,
             ref_chosen_logps: torch.Tensor,
             ref_rejected_logps: torch.Tensor,
             beta: float,
             loss_types: Sequence[str] = ('sigmoid', ),
             loss_weights: Optional[Sequence[float]] = None,
             label_smoothing: float = 0.0,
             chosen_lengths: Optional[torch.Tensor] = None,
             rejected_lengths: Optional[torch.Tensor] = None,
             rpo_alpha: Optional[float] = None,
             chosen_token_logps: Optional[torch.Tensor] = None,
             chosen_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The batch DPO loss: a weighted sum of loss types (each averaged over pairs), plus rpo_alpha × NLL(chosen).

    rpo_alpha (RPO, Pang et al. 2024) adds the SFT loss of the chosen answers; it needs their
    per-token log-probs and mask. With reference_free the caller passes zero reference log-probs.
    """
    weights = list(loss_weights) if loss_weights else [1.0] * len(loss_types)
    if len(weights) != len(loss_types):
        raise ValueError(f'{len(loss_types)} loss types but {len(weights)} loss weights')
    loss = 0.0
    for loss_type, weight in zip(loss_types, weights):
        losses = dpo_losses(loss_type, chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta,
                            label_smoothing, chosen_lengths, rejected_lengths)
        loss = loss + weight * losses.mean()
    if rpo_alpha:
        loss = loss + rpo_alpha * nll_loss(chosen_token_logps, chosen_mask)
    return loss


# ---------------------------------------------------------------- reference-free pairwise losses



def cpo_losses(chosen_logps: torch.Tensor, rejected_logps: torch.Tensor, beta: float, loss_type: str = 'sigmoid',
               label_smoothing: float = 0.0, simpo_gamma: float = 0.5) -> torch.Tensor:
    """CPO (Xu et al. 2024) and SimPO (Meng et al. 2024) per-pair losses; no reference model.

    For SimPO and IPO the log-probs are per-token averages (the caller divides by length).
    """
    logits = chosen_logps - rejected_logps
    if loss_type == 'simpo':
        logits = logits - simpo_gamma / beta
    if loss_type in ('sigmoid', 'simpo'):
        return -F.logsigmoid(beta * logits) * (1 - label_smoothing) - F.logsigmoid(-beta * logits) * label_smoothing
    if loss_type == 'hinge':
        return torch.relu(1 - beta * logits)
    if loss_type == 'ipo':
        return (logits - 1 / (2 * beta))**2
    raise ValueError(f'unknown CPO loss_type {loss_type!r}; choose from {", ".join(CPO_LOSS_TYPES)}')


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x < 0, accurate on both sides of -ln 2."""
    return torch.where(x < -math.log(2), torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x)))


def orpo_log_odds(chosen_mean_logps: torch.Tensor, rejected_mean_logps: torch.Tensor) -> torch.Tensor:
    """log odds(chosen) - log odds(rejected), odds(y) = P(y) / (1 - P(y)) with P the per-token mean probability."""
    chosen, rejected = chosen_mean_logps.float(), rejected_mean_logps.float()
    return (chosen - rejected) - (log1mexp(chosen) - log1mexp(rejected))


def orpo_loss(chosen_mean_logps: torch.Tensor, rejected_mean_logps: torch.Tensor, beta: float,
              chosen_nll: torch.Tensor) -> torch.Tensor:
    """ORPO (Hong et al. 2024): NLL(chosen) - beta · mean log σ(log odds ratio)."""
    return chosen_nll - (beta * F.logsigmoid(orpo_log_odds(chosen_mean_logps, rejected_mean_logps))).mean()


# ---------------------------------------------------------------- KTO



def _same(t: torch.Tensor) -> torch.Tensor:
    return t


def kto_kl(policy_kl_logps: torch.Tensor, ref_kl_logps: torch.Tensor, total=_same) -> torch.Tensor:
    """KTO's reference point z0: the batch-mean log-ratio on mismatched (prompt, completion) pairs, ≥ 0, no gradient.
    total: sums a tensor over the processes (the batch is every rank's rows), identity on one process."""
    ratios = (policy_kl_logps - ref_kl_logps).detach().float()
    summed = total(torch.stack([ratios.sum(), torch.tensor(float(ratios.numel()), device=ratios.device)]))
    return (summed[0] / summed[1].clamp(min=1)).clamp(min=0)


def kto_losses(logps: torch.Tensor, ref_logps: torch.Tensor, desirable: torch.Tensor, kl: torch.Tensor, beta: float,
               loss_type: str = 'kto', desirable_weight: float = 1.0,
               undesirable_weight: float = 1.0) -> torch.Tensor:
    """KTO (Ethayarajh et al. 2024) per-sample losses, desirable samples first, then undesirable ones.

    desirable: bool [B]. The order matches TRL, so a mean over the result is TRL's batch loss.
    """
    logratios = logps - ref_logps
    chosen, rejected = logratios[desirable], logratios[~desirable]
    if loss_type == 'kto':
        chosen_losses = 1 - torch.sigmoid(beta * (chosen - kl))
        rejected_losses = 1 - torch.sigmoid(beta * (kl - rejected))
    elif loss_type == 'apo_zero_unpaired':
        chosen_losses = 1 - torch.sigmoid(beta * chosen)
        rejected_losses = torch.sigmoid(beta * rejected)
    else:
        raise ValueError(f'unknown KTO loss_type {loss_type!r}; choose from {", ".join(KTO_LOSS_TYPES)}')
    return torch.cat([desirable_weight * chosen_losses, undesirable_weight * rejected_losses])


# ---------------------------------------------------------------- reward model

def reward_model_loss(chosen_rewards: torch.Tensor, rejected_rewards: torch.Tensor,
                      margin: Optional[torch.Tensor] = None,
                      center_rewards_coefficient: Optional[float] = None) -> torch.Tensor:
    """Bradley-Terry pairwise loss -log σ(r_chosen - r_rejected - margin), optionally centring the rewards at 0."""
    gap = chosen_rewards - rejected_rewards
    if margin is not None:
        gap = gap - margin
    loss = -F.logsigmoid(gap).mean()
    if center_rewards_coefficient:
        loss = loss + center_rewards_coefficient * torch.mean((chosen_rewards + rejected_rewards)**2)
    return loss


# ---------------------------------------------------------------- GRPO



def group_advantages(rewards: torch.Tensor, num_generations: int, scale_rewards='group') -> torch.Tensor:
    """GRPO advantages as TRL's: each reward minus its group's mean, over the (unbiased) std of its group
    (scale_rewards 'group' or True), of the whole batch ('batch'), or not scaled ('none' or False)."""
    scale_rewards = {True: 'group', False: 'none'}.get(scale_rewards, scale_rewards)
    grouped = rewards.view(-1, num_generations)
    advantages = grouped - grouped.mean(dim=1, keepdim=True)
    if scale_rewards == 'group':
        advantages = advantages / (grouped.std(dim=1, keepdim=True) + 1e-4)
    elif scale_rewards == 'batch':
        advantages = advantages / (rewards.std() + 1e-4)
    elif scale_rewards != 'none':
        raise ValueError(f'scale_rewards must be group, batch or none, not {scale_rewards!r}')
    return advantages.view(-1)


def k3_kl(per_token_logps: torch.Tensor, ref_per_token_logps: torch.Tensor) -> torch.Tensor:
    """Per-token KL(π‖π_ref) estimate exp(r) - r - 1 with r = log π_ref - log π (Schulman's k3): ≥ 0, unbiased."""
    diff = ref_per_token_logps - per_token_logps
    return torch.exp(diff) - diff - 1


def clipped_surrogate(per_token_logps: torch.Tensor, old_per_token_logps: torch.Tensor, advantages: torch.Tensor,
                      epsilon_low: float, epsilon_high: float) -> torch.Tensor:
    """PPO's per-token clipped objective, negated: -min(ρA, clip(ρ, 1-ε_low, 1+ε_high)A), ρ = π/π_old."""
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(1)
    ratio = torch.exp(per_token_logps - old_per_token_logps)
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    return -torch.min(ratio * advantages, clipped * advantages)


def aggregate_token_loss(per_token_loss: torch.Tensor, mask: torch.Tensor, loss_type: str,
                         max_completion_length: Optional[int] = None,
                         normalizer: Optional[float] = None) -> torch.Tensor:
    """Reduce a [B, T] per-token loss the way each GRPO variant does. `normalizer` (dapo on several processes): the
    completion tokens of the global batch per process, as TRL's DAPO divides by; without it, this batch's."""
    mask = mask.to(per_token_loss.dtype)
    if loss_type == 'grpo':  # mean per sequence, then over sequences
        return ((per_token_loss * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    if loss_type == 'dapo' and normalizer is not None:
        return (per_token_loss * mask).sum() / max(normalizer, 1.0)
    if loss_type in ('bnpo', 'dapo'):  # mean over every completion token of the batch
        return (per_token_loss * mask).sum() / mask.sum().clamp(min=1.0)
    if loss_type == 'dr_grpo':  # Dr. GRPO: a constant normaliser, no length bias
        return (per_token_loss * mask).sum() / (per_token_loss.size(0) * max_completion_length)
    raise ValueError(f'unknown GRPO loss_type {loss_type!r}; choose from {", ".join(GRPO_LOSS_TYPES)}')


def grpo_loss(per_token_logps: torch.Tensor, old_per_token_logps: torch.Tensor,
              ref_per_token_logps: Optional[torch.Tensor], advantages: torch.Tensor, mask: torch.Tensor, beta: float,
              epsilon_low: float = 0.2, epsilon_high: Optional[float] = None, loss_type: str = 'grpo',
              max_completion_length: Optional[int] = None, normalizer: Optional[float] = None) -> torch.Tensor:
    """GRPO (Shao et al. 2024): clipped surrogate with group advantages + beta · k3 KL to the reference."""
    per_token_loss = clipped_surrogate(per_token_logps, old_per_token_logps, advantages, epsilon_low,
                                       epsilon_low if epsilon_high is None else epsilon_high)
    if beta != 0.0:
        per_token_loss = per_token_loss + beta * k3_kl(per_token_logps, ref_per_token_logps)
    return aggregate_token_loss(per_token_loss, mask, loss_type, max_completion_length, normalizer)


# ---------------------------------------------------------------- GKD


def generalized_jsd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                         beta: float = 0.5, temperature: float = 1.0) -> torch.Tensor:
    """GKD's generalized Jensen-Shannon divergence (Agarwal et al. 2024, eq. 1), averaged over labelled positions.

    Logits [B, T, V] are already aligned (position t of both predicts the same token); labels [B, T] mark the
    positions to score (IGNORE_INDEX: skipped). With M = beta·P_teacher + (1-beta)·P_student:
    JSD_beta = beta·KL(P_teacher‖M) + (1-beta)·KL(P_student‖M); beta 0 is KL(P_teacher‖P_student), beta 1
    KL(P_student‖P_teacher) — TRL's GKDTrainer.generalized_jsd_loss conventions, summed over the vocabulary.
    """
    dtype = torch.promote_types(student_logits.dtype, torch.float32)  # half-precision log-softmax is too coarse
    student = F.log_softmax(student_logits.to(dtype) / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.to(dtype) / temperature, dim=-1)

    def kl(target, approx):  # KL(target ‖ approx) per position, from log-probabilities
        return (target.exp() * (target - approx)).sum(-1)

    if beta == 0:
        per_position = kl(teacher, student)
    elif beta == 1:
        per_position = kl(student, teacher)
    else:
        mixture = torch.logsumexp(torch.stack([student + math.log1p(-beta), teacher + math.log(beta)]), dim=0)
        per_position = beta * kl(teacher, mixture) + (1 - beta) * kl(student, mixture)
    mask = labels != IGNORE_INDEX
    return per_position[mask].sum() / mask.sum().clamp(min=1)


# ---------------------------------------------------------------- PPO

def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def masked_whiten(values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, total=_same) -> torch.Tensor:
    """(values - mean) / std over the masked entries (unbiased variance, as TRL's PPO). total: sums a tensor over
    the processes, so that the statistics are those of every rank's entries (identity on one process)."""
    mask = mask.to(values.dtype)
    summed, count = total(torch.stack([(values * mask).sum(), mask.sum()]))
    mean = summed / count.clamp(min=1.0)
    squares = total(((values - mean)**2 * mask).sum().reshape(1))[0]
    variance = squares / (count - 1).clamp(min=1.0)
    whitened = (values - mean) * torch.rsqrt(variance + 1e-8)
    return whitened if shift_mean else whitened + mean


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0, lam: float = 0.95):
    """(advantages, returns) by generalised advantage estimation over the completion tokens [B, T].

    Tokens past the end of a completion (mask 0) neither give reward nor carry value.
    """
    mask = mask.to(values.dtype)
    values = values * mask
    rewards = rewards * mask
    last = torch.zeros_like(values[:, 0])
    reversed_advantages = []
    length = values.size(1)
    for t in reversed(range(length)):
        next_value = values[:, t + 1] if t + 1 < length else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = delta + gamma * lam * last
        reversed_advantages.append(last)
    advantages = torch.stack(reversed_advantages[::-1], dim=1) * mask
    return advantages, advantages + values


def ppo_value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
                   cliprange_value: float) -> torch.Tensor:
    """0.5 · masked mean of max((V - R)², (clip(V, V_old ± c) - R)²)."""
    clipped = old_values + torch.clamp(values - old_values, -cliprange_value, cliprange_value)
    return 0.5 * masked_mean(torch.max((values - returns)**2, (clipped - returns)**2), mask)


def ppo_token_rewards(score: torch.Tensor, per_token_logps: torch.Tensor, ref_per_token_logps: torch.Tensor,
                      mask: torch.Tensor, kl_coef: float) -> torch.Tensor:
    """Per-token rewards: -kl_coef · (log π - log π_ref) on every token, plus the sequence score on the last one."""
    rewards = -kl_coef * (per_token_logps - ref_per_token_logps) * mask
    last = (mask.long().cumsum(dim=1) == mask.long().sum(dim=1, keepdim=True)) & mask.bool()
    return rewards + last.to(rewards.dtype) * score.unsqueeze(1)
