"""Every tuner: prepare, train a few steps, save, reload onto a fresh base, same logits."""
import pytest
import torch

from swift.tuners import on_optimizer_step, prepare_tuner, save_tuned_model, load_adapters
from tests.tuners.conftest import args_for, load_model, logits, train, trainable_snapshot

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::FutureWarning', 'ignore::RuntimeWarning')

CASES = {
    'full': dict(tuner_type='full'),
    'freeze': dict(tuner_type='freeze', freeze_parameters_ratio=0.5),
    'lora': dict(tuner_type='lora'),
    'dora': dict(tuner_type='lora', use_dora=True),
    'rslora': dict(tuner_type='lora', use_rslora=True),
    'lora-gaussian': dict(tuner_type='lora', init_weights='gaussian'),
    'lora-modules_to_save': dict(tuner_type='lora', target_modules=['q_proj', 'v_proj'], modules_to_save=['norm']),
    'pissa': dict(tuner_type='lora', init_weights='pissa'),
    'pissa_niter': dict(tuner_type='lora', init_weights='pissa_niter_4'),
    'olora': dict(tuner_type='lora', init_weights='olora'),
    'adalora': dict(tuner_type='adalora', adalora_total_step=20, adalora_init_r=4, adalora_target_r=2,
                    adalora_tinit=1, adalora_tfinal=2),
    'vera': dict(tuner_type='vera', vera_rank=16),
    'boft': dict(tuner_type='boft', boft_block_size=4),
    'ia3': dict(tuner_type='ia3'),
    'llamapro': dict(tuner_type='llamapro', llamapro_num_new_blocks=2),
}
ADAPTER_TUNERS = {'lora', 'adalora', 'vera', 'boft', 'ia3'}
# PiSSA / OLoRA move weight between base and adapter; the converted adapter is exact up to float rounding.
ATOL = {'pissa': 1e-5, 'pissa_niter': 1e-5, 'olora': 1e-5}


@pytest.mark.parametrize('case', list(CASES))
def test_train_save_reload(case, tiny_dir, tokens, tmp_path):
    args = args_for(**CASES[case])
    base_logits = logits(load_model(tiny_dir), tokens)
    torch.manual_seed(0)  # the adapters' random init: the same whatever ran before on this worker
    model = prepare_tuner(load_model(tiny_dir), args)
    before = trainable_snapshot(model)
    assert before, 'nothing to train'

    losses = train(model, tokens, steps=4, step_hook=on_optimizer_step)

    assert losses[-1] < losses[0], losses
    after = dict(model.named_parameters())
    assert any(not torch.equal(before[n], after[n]) for n in before), 'no trainable parameter changed'
    trained_logits = logits(model, tokens)
    assert not torch.allclose(trained_logits, base_logits, atol=1e-4), 'training did not change the outputs'

    out = tmp_path / 'out'
    save_tuned_model(model, out)
    if args.tuner_type in ADAPTER_TUNERS:
        assert (out / 'adapter_config.json').is_file() and (out / 'adapter_model.safetensors').is_file()
        reloaded = load_adapters(load_model(tiny_dir), [str(out)])
    else:
        assert (out / 'config.json').is_file() and list(out.glob('*.safetensors'))
        reloaded = load_model(out)
    reloaded_logits = logits(reloaded, tokens)
    atol = ATOL.get(case, 1e-6)
    assert torch.allclose(reloaded_logits, trained_logits, atol=atol, rtol=0), \
        (reloaded_logits - trained_logits).abs().max()
