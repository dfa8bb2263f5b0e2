"""Every swift alignment loss against TRL's own code, on identical log-probabilities: loss value and gradients.

TRL's trainers compute their losses inside methods (DPOTrainer._compute_loss, KTOTrainer._compute_loss,
GRPOTrainer._compute_loss, RewardTrainer.compute_loss, CPOTrainer.cpo_loss, ORPOTrainer.odds_ratio_loss).
We call those methods unbound on a small stand-in object that carries the attributes they read, with a
stand-in "model" whose per-token log-probabilities are rows of one leaf tensor (`table`). The same
table goes through swift's functions; loss and d loss / d table must agree to 1e-5.

TRL 1.x has no PPO trainer: PPO's policy loss is checked against GRPOTrainer._compute_loss with
per-token advantages (GRPO's code accepts [B, T] advantages for exactly this); GAE and the clipped value
loss against a transcription of TRL 0.2x's experimental PPOTrainer (see test_ppo_gae_and_value_loss).
"""
import types
from collections import defaultdict

import pytest
import torch

from swift.training.rlhf import losses

trl = pytest.importorskip('trl')

ATOL = 1e-5


class FakeAccelerator:
    device = torch.device('cpu')
    num_processes = 1
    sync_gradients = True

    def gather(self, tensor):
        return tensor

    gather_for_metrics = gather

    def reduce(self, tensor, reduction='sum'):
        return tensor

    def unwrap_model(self, model):
        return model

    def autocast(self):
        import contextlib
        return contextlib.nullcontext()


class TableModel(torch.nn.Module):
    """A stand-in causal LM: the log-prob of token t of row r is table[input_ids[r, 0], t - 1].

    Column 0 of input_ids names the row of the table, so each sequence gets its own log-probs.
    Called like a model patched by TRL's add_fused_lm_head (labels=..., fused_lm_head=True).
    """
    is_gradient_checkpointing = False

    def __init__(self, table):
        super().__init__()
        self.table = table

    def forward(self, input_ids=None, attention_mask=None, labels=None, fused_lm_head=True, **kwargs):
        mask = labels[:, 1:] != -100
        log_probs = self.table[input_ids[:, 0]][:, :mask.size(1)] * mask
        zeros = torch.zeros_like(log_probs)
        return types.SimpleNamespace(log_probs=log_probs, entropy=zeros, mean_logits=zeros,
                                     is_top1=torch.zeros_like(mask), log_sum_sq_probs=zeros, aux_loss=None)


def stand_in(**attributes):
    """The `self` TRL's methods read: metrics, accelerator, a model in training mode."""
    base = dict(accelerator=FakeAccelerator(), _metrics={'train': defaultdict(list), 'eval': defaultdict(list)},
                _total_train_tokens=0, _tp_size=1, aux_loss_enabled=False,
                model=types.SimpleNamespace(training=True, is_gradient_checkpointing=False))
    base.update(attributes)
    return types.SimpleNamespace(**base)


def random_masks(batch, length, generator):
    """Completion masks over [batch, length]: a prompt of 1-3 tokens, a completion, then padding."""
    mask = torch.zeros(batch, length, dtype=torch.long)
    for row in range(batch):
        start = int(torch.randint(1, 4, (1, ), generator=generator))
        end = int(torch.randint(start + 2, length + 1, (1, ), generator=generator))
        mask[row, start:end] = 1
    return mask


def make_table(rows, length, seed=0):
    generator = torch.Generator().manual_seed(seed)
    table = (-torch.rand(rows, length - 1, generator=generator, dtype=torch.float64) * 3).requires_grad_()
    return table, generator


def swift_sum_logps(table, row_ids, completion_mask):
    shifted = completion_mask[:, 1:].to(table.dtype)
    per_token = table[row_ids] * shifted
    return per_token.sum(-1), per_token, shifted


def assert_same(trl_loss, swift_loss, table):
    assert torch.isfinite(swift_loss)
    trl_grad, = torch.autograd.grad(trl_loss, table, retain_graph=True)
    swift_grad, = torch.autograd.grad(swift_loss, table, retain_graph=True)
    torch.testing.assert_close(swift_loss.detach(), trl_loss.detach().to(swift_loss.dtype), atol=ATOL, rtol=0)
    torch.testing.assert_close(swift_grad, trl_grad, atol=ATOL, rtol=0)
    assert swift_grad.abs().sum() > 0  # the comparison is not between two zero gradients


# ---------------------------------------------------------------- DPO

DPO_CASES = [(['sigmoid'], None, 0.0), (['hinge'], None, 0.0), (['ipo'], None, 0.0), (['robust'], None, 0.1),
             (['bco_pair'], None, 0.0), (['exo_pair'], None, 0.1), (['nca_pair'], None, 0.0),
             (['sppo_hard'], None, 0.0), (['aot'], None, 0.1), (['aot_unpaired'], None, 0.0),
             (['apo_zero'], None, 0.0), (['apo_down'], None, 0.0), (['discopop'], None, 0.0),
             (['sigmoid_norm'], None, 0.0), (['sigmoid', 'bco_pair', 'hinge'], [0.8, 0.2, 0.5], 0.0)]


def _dpo_batch(pairs=4, length=9, seed=0):
    table, generator = make_table(2 * pairs, length, seed)
    input_ids = torch.randint(10, 100, (2 * pairs, length), generator=generator)
    input_ids[:, 0] = torch.arange(2 * pairs)  # rows 0..pairs-1 chosen, then rejected
    completion_mask = random_masks(2 * pairs, length, generator)
    ref = -torch.rand(2 * pairs, generator=generator, dtype=torch.float64) * 3 * length / 2
    inputs = {'input_ids': input_ids, 'attention_mask': torch.ones_like(input_ids),
              'completion_mask': completion_mask, 'ref_chosen_logps': ref[:pairs], 'ref_rejected_logps': ref[pairs:]}
    return table, inputs


def _trl_dpo_loss(table, inputs, beta, loss_types, loss_weights, label_smoothing):
    from trl.trainer.dpo_trainer import DPOTrainer
    self = stand_in(ld_alpha=None, precompute_ref_logps=True, f_divergence_type='reverse_kl', loss_types=loss_types,
                    loss_weights=loss_weights or [1.0] * len(loss_types), beta=beta, label_smoothing=label_smoothing,
                    use_weighting=False, ref_model=None,
                    args=types.SimpleNamespace(gradient_checkpointing_kwargs=None, discopop_tau=0.05))
    return DPOTrainer._compute_loss(self, TableModel(table), dict(inputs), return_outputs=False)


@pytest.mark.parametrize('loss_types,loss_weights,label_smoothing', DPO_CASES)
def test_dpo_losses_match_trl(loss_types, loss_weights, label_smoothing):
    table, inputs = _dpo_batch()
    beta = 0.3
    trl_loss = _trl_dpo_loss(table, inputs, beta, loss_types, loss_weights, label_smoothing)
    logps, _, shifted = swift_sum_logps(table, inputs['input_ids'][:, 0], inputs['completion_mask'])
    chosen, rejected = logps.chunk(2)
    lengths = inputs['completion_mask'].sum(-1).to(table.dtype)
    swift_loss = losses.dpo_loss(chosen, rejected, inputs['ref_chosen_logps'], inputs['ref_rejected_logps'], beta,
                                 loss_types, loss_weights, label_smoothing, *lengths.chunk(2))
    assert_same(trl_loss, swift_loss, table)


def test_rpo_alpha_matches_trl_sigmoid_plus_sft():
    """rpo_alpha adds the NLL of the chosen answers: TRL 1.x spells it loss_type ['sigmoid', 'sft'] weighted."""
    table, inputs = _dpo_batch(seed=1)
    trl_loss = _trl_dpo_loss(table, inputs, 0.1, ['sigmoid', 'sft'], [1.0, 0.7], 0.0)
    logps, per_token, shifted = swift_sum_logps(table, inputs['input_ids'][:, 0], inputs['completion_mask'])
    chosen, rejected = logps.chunk(2)
    swift_loss = losses.dpo_loss(chosen, rejected, inputs['ref_chosen_logps'], inputs['ref_rejected_logps'], 0.1,
                                 rpo_alpha=0.7, chosen_token_logps=per_token.chunk(2)[0],
                                 chosen_mask=shifted.chunk(2)[0])
    assert_same(trl_loss, swift_loss, table)


def test_reference_free_is_dpo_with_zero_reference():
    table, inputs = _dpo_batch(seed=2)
    inputs['ref_chosen_logps'] = torch.zeros(4, dtype=torch.float64)
    inputs['ref_rejected_logps'] = torch.zeros(4, dtype=torch.float64)
    trl_loss = _trl_dpo_loss(table, inputs, 0.1, ['sigmoid'], None, 0.0)
    logps, _, _ = swift_sum_logps(table, inputs['input_ids'][:, 0], inputs['completion_mask'])
    zero = torch.zeros(4, dtype=torch.float64)
    assert_same(trl_loss, losses.dpo_loss(*logps.chunk(2), zero, zero, 0.1), table)


def test_token_logps_match_trl_from_logits():
    """Our log-probs from logits (shift, gather, mask) equal TRL's get_batch_logps, sum and mean."""
    from trl.experimental.orpo import ORPOTrainer
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(3, 7, 50, generator=generator, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 50, (3, 7), generator=generator)
    labels[:, :2] = -100
    labels[1, 5:] = -100
    per_token, mask = losses.token_logps(logits, labels)
    for average in (False, True):
        trl_logps = ORPOTrainer.get_batch_logps(logits, labels, average_log_prob=average)
        ours = per_token.sum(-1) / (mask.sum(-1) if average else 1)
        torch.testing.assert_close(ours, trl_logps, atol=ATOL, rtol=0)


# ---------------------------------------------------------------- CPO / SimPO / ORPO

@pytest.mark.parametrize('loss_type,label_smoothing', [('sigmoid', 0.0), ('sigmoid', 0.1), ('hinge', 0.0),
                                                       ('ipo', 0.0), ('simpo', 0.0), ('simpo', 0.1)])
def test_cpo_and_simpo_match_trl(loss_type, label_smoothing):
    from trl.experimental.cpo import CPOTrainer
    table, inputs = _dpo_batch(seed=4)
    logps, per_token, shifted = swift_sum_logps(table, inputs['input_ids'][:, 0], inputs['completion_mask'])
    if loss_type in ('ipo', 'simpo'):  # TRL's CPO averages per token for these
        logps = logps / shifted.sum(-1)
    chosen, rejected = logps.chunk(2)
    beta, gamma, cpo_alpha = 2.0, 0.7, 0.5
    nll = losses.nll_loss(per_token.chunk(2)[0], shifted.chunk(2)[0])
    self = stand_in(alpha=0.0, beta=beta, loss_type=loss_type, simpo_gamma=gamma, label_smoothing=label_smoothing)
    trl_losses, _, _ = CPOTrainer.cpo_loss(self, chosen, rejected)
    trl_loss = trl_losses.mean() + cpo_alpha * nll
    swift_loss = losses.cpo_losses(chosen, rejected, beta, loss_type, label_smoothing, gamma).mean() + cpo_alpha * nll
    assert_same(trl_loss, swift_loss, table)


def test_orpo_matches_trl():
    from trl.experimental.orpo import ORPOTrainer
    table, inputs = _dpo_batch(seed=5)
    logps, per_token, shifted = swift_sum_logps(table, inputs['input_ids'][:, 0], inputs['completion_mask'])
    mean_logps = logps / shifted.sum(-1)
    chosen, rejected = mean_logps.chunk(2)
    nll = losses.nll_loss(per_token.chunk(2)[0], shifted.chunk(2)[0])
    trl_losses, *_ = ORPOTrainer.odds_ratio_loss(stand_in(beta=0.25), chosen, rejected)
    trl_loss = nll - trl_losses.mean()  # ORPOTrainer.get_batch_loss_metrics: policy_nll_loss - losses.mean()
    assert_same(trl_loss, losses.orpo_loss(chosen, rejected, 0.25, nll), table)


# ---------------------------------------------------------------- KTO

@pytest.mark.parametrize('loss_type', ['kto', 'apo_zero_unpaired'])
def test_kto_matches_trl(loss_type):
    from trl.trainer.kto_trainer import KTOTrainer
    batch, length = 6, 8
    table, generator = make_table(2 * batch, length, seed=6)
    input_ids = torch.randint(10, 100, (batch, length), generator=generator)
    input_ids[:, 0] = torch.arange(batch)
    kl_ids = input_ids.clone()
    kl_ids[:, 0] = torch.arange(batch, 2 * batch)  # the mismatched pairs have their own log-probs
    completion_mask = random_masks(batch, length, generator)
    kl_mask = random_masks(batch, length, generator)
    label = torch.tensor([True, False, True, True, False, False])
    ref_logps = -torch.rand(batch, generator=generator, dtype=torch.float64) * 6
    ref_kl_logps = -torch.rand(batch, generator=generator, dtype=torch.float64) * 12  # a positive KL estimate
    inputs = {'input_ids': input_ids, 'attention_mask': torch.ones_like(input_ids), 'completion_mask': completion_mask,
              'KL_input_ids': kl_ids, 'KL_attention_mask': torch.ones_like(kl_ids), 'KL_completion_mask': kl_mask,
              'label': label, 'ref_logps': ref_logps, 'ref_KL_logps': ref_kl_logps}
    self = stand_in(calculate_KL=True, precompute_ref_logps=True, loss_type=loss_type, beta=0.2, desirable_weight=1.3,
                    undesirable_weight=0.8, ref_model=None, args=types.SimpleNamespace(gradient_checkpointing_kwargs=None))
    self._compute_kl_logps = types.MethodType(KTOTrainer._compute_kl_logps, self)
    trl_loss = KTOTrainer._compute_loss(self, TableModel(table), dict(inputs), return_outputs=False)

    logps, _, _ = swift_sum_logps(table, input_ids[:, 0], completion_mask)
    with torch.no_grad():
        kl_logps, _, _ = swift_sum_logps(table, kl_ids[:, 0], kl_mask)
    kl = losses.kto_kl(kl_logps, ref_kl_logps)
    assert kl > 0
    swift_loss = losses.kto_losses(logps, ref_logps, label, kl, 0.2, loss_type, 1.3, 0.8).nanmean()
    assert_same(trl_loss, swift_loss, table)


# ---------------------------------------------------------------- reward model

@pytest.mark.parametrize('center,with_margin', [(None, False), (0.01, False), (None, True)])
def test_reward_model_loss_matches_trl(center, with_margin):
    from trl.trainer.reward_trainer import RewardTrainer
    generator = torch.Generator().manual_seed(7)
    scores = torch.randn(8, 1, generator=generator, dtype=torch.float64, requires_grad=True)
    margin = torch.rand(4, generator=generator, dtype=torch.float64) if with_margin else None

    def model(**kwargs):
        return types.SimpleNamespace(logits=scores)

    inputs = {'input_ids': torch.zeros(8, 3, dtype=torch.long), 'attention_mask': torch.ones(8, 3, dtype=torch.long)}
    if with_margin:
        inputs['margin'] = margin
    self = stand_in(args=types.SimpleNamespace(center_rewards_coefficient=center))
    trl_loss = RewardTrainer.compute_loss(self, model, inputs)
    chosen, rejected = scores.squeeze(-1).chunk(2)
    assert_same(trl_loss, losses.reward_model_loss(chosen, rejected, margin, center), scores)


# ---------------------------------------------------------------- GRPO (and PPO's policy loss)

def _trl_grpo_loss(table, inputs, beta, loss_type, epsilon_low, epsilon_high, max_completion_length):
    from trl.trainer.grpo_trainer import GRPOTrainer

    def logps_and_entropies(model, input_ids, attention_mask, logits_to_keep, **kwargs):
        per_token = table[input_ids[:, 0]][:, -logits_to_keep:]
        return per_token, torch.zeros_like(per_token), None

    self = stand_in(top_entropy_quantile=1.0, off_policy_mask_threshold=None, importance_sampling_level='token',
                    beta=beta, loss_type=loss_type, epsilon_low=epsilon_low, epsilon_high=epsilon_high,
                    use_vllm=False, vllm_importance_sampling_correction=False, current_gradient_accumulation_steps=1,
                    _entropy_bonus_enabled=False, max_completion_length=max_completion_length,
                    args=types.SimpleNamespace(use_bias_correction_kl=False, delta=None, steps_per_generation=1))
    self._get_per_token_logps_and_entropies = logps_and_entropies
    return GRPOTrainer._compute_loss(self, TableModel(table), inputs)


def _grpo_batch(batch=6, prompt=3, completion=6, seed=8, token_advantages=False):
    table, generator = make_table(batch, prompt + completion + 1, seed)
    prompt_ids = torch.randint(10, 100, (batch, prompt), generator=generator)
    prompt_ids[:, 0] = torch.arange(batch)
    completion_mask = torch.zeros(batch, completion, dtype=torch.long)
    for row in range(batch):
        completion_mask[row, :int(torch.randint(2, completion + 1, (1, ), generator=generator))] = 1
    shape = (batch, completion) if token_advantages else (batch, )
    advantages = torch.randn(*shape, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        current = table[:, -completion:]
        old = current + 0.3 * torch.randn(current.shape, generator=generator, dtype=torch.float64)  # ratios clip
        ref = current + 0.5 * torch.randn(current.shape, generator=generator, dtype=torch.float64)
    inputs = {'prompt_ids': prompt_ids, 'prompt_mask': torch.ones_like(prompt_ids),
              'completion_ids': torch.randint(10, 100, (batch, completion), generator=generator),
              'completion_mask': completion_mask, 'advantages': advantages, 'old_per_token_logps': old,
              'ref_per_token_logps': ref, 'num_items_in_batch': completion_mask.sum()}
    return table, inputs


@pytest.mark.parametrize('loss_type,beta,epsilon_high', [('grpo', 0.0, 0.2), ('grpo', 0.04, 0.28), ('bnpo', 0.04, 0.2),
                                                         ('dr_grpo', 0.1, 0.2), ('dapo', 0.04, 0.28)])
def test_grpo_matches_trl(loss_type, beta, epsilon_high):
    table, inputs = _grpo_batch()
    trl_loss = _trl_grpo_loss(table, inputs, beta, loss_type, 0.2, epsilon_high, max_completion_length=6)
    per_token = table[:, -6:]
    swift_loss = losses.grpo_loss(per_token, inputs['old_per_token_logps'], inputs['ref_per_token_logps'],
                                  inputs['advantages'], inputs['completion_mask'], beta, 0.2, epsilon_high, loss_type,
                                  max_completion_length=6)
    assert_same(trl_loss, swift_loss, table)


def test_group_advantages_match_trl_formula():
    """TRL: (r - mean over the group) / (std over the group + 1e-4), std unbiased (torch's default)."""
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.5, 2.0, 2.0, 3.0, 1.0])
    ours = losses.group_advantages(rewards, 4)
    grouped = rewards.view(-1, 4)
    mean = grouped.mean(1).repeat_interleave(4)
    std = grouped.std(1).repeat_interleave(4)
    torch.testing.assert_close(ours, (rewards - mean) / (std + 1e-4))
    torch.testing.assert_close(losses.group_advantages(torch.ones(4), 4), torch.zeros(4))


def test_ppo_policy_loss_matches_trl_clipped_objective():
    table, inputs = _grpo_batch(seed=9, token_advantages=True)
    trl_loss = _trl_grpo_loss(table, inputs, 0.0, 'bnpo', 0.2, 0.2, max_completion_length=6)
    per_token = table[:, -6:]
    swift_loss = losses.masked_mean(
        losses.clipped_surrogate(per_token, inputs['old_per_token_logps'], inputs['advantages'], 0.2, 0.2),
        inputs['completion_mask'])
    assert_same(trl_loss, swift_loss, table)


def test_ppo_gae_and_value_loss():
    """Against TRL 0.2x experimental PPOTrainer.train (trl/experimental/ppo/ppo_trainer.py, "6. compute advantages
    and returns" and the value loss), transcribed here because TRL 1.x removed PPO. One mask for values and
    log-probs: swift's completions include their stop token."""
    generator = torch.Generator().manual_seed(10)
    batch, length = 3, 5
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]])
    values = torch.randn(batch, length, generator=generator, dtype=torch.float64).masked_fill(mask == 0, 0)
    rewards = torch.randn(batch, length, generator=generator, dtype=torch.float64).masked_fill(mask == 0, 0)
    gamma, lam = 0.99, 0.95
    # TRL 0.2x, verbatim apart from names
    lastgaelam = 0
    advantages_reversed = []
    for t in reversed(range(length)):
        nextvalues = values[:, t + 1] if t < length - 1 else 0.0
        delta = rewards[:, t] + gamma * nextvalues - values[:, t]
        lastgaelam = delta + gamma * lam * lastgaelam
        advantages_reversed.append(lastgaelam)
    trl_advantages = torch.stack(advantages_reversed[::-1], axis=1)
    trl_returns = trl_advantages + values
    advantages, returns = losses.gae(rewards, values, mask, gamma, lam)
    valid = mask.bool()
    torch.testing.assert_close(advantages[valid], trl_advantages[valid])
    torch.testing.assert_close(returns[valid], trl_returns[valid])

    vpred = (values + 0.4 * torch.randn(batch, length, generator=generator, dtype=torch.float64)).requires_grad_()
    clipped = torch.clamp(vpred, values - 0.2, values + 0.2)
    trl_value_loss = 0.5 * losses.masked_mean(torch.max((vpred - returns)**2, (clipped - returns)**2), mask)
    assert_same(trl_value_loss, losses.ppo_value_loss(vpred, values, returns, mask, 0.2), vpred)


def test_ppo_token_rewards_put_the_score_on_the_last_token():
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    logps = torch.full((2, 4), -1.0)
    ref = torch.full((2, 4), -1.5)
    rewards = losses.ppo_token_rewards(torch.tensor([2.0, -1.0]), logps, ref, mask, kl_coef=0.1)
    expected = torch.tensor([[-0.05, -0.05, 1.95, 0.0], [-0.05, -0.05, -0.05, -1.05]])
    torch.testing.assert_close(rewards, expected)


@pytest.mark.parametrize('beta,temperature', [(0.0, 1.0), (0.5, 1.0), (0.1, 0.9), (1.0, 2.0)])
def test_gkd_generalized_jsd_matches_trl(beta, temperature):
    """TRL's GKDTrainer.generalized_jsd_loss (a static method) on the same logits and labels: value and gradients
    with respect to the student logits; padded and prompt positions (-100) are left out by both."""
    from trl.experimental.gkd import GKDTrainer
    generator = torch.Generator().manual_seed(16)
    student = torch.randn(3, 7, 11, generator=generator, dtype=torch.float64).requires_grad_()
    teacher = 2 * torch.randn(3, 7, 11, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, 11, (3, 7), generator=generator)
    labels[:, :2] = -100  # the prompt
    labels[1, 5:] = -100  # padding
    trl_loss = GKDTrainer.generalized_jsd_loss(student, teacher, labels=labels, beta=beta, temperature=temperature)
    swift_loss = losses.generalized_jsd_loss(student, teacher, labels, beta=beta, temperature=temperature)
    assert_same(trl_loss, swift_loss, student)
    assert float(swift_loss) > 0
    # A student equal to the teacher has nothing to learn.
    same = losses.generalized_jsd_loss(teacher, teacher, labels, beta=beta, temperature=temperature)
    assert float(same) == pytest.approx(0.0, abs=1e-9)
