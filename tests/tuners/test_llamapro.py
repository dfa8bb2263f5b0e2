"""LLaMA-Pro block expansion: same outputs at init, more layers, only the new blocks train."""
import pytest
import torch

from swift.tuners import prepare_tuner, save_tuned_model
from swift.tuners.llamapro import expansion_plan
from swift.utils import SwiftError
from tests.tuners.conftest import args_for, load_model, logits, train


def test_expansion_plan():
    assert expansion_plan(2, 2, 2) == [0, 0, 1, 1]
    assert expansion_plan(4, 2, 2) == [0, 1, 1, 2, 3, 3]
    assert expansion_plan(4, 4, 2) == [0, 1, 1, 1, 2, 3, 3, 3]
    # 30 layers in 4 groups of 7 (as ms-swift): copies after layers 6, 13, 20, 27
    plan = expansion_plan(30, 4, 4)
    assert len(plan) == 34 and [i for i in range(1, 34) if plan[i] == plan[i - 1]] == [7, 15, 23, 31]
    # more blocks than groups: shared out, earlier groups first
    assert expansion_plan(8, 3, 2) == [0, 1, 2, 3, 3, 3, 4, 5, 6, 7, 7]
    with pytest.raises(SwiftError, match='llamapro_num_groups'):
        expansion_plan(2, 4, 4)
    with pytest.raises(SwiftError, match='must be positive'):
        expansion_plan(2, 0, 1)


def test_outputs_unchanged_at_init_and_only_new_blocks_train(base, tiny_dir, tokens):
    base_logits = logits(base, tokens)
    model = prepare_tuner(base, args_for(tuner_type='llamapro', llamapro_num_new_blocks=2))
    layers = model.model.layers
    assert len(layers) == 4 and model.config.num_hidden_layers == 4
    assert torch.allclose(logits(model, tokens), base_logits, atol=1e-6, rtol=0)
    trainable_layers = {n.split('.')[2] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable_layers == {'1', '3'}
    assert [layer.self_attn.layer_idx for layer in layers] == [0, 1, 2, 3]
    # the copies start from their source layer, except for the zeroed output projections
    assert torch.equal(layers[1].self_attn.q_proj.weight, layers[0].self_attn.q_proj.weight)
    assert not layers[1].self_attn.o_proj.weight.any() and not layers[1].mlp.down_proj.weight.any()
    assert layers[0].self_attn.o_proj.weight.any()


def test_generation_with_kv_cache_matches_base(base, tiny_dir, tokens):
    """Every expanded layer has its own KV-cache slot: cached decoding gives the base model's logits."""
    kwargs = dict(max_new_tokens=4, do_sample=False, pad_token_id=0, use_cache=True, return_dict_in_generate=True,
                  output_logits=True)
    expected = base.generate(tokens, **kwargs)
    model = prepare_tuner(load_model(tiny_dir), args_for(tuner_type='llamapro', llamapro_num_new_blocks=2))
    generated = model.generate(tokens, **kwargs)
    assert torch.equal(generated.sequences, expected.sequences)
    for step_logits, expected_logits in zip(generated.logits, expected.logits):
        assert torch.allclose(step_logits, expected_logits, atol=1e-5, rtol=0)


def test_saved_config_has_the_new_layer_count(base, tokens, tmp_path):
    model = prepare_tuner(base, args_for(tuner_type='llamapro', llamapro_num_new_blocks=2, llamapro_num_groups=1))
    assert len(model.model.layers) == 4
    train(model, tokens, steps=2)
    save_tuned_model(model, tmp_path)
    reloaded = load_model(tmp_path)
    assert reloaded.config.num_hidden_layers == 4 and len(reloaded.model.layers) == 4
    assert torch.equal(logits(reloaded, tokens), logits(model, tokens))


def test_per_layer_config_lists_grow(base):
    base.config.layer_types = ['full_attention', 'sliding_attention']
    prepare_tuner(base, args_for(tuner_type='llamapro', llamapro_num_new_blocks=2))
    assert base.config.layer_types == ['full_attention'] * 2 + ['sliding_attention'] * 2
