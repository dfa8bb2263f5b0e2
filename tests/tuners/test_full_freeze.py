"""full / freeze: which parameters train."""
import pytest

from swift.tuners import count_parameters, log_trainable_parameters, prepare_tuner
from swift.tuners.full import freeze_bottom_ratio
from swift.utils import SwiftError
from tests.tuners.conftest import args_for


def trainable_names(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_full_trains_everything(base):
    model = prepare_tuner(base, args_for(tuner_type='full'))
    trainable, total = count_parameters(model)
    assert trainable == total == sum(p.numel() for p in base.parameters())


@pytest.mark.parametrize('ratio', [0.25, 0.5, 0.9])
def test_freeze_ratio_freezes_bottom_parameters_within_budget(base, ratio):
    params = list(base.named_parameters())
    total = sum(p.numel() for _, p in params)
    model = prepare_tuner(base, args_for(tuner_type='freeze', freeze_parameters_ratio=ratio))
    frozen = [(n, p) for n, p in params if not p.requires_grad]
    frozen_count = sum(p.numel() for _, p in frozen)
    # A prefix of the parameters (registration order: embeddings first) ...
    assert [n for n, _ in frozen] == [n for n, _ in params[:len(frozen)]]
    # ... as long as fits into the ratio, and one more parameter would not fit.
    assert frozen_count <= ratio * total
    assert frozen_count + params[len(frozen)][1].numel() > int(ratio * total)
    trainable, all_count = count_parameters(model)
    assert trainable == total - frozen_count and all_count == total


def test_freeze_ratio_bounds(base):
    with pytest.raises(SwiftError, match='between 0 and 1'):
        freeze_bottom_ratio(base, 1.5)


def test_freeze_prefixes_and_trainable_parameters_win(base):
    args = args_for(tuner_type='full', freeze_parameters=['model.layers', 'model.embed_tokens'],
                    trainable_parameters=['model.layers.1.mlp'])
    model = prepare_tuner(base, args)
    assert trainable_names(model) == {'model.layers.1.mlp.gate_proj.weight', 'model.layers.1.mlp.up_proj.weight',
                                      'model.layers.1.mlp.down_proj.weight', 'model.norm.weight'}
    expected = sum(p.numel() for n, p in model.named_parameters() if n in trainable_names(model))
    assert count_parameters(model)[0] == expected
    line = log_trainable_parameters(model)
    assert f'{expected:,}' in line and '%' in line


def test_freeze_ratio_then_trainable_parameters(base):
    model = prepare_tuner(base, args_for(tuner_type='freeze', freeze_parameters_ratio=1.0,
                                         trainable_parameters=['model.norm']))
    assert trainable_names(model) == {'model.norm.weight'}


def test_tied_lm_head_prefix_freezes_the_shared_embedding(base):
    assert base.lm_head.weight is base.model.embed_tokens.weight  # the fixture ties them
    model = prepare_tuner(base, args_for(tuner_type='freeze', freeze_parameters=['lm_head']))
    assert not model.model.embed_tokens.weight.requires_grad


def test_unknown_prefix_is_an_error_with_suggestion(base):
    with pytest.raises(SwiftError, match=r"'model.layer' matches no parameter.*Did you mean: model.layers"):
        prepare_tuner(base, args_for(tuner_type='freeze', freeze_parameters=['model.layer']))


def test_freeze_needs_something_to_freeze(base):
    with pytest.raises(SwiftError, match='--tuner_type freeze needs'):
        prepare_tuner(base, args_for(tuner_type='freeze'))


def test_everything_frozen_is_an_error(base):
    with pytest.raises(SwiftError, match='every parameter is frozen'):
        prepare_tuner(base, args_for(tuner_type='freeze', freeze_parameters_ratio=1.0))
