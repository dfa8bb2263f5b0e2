"""AdaLoRA needs the optimizer-step hook to budget ranks; its schedule needs a step count."""
from types import SimpleNamespace

import pytest

from swift.tuners import prepare_tuner, tuner_callback
from swift.utils import SwiftError
from tests.tuners.conftest import args_for, train

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::FutureWarning')


def test_trainer_callback_budgets_ranks(base, tokens):
    args = args_for(tuner_type='adalora', adalora_total_step=6, adalora_init_r=4, adalora_target_r=1,
                    adalora_tinit=1, adalora_tfinal=1)
    model = prepare_tuner(base, args)
    assert not model.peft_config['default'].rank_pattern
    callback = tuner_callback()

    def hook(model, step):
        callback.on_optimizer_step(None, SimpleNamespace(global_step=step), None, model=model)

    train(model, tokens, steps=6, step_hook=hook)
    ranks = model.peft_config['default'].rank_pattern
    assert ranks, 'the callback never reached update_and_allocate'
    kept = sum(sum(mask) for mask in ranks.values())
    assert kept < 4 * len(ranks)  # ranks were pruned toward adalora_target_r


def test_total_step_from_max_steps_or_error(base):
    args = args_for(tuner_type='adalora')
    with pytest.raises(SwiftError, match='--adalora_total_step'):
        prepare_tuner(base, args)
    model = prepare_tuner(base, SimpleNamespace(**vars(args), max_steps=50))
    assert model.peft_config['default'].total_step == 50


def test_schedule_without_budgeting_phase_is_an_error(base):
    with pytest.raises(SwiftError, match='no budgeting phase'):
        prepare_tuner(base, args_for(tuner_type='adalora', adalora_total_step=10, adalora_tinit=8,
                                     adalora_tfinal=2))
