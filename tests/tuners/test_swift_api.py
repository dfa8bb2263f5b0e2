"""The ms-swift compatible Swift API: prepare, save (PEFT format), load, merge."""
import pytest
import torch

from swift.tuners import AdaLoraConfig, BOFTConfig, IA3Config, LoRAConfig, Swift, VeraConfig
from swift.utils import SwiftError
from tests.tuners.conftest import load_model, logits, train

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::FutureWarning')


def test_lora_config_accepts_dropout_alias():
    import peft
    config = LoRAConfig(r=8, target_modules=['q_proj', 'v_proj'], lora_alpha=32, dropout=0.1)
    assert isinstance(config, peft.LoraConfig)
    assert config.lora_dropout == 0.1 and config.r == 8 and config.target_modules == {'q_proj', 'v_proj'}
    assert LoRAConfig(lora_dropout=0.2).lora_dropout == 0.2
    with pytest.raises(SwiftError, match='disagree'):
        LoRAConfig(dropout=0.1, lora_dropout=0.2)


def test_other_configs_are_peft_classes():
    import peft
    assert (AdaLoraConfig, VeraConfig, BOFTConfig, IA3Config) == (peft.AdaLoraConfig, peft.VeraConfig,
                                                                  peft.BOFTConfig, peft.IA3Config)


@pytest.mark.parametrize('by_keyword', [False, True])
def test_prepare_save_load_merge_round_trip(by_keyword, tiny_dir, tokens, tmp_path):
    import peft
    config = LoRAConfig(r=8, target_modules=['q_proj', 'v_proj'], lora_alpha=32, dropout=0.0)
    base = load_model(tiny_dir)
    model = Swift.prepare_model(base, config=config) if by_keyword else Swift.prepare_model(base, config)
    assert isinstance(model, peft.PeftModel)
    train(model, tokens, steps=3)
    expected = logits(model, tokens)

    Swift.save_pretrained(model, str(tmp_path))
    assert (tmp_path / 'adapter_config.json').is_file() and (tmp_path / 'adapter_model.safetensors').is_file()
    # the standard PEFT loader reads it ...
    by_peft = peft.PeftModel.from_pretrained(load_model(tiny_dir), str(tmp_path))
    assert torch.allclose(logits(by_peft, tokens), expected, atol=1e-6)
    # ... and so does Swift.from_pretrained
    loaded = Swift.from_pretrained(load_model(tiny_dir), str(tmp_path))
    assert torch.allclose(logits(loaded, tokens), expected, atol=1e-6)

    merged = Swift.merge_and_unload(loaded)
    assert not isinstance(merged, peft.PeftModel)
    assert torch.allclose(logits(merged, tokens), expected, atol=1e-5)


def test_prepare_with_several_named_configs(base):
    model = Swift.prepare_model(base, {'a': LoRAConfig(r=2, target_modules=['q_proj']),
                                       'b': LoRAConfig(r=4, target_modules=['v_proj'])})
    assert set(model.peft_config) == {'a', 'b'}
    assert model.peft_config['b'].r == 4


def test_mixing_adapter_types_is_a_swift_error(base):
    with pytest.raises(SwiftError, match='different peft types'):
        Swift.prepare_model(base, {'a': LoRAConfig(r=2, target_modules=['q_proj']),
                                   'b': IA3Config(target_modules=['k_proj', 'down_proj'],
                                                  feedforward_modules=['down_proj'])})


def test_from_pretrained_adds_to_an_existing_peft_model(base, tiny_dir, tmp_path):
    model = Swift.prepare_model(base, LoRAConfig(r=2, target_modules=['q_proj']))
    Swift.save_pretrained(model, str(tmp_path))
    again = Swift.from_pretrained(model, str(tmp_path), adapter_name='second')
    assert again is model and set(model.peft_config) == {'default', 'second'}


def test_prepare_needs_a_peft_config(base):
    with pytest.raises(SwiftError, match='needs a PEFT config'):
        Swift.prepare_model(base, {'r': 8})


def test_swift_is_reexported_from_the_package():
    import swift.tuners as tuners
    assert tuners.Swift is Swift and 'LoRAConfig' in tuners.__all__
