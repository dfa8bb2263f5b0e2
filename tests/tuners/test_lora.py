"""LoRA details: target modules, init schemes, LoRA+, merging, several adapters."""
import re

import pytest
import torch

from swift.model.registry import ModelArch, ModelGroup, ModelMeta
from swift.tuners import (Swift, load_adapters, lora_plus_param_groups, prepare_tuner, resolve_target_modules,
                          save_tuned_model)
from swift.tuners.peft_tuners import parse_init_weights
from swift.utils import SwiftError
from tests.tuners.conftest import args_for, load_model, logits, train

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::FutureWarning')

LINEAR_LEAVES = ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']


def lora_targets(model):
    return sorted({n.rsplit('.', 1)[-1] for n, m in model.named_modules() if hasattr(m, 'lora_A')})


# ---- target modules ------------------------------------------------------------------------------
def test_default_all_linear_wraps_every_linear_but_lm_head(base):
    args = args_for()
    assert args.target_modules == ['all-linear']
    assert resolve_target_modules(base, args) == 'all-linear'
    model = prepare_tuner(base, args)
    assert lora_targets(model) == LINEAR_LEAVES
    assert not hasattr(model.base_model.model.lm_head, 'lora_A')


def test_explicit_names_regex_and_embedding(base):
    assert resolve_target_modules(base, args_for(target_modules=['q_proj', 'v_proj'])) == ['q_proj', 'v_proj']
    regex = r'.*layers\.1\.self_attn\.(q|k)_proj'
    assert resolve_target_modules(base, args_for(target_regex=regex)) == regex
    assert resolve_target_modules(base, args_for(target_modules=['all-linear', 'all-embedding'])) == \
        sorted(LINEAR_LEAVES + ['embed_tokens'])
    model = prepare_tuner(base, args_for(target_regex=regex))
    wrapped = [n for n, m in model.named_modules() if hasattr(m, 'lora_A')]
    assert [n.removeprefix('base_model.model.') for n in wrapped] == ['model.layers.1.self_attn.q_proj',
                                                                       'model.layers.1.self_attn.k_proj']


def test_bad_regex_is_a_swift_error(base):
    with pytest.raises(SwiftError, match='not a valid regex'):
        resolve_target_modules(base, args_for(target_regex='q_proj('))


def test_multimodal_meta_restricts_all_linear_to_the_language_model(base):
    """A multimodal registry entry: only linears under ModelArch.language_model are targeted."""
    meta = ModelMeta('fake_vl', [ModelGroup([])], template='x', is_multimodal=True,
                     model_arch=ModelArch(language_model=['model.layers.1']))
    regex = resolve_target_modules(base, args_for(target_modules=['all-linear', 'extra_head']), model_meta=meta)
    names = [n for n, _ in base.named_modules()]
    matched = [n for n in names if re.fullmatch(regex, n)]
    assert matched == [n for n in names if n.startswith('model.layers.1.') and n.rsplit('.', 1)[-1] in LINEAR_LEAVES]
    assert re.fullmatch(regex, 'vision.extra_head')  # names written out still match anywhere


def test_unknown_target_module_is_a_swift_error(base):
    with pytest.raises(SwiftError, match='PEFT rejected the configuration'):
        prepare_tuner(base, args_for(target_modules=['no_such_proj']))


# ---- init_weights ----------------------------------------------------------------------------------
def test_parse_init_weights():
    assert parse_init_weights(True) is True and parse_init_weights('false') is False
    assert parse_init_weights('PiSSA') == 'pissa' and parse_init_weights('pissa_niter_16') == 'pissa_niter_16'
    with pytest.raises(SwiftError, match='Did you mean: olora'):
        parse_init_weights('olor')
    with pytest.raises(SwiftError, match='pass over training data'):
        parse_init_weights('eva')


def test_init_weights_false_changes_outputs_and_true_does_not(base, tiny_dir, tokens):
    expected = logits(base, tokens)
    assert torch.equal(logits(prepare_tuner(base, args_for()), tokens), expected)
    random_init = prepare_tuner(load_model(tiny_dir), args_for(init_weights=False))
    assert not torch.allclose(logits(random_init, tokens), expected)


def test_pissa_rejects_what_its_conversion_would_lose(base):
    with pytest.raises(SwiftError, match='cannot be combined with --use_dora'):
        prepare_tuner(base, args_for(init_weights='pissa', use_dora=True))
    with pytest.raises(SwiftError, match='cannot be combined with --modules_to_save'):
        prepare_tuner(base, args_for(init_weights='olora', modules_to_save=['norm']))


def test_pissa_saves_the_trained_adapter_and_a_converted_plain_lora(base, tiny_dir, tokens, tmp_path):
    import json
    import peft
    model = prepare_tuner(base, args_for(init_weights='pissa_niter_2', lora_rank=4))
    train(model, tokens, steps=2)
    expected = logits(model, tokens)
    save_tuned_model(model, tmp_path)
    config = model.peft_config['default']
    assert (config.r, config.init_lora_weights) == (4, 'pissa_niter_2')  # the live config is left alone
    native = json.loads((tmp_path / 'adapter_config.json').read_text())
    converted = json.loads((tmp_path / 'converted' / 'default' / 'adapter_config.json').read_text())
    assert (native['r'], native['init_lora_weights']) == (4, 'pissa_niter_2')
    assert (converted['r'], converted['init_lora_weights']) == (8, True)
    # The converted copy is an ordinary LoRA for the original base: plain PEFT loads it exactly.
    by_peft = peft.PeftModel.from_pretrained(load_model(tiny_dir), str(tmp_path / 'converted' / 'default'))
    assert torch.allclose(logits(by_peft, tokens), expected, atol=1e-5, rtol=0)
    # It can be saved again (e.g. at the next checkpoint) and training goes on.
    save_tuned_model(model, tmp_path / 'again')
    train(model, tokens, steps=1)


def test_loftq_needs_a_4bit_model(base):
    with pytest.raises(SwiftError, match='--quant_bits 4'):
        prepare_tuner(base, args_for(init_weights='loftq'))


def test_lora_argument_checks(base):
    with pytest.raises(SwiftError, match='--lora_bias'):
        prepare_tuner(base, args_for(lora_bias='some'))
    with pytest.raises(SwiftError, match='--lora_rank'):
        prepare_tuner(base, args_for(lora_rank=0))


def test_rank_alpha_dropout_bias_reach_peft(base):
    model = prepare_tuner(base, args_for(lora_rank=4, lora_alpha=8, lora_dropout=0.1, lora_bias='all',
                                         use_rslora=True, target_modules=['q_proj']))
    config = model.peft_config['default']
    assert (config.r, config.lora_alpha, config.lora_dropout, config.bias, config.use_rslora) == (4, 8, 0.1, 'all',
                                                                                                   True)
    q_proj = model.base_model.model.model.layers[0].self_attn.q_proj
    assert q_proj.scaling['default'] == pytest.approx(8 / 4 ** 0.5)


# ---- LoRA+ -------------------------------------------------------------------------------------------
def test_lora_plus_param_groups(base):
    model = prepare_tuner(base, args_for(use_dora=True))
    groups = lora_plus_param_groups(model, lr=1e-4, lr_ratio=16, weight_decay=0.1)
    by_id = {id(p): g for g in groups for p in g['params']}
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert len(by_id) == len(trainable)  # every trainable parameter exactly once
    for name, param in trainable:
        group = by_id[id(param)]
        assert group['lr'] == pytest.approx(1.6e-3 if '.lora_B.' in name else 1e-4), name
        assert group['weight_decay'] == (0.1 if param.ndim >= 2 else 0.0), name
    assert sorted(round(g['lr'], 8) for g in groups) == [1e-4, 1e-4, 1.6e-3]  # B (all 2-D) needs one group
    optimizer = torch.optim.AdamW(groups, lr=1e-4)  # the groups are usable as they are
    assert len(optimizer.param_groups) == len(groups)


def test_lora_plus_without_lora_is_an_error(base):
    with pytest.raises(SwiftError, match='needs LoRA B matrices'):
        lora_plus_param_groups(prepare_tuner(base, args_for(tuner_type='full')), lr=1e-4, lr_ratio=16)
    with pytest.raises(SwiftError, match='must be positive'):
        lora_plus_param_groups(base, lr=1e-4, lr_ratio=-1)


# ---- merging -----------------------------------------------------------------------------------------
@pytest.mark.parametrize('variant', [{}, {'use_dora': True}, {'use_rslora': True}])
def test_merge_and_unload_equals_adapter_logits(variant, base, tokens):
    model = prepare_tuner(base, args_for(**variant))
    train(model, tokens, steps=3)
    adapter_logits = logits(model, tokens)
    merged = Swift.merge_and_unload(model)
    assert not any(hasattr(m, 'lora_A') for m in merged.modules())
    assert torch.allclose(logits(merged, tokens), adapter_logits, atol=1e-5, rtol=0)


# ---- several adapters ----------------------------------------------------------------------------------
def test_load_several_named_adapters(tiny_dir, tokens, tmp_path):
    saved = {}
    for name, rank in (('first', 4), ('second', 8)):
        model = prepare_tuner(load_model(tiny_dir), args_for(lora_rank=rank, target_modules=['q_proj', 'v_proj']))
        train(model, tokens, steps=2, lr=5e-2)
        save_tuned_model(model, tmp_path / name)
        saved[name] = logits(model, tokens)
    model = load_adapters(load_model(tiny_dir), [str(tmp_path / 'first'), f'extra={tmp_path / "second"}'])
    assert set(model.peft_config) == {'default', 'extra'}
    assert model.active_adapter == 'default'
    assert torch.allclose(logits(model, tokens), saved['first'], atol=1e-6)
    model.set_adapter('extra')
    assert torch.allclose(logits(model, tokens), saved['second'], atol=1e-6)


def test_load_adapters_errors(tiny_dir, tmp_path):
    full_dir = tmp_path / 'full'
    save_tuned_model(load_model(tiny_dir), full_dir)
    with pytest.raises(SwiftError, match='not an adapter directory.*pass it as --model'):
        load_adapters(load_model(tiny_dir), [str(full_dir)])
    with pytest.raises(SwiftError, match='adapter directory not found'):
        load_adapters(load_model(tiny_dir), [str(tmp_path / 'missing')])
    with pytest.raises(SwiftError, match='unique'):
        load_adapters(load_model(tiny_dir), [f'a={full_dir}', f'a={full_dir}'])


# ---- trainable tokens ---------------------------------------------------------------------------------
def test_trainable_token_indices_train_those_rows_of_the_tied_embeddings_only(base, tiny_dir, tokens, tmp_path):
    """--trainable_token_indices: the rows of added tokens (which LoRA cannot learn) train beside the adapter, in
    the input embeddings and, tied, in the output head; the other rows stay; the adapter reloads exactly."""
    trained_rows = [int(tokens[0, 3]), int(tokens[1, 5])]
    model = prepare_tuner(base, args_for(trainable_token_indices=trained_rows))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any('token_adapter' in n for n in trainable) and not any('lm_head' in n for n in trainable)
    before = load_model(tiny_dir).get_input_embeddings().weight.detach()
    train(model, tokens, steps=3)
    expected = logits(model, tokens)
    save_tuned_model(model, tmp_path)
    merged = load_adapters(load_model(tiny_dir), [str(tmp_path)]).merge_and_unload()
    assert torch.allclose(logits(merged, tokens), expected, atol=1e-5, rtol=0)
    after = merged.get_input_embeddings().weight.detach()
    changed = sorted(torch.nonzero((after != before).any(dim=1)).flatten().tolist())
    assert changed == sorted(trained_rows)
    assert torch.equal(merged.get_output_embeddings().weight, after)  # the head is still the embeddings


def test_trainable_token_indices_need_lora():
    from swift.arguments import TunerArguments
    with pytest.raises(SwiftError, match='--trainable_token_indices works with --tuner_type lora'):
        TunerArguments(tuner_type='full', trainable_token_indices=[3])
