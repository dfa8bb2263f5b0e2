"""--freeze_llm / --freeze_vit / --freeze_aligner / --vit_lr / --aligner_lr on a multimodal model, by model_arch."""
from types import SimpleNamespace

import pytest

from swift.model.loader import get_model_tokenizer
from swift.tuners import prepare_tuner
from swift.tuners.optim import lora_plus_param_groups
from swift.tuners.multimodal import part_learning_rates
from swift.utils import SwiftError

VIT, ALIGNER, LLM = 'model.vision_model.', 'model.connector.', 'model.text_model.'


def _args(**overrides):
    from swift.arguments import SftArguments
    from swift.utils.args import parse_args
    return parse_args(SftArguments, ['--model', 'm', '--dataset', 'd.jsonl'] + [
        x for k, v in overrides.items() for x in (f'--{k}', str(v))])


def _fresh(tiny_vlm_dir):
    model, _ = get_model_tokenizer(str(tiny_vlm_dir), torch_dtype='float32')
    return model


def _trainable(model):
    names = [n.replace('base_model.model.', '') for n, p in model.named_parameters() if p.requires_grad]
    return {part: [n for n in names if n.startswith(part)] for part in (VIT, ALIGNER, LLM)}


def test_lora_defaults_adapt_the_language_model_only(tiny_vlm_dir):
    trainable = _trainable(prepare_tuner(_fresh(tiny_vlm_dir), _args()))
    assert trainable[LLM] and all('lora_' in n for n in trainable[LLM])
    assert not trainable[VIT] and not trainable[ALIGNER]


def test_lora_with_the_vision_tower_and_a_fully_trained_aligner(tiny_vlm_dir):
    model = prepare_tuner(_fresh(tiny_vlm_dir), _args(freeze_vit='false', freeze_aligner='false'))
    trainable = _trainable(model)
    assert trainable[VIT] and all('lora_' in n for n in trainable[VIT])
    # the aligner trains in full beside the adapter (PEFT modules_to_save), not through LoRA
    assert trainable[ALIGNER] and all('modules_to_save' in n for n in trainable[ALIGNER])
    assert not any('lora_' in n for n in trainable[ALIGNER])


def test_lora_with_nothing_to_adapt_is_refused(tiny_vlm_dir):
    with pytest.raises(SwiftError, match='leave no linear layer for the adapter'):
        prepare_tuner(_fresh(tiny_vlm_dir), _args(freeze_llm='true'))


def test_full_training_freezes_the_parts_asked(tiny_vlm_dir):
    trainable = _trainable(prepare_tuner(_fresh(tiny_vlm_dir), _args(tuner_type='full', freeze_llm='true',
                                                                      freeze_aligner='false')))
    assert trainable[ALIGNER] and not trainable[LLM] and not trainable[VIT]
    trainable = _trainable(prepare_tuner(_fresh(tiny_vlm_dir), _args(tuner_type='full', freeze_vit='false')))
    assert trainable[VIT] and trainable[LLM] and not trainable[ALIGNER]


def test_vit_and_aligner_learning_rates_make_their_own_groups(tiny_vlm_dir):
    args = _args(tuner_type='full', freeze_vit='false', freeze_aligner='false', vit_lr=1e-5, aligner_lr=2e-4)
    model = prepare_tuner(_fresh(tiny_vlm_dir), args)
    groups = lora_plus_param_groups(model, lr=1e-3, part_lrs=part_learning_rates(model, args))
    by_id = {id(p): g['lr'] for g in groups for p in g['params']}
    rates = {part: {by_id[id(p)] for n, p in model.named_parameters() if n.startswith(part)}
             for part in (VIT, ALIGNER, LLM)}
    assert rates == {VIT: {1e-5}, ALIGNER: {2e-4}, LLM: {1e-3}}


def test_part_learning_rates_need_a_multimodal_model(tiny_model_dir):
    model, _ = get_model_tokenizer(str(tiny_model_dir), torch_dtype='float32')
    with pytest.raises(SwiftError, match='apply to multimodal models'):
        part_learning_rates(model, SimpleNamespace(vit_lr=1e-5, aligner_lr=None))
