"""FusedLoraLinear: PEFT's LoRA linear run as one autograd node with in-place addmm; same values, same gradients."""
import copy

import pytest
import torch
from peft.tuners.lora import Linear as PeftLoraLinear

from swift.tuners import prepare_tuner
from swift.tuners.fused_lora import FusedLoraLinear
from tests.tuners.conftest import args_for

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::FutureWarning')


def lora_layers(model):
    return [m for m in model.modules() if isinstance(m, PeftLoraLinear)]


def as_plain_peft(model):
    """A copy whose LoRA layers run PEFT's own forward: the reference."""
    reference = copy.deepcopy(model)
    for layer in lora_layers(reference):
        layer.__class__ = PeftLoraLinear
    return reference


def loss_and_grads(model, input_ids, seed=0):
    model.zero_grad()
    torch.manual_seed(seed)  # the same dropout masks in both models
    loss = model(input_ids=input_ids, labels=input_ids).loss
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


def test_lora_layers_of_a_full_precision_model_are_fused(base):
    model = prepare_tuner(base, args_for())
    layers = lora_layers(model)
    assert layers and all(type(m) is FusedLoraLinear for m in layers)


# init_weights false: lora_B starts random, so the adapter term is not zero and the test can fail
@pytest.mark.parametrize('overrides', [
    dict(init_weights=False),
    dict(init_weights=False, use_rslora=True, lora_alpha=7),
    dict(init_weights=False, lora_dropout=0.3),
    dict(init_weights=False, target_modules=['q_proj', 'down_proj']),
], ids=['plain', 'rslora', 'dropout', 'some-targets'])
def test_loss_and_gradients_equal_peft(overrides, base, tokens):
    model = prepare_tuner(base, args_for(**overrides))
    reference = as_plain_peft(model)
    model.train()
    reference.train()
    loss, grads = loss_and_grads(model, tokens)
    expected_loss, expected_grads = loss_and_grads(reference, tokens)
    assert torch.allclose(loss, expected_loss, atol=1e-6, rtol=0)
    assert grads.keys() == expected_grads.keys() and any('lora_A' in n for n in grads)
    for name, grad in grads.items():
        assert torch.allclose(grad, expected_grads[name], atol=1e-6, rtol=1e-5), name


def one_lora_layer(**lora_config):
    """A single 16 -> 24 linear with bias, under LoRA routed to FusedLoraLinear."""
    from peft import LoraConfig, get_peft_model
    from swift.tuners.fused_lora import register_fused_lora

    class One(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(16, 24, bias=True)

        def forward(self, x):
            return self.proj(x)

    config = LoraConfig(r=4, lora_alpha=8, target_modules=['proj'], init_lora_weights=False, **lora_config)
    assert register_fused_lora(config, One())
    layer = get_peft_model(One(), config).base_model.model.proj
    assert type(layer) is FusedLoraLinear
    return layer


@pytest.mark.parametrize('bias', ['none', 'all'])
@pytest.mark.parametrize('dropout', [0.0, 0.5])
def test_one_layer_matches_peft_in_values_and_every_gradient(bias, dropout):
    torch.manual_seed(0)
    layer = one_lora_layer(bias=bias, lora_dropout=dropout).train()
    x = torch.randn(3, 5, 16, requires_grad=True)
    assert layer._plain_adapter(x) == 'default'
    trained = [x] + [p for p in layer.parameters() if p.requires_grad]
    assert len(trained) == (4 if bias == 'all' else 3)  # x, lora_A, lora_B (, the base bias)

    def run(forward):
        torch.manual_seed(1)  # the same dropout mask for both
        out = forward(layer, x)
        return out, torch.autograd.grad(out.square().sum(), trained)

    out, grads = run(FusedLoraLinear.forward)
    expected, expected_grads = run(PeftLoraLinear.forward)
    assert out.shape == (3, 5, 24)
    assert torch.allclose(out, expected, atol=1e-6, rtol=0)
    for ours, theirs in zip(grads, expected_grads):
        assert torch.allclose(ours, theirs, atol=1e-5, rtol=1e-5)


def test_a_bias_on_lora_b_runs_peft_forward():
    torch.manual_seed(0)
    layer = one_lora_layer(lora_bias=True)
    x = torch.randn(3, 5, 16)
    assert layer._plain_adapter(x) is None
    with torch.no_grad():
        assert torch.equal(layer(x), PeftLoraLinear.forward(layer, x))


@pytest.mark.parametrize('case', ['dora', 'merged', 'disabled', 'bf16_base', 'zero3'])
def test_cases_the_fused_path_does_not_cover_run_peft_forward(case, base):
    overrides = dict(use_dora=True) if case == 'dora' else {}
    if case == 'bf16_base':  # PEFT keeps the adapter in float32 beside a bfloat16 base
        base = base.to(torch.bfloat16)
    model = prepare_tuner(base, args_for(init_weights=False, **overrides))
    layer = lora_layers(model)[0]
    x = torch.randn(2, 3, layer.in_features, dtype=layer.get_base_layer().weight.dtype)
    if case == 'merged':
        assert layer._plain_adapter(x) == 'default'
        layer.merge()
    if case == 'disabled':
        assert layer._plain_adapter(x) == 'default'
        layer.enable_adapters(False)
    if case == 'zero3':  # DeepSpeed marks a partitioned parameter with ds_id
        assert layer._plain_adapter(x) == 'default'
        layer.lora_A['default'].weight.ds_id = 0
    assert layer._plain_adapter(x) is None, case
    with torch.no_grad():
        assert torch.equal(layer(x), PeftLoraLinear.forward(layer, x))
