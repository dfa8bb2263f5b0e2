"""The reference model: LoRA's base with the adapter off (no copy), --ref_adapters, full fine-tuning, precompute."""
import json

import pytest
import torch

from swift.arguments import RLHFArguments
from swift.utils.args import parse_args

from .test_tiny_runs import PAIRS, run


def _trainer(tiny_model_dir, tmp_path, **extra):
    from swift.training.rlhf.data import PairCollator
    from swift.training.rlhf.preference import PreferenceTrainer
    from swift.training.rlhf.workflow import encode_items, load_policy, load_reference, prepare_policy
    from swift.training.runner import TrainingRun
    options = dict(rlhf_type='dpo', model=str(tiny_model_dir), template='smollm2', dataset=['unused'],
                   report_to=['none'], lora_dropout=0.0, per_device_eval_batch_size=4)
    options.update(extra)
    args = parse_args(RLHFArguments, options)
    run = TrainingRun(args, tmp_path)
    model, tokenizer = load_policy(run)
    template = run.template(model, tokenizer)
    items = encode_items(args, template, PAIRS[:4])
    model = prepare_policy(model, args)
    with torch.no_grad():  # make the trained adapter change the output
        for name, param in model.named_parameters():
            if 'lora_B' in name:
                param.normal_(0, 0.05)
    trainer = PreferenceTrainer(model=model, args=run.training_arguments(has_eval=False), train_dataset=items,
                                data_collator=PairCollator(tokenizer.pad_token_id), processing_class=tokenizer,
                                rlhf_args=args, ref_model=load_reference(args, model))
    return trainer, trainer.data_collator(items)


def _logps(model, batch):
    from swift.training.rlhf.base import sequence_logps
    with torch.no_grad():
        per_token, _, _ = sequence_logps(model, batch['input_ids'], batch['attention_mask'], batch['labels'])
    return per_token.sum(-1)


def _base_model(tiny_model_dir):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)).eval()


def test_lora_reference_is_the_base_with_the_adapter_off(tiny_model_dir, tmp_path):
    trainer, batch = _trainer(tiny_model_dir, tmp_path)
    assert trainer.ref_model is None  # no second model in memory
    with trainer.reference() as ref:
        assert ref is trainer.model
        reference = _logps(ref, batch)
    policy = _logps(trainer.model, batch)
    torch.testing.assert_close(reference, _logps(_base_model(tiny_model_dir), batch), atol=1e-5, rtol=0)
    assert (policy - reference).abs().max() > 1e-3  # the adapter is really on outside the context
    ref_chosen, ref_rejected = trainer.reference_logps(batch)
    torch.testing.assert_close(torch.cat([ref_chosen, ref_rejected]), reference)


def test_ref_adapters_with_lora_load_beside_the_trained_adapter(tiny_model_dir, tmp_path):
    from peft import PeftModel
    ref_dir = tmp_path / 'ref-adapter'
    donor, batch = _trainer(tiny_model_dir, tmp_path / 'donor')
    donor.model.save_pretrained(str(ref_dir))
    trainer, batch = _trainer(tiny_model_dir, tmp_path / 'run', ref_adapters=[str(ref_dir)])
    assert trainer.ref_model is None
    trainable = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    with trainer.reference() as ref:
        reference = _logps(ref, batch)
    assert {n for n, p in trainer.model.named_parameters() if p.requires_grad} == trainable  # adapter restored
    assert trainer.model.active_adapter == 'default'
    expected = _logps(PeftModel.from_pretrained(_base_model(tiny_model_dir), str(ref_dir)).eval(), batch)
    torch.testing.assert_close(reference, expected, atol=1e-5, rtol=0)


def test_full_training_loads_a_separate_frozen_reference(tiny_model_dir, tmp_path):
    trainer, batch = _trainer(tiny_model_dir, tmp_path, tuner_type='full')
    assert trainer.ref_model is not None and trainer.ref_model is not trainer.model
    assert not any(p.requires_grad for p in trainer.ref_model.parameters())
    torch.testing.assert_close(_logps(trainer.ref_model, batch), _logps(_base_model(tiny_model_dir), batch),
                               atol=1e-5, rtol=0)


def test_precomputed_reference_equals_the_live_one_and_frees_the_model(tiny_model_dir, tmp_path):
    trainer, batch = _trainer(tiny_model_dir, tmp_path, tuner_type='full')
    live = torch.cat(trainer.reference_logps(batch))
    items = trainer.train_dataset
    trainer.precompute_reference(items)
    trainer.free_reference()
    assert trainer.ref_model is None
    precomputed = trainer.data_collator(items)
    assert 'ref_chosen_logps' in precomputed
    torch.testing.assert_close(torch.cat(trainer.reference_logps(precomputed)), live, atol=1e-4, rtol=0)


@pytest.mark.parametrize('rlhf_type', ['dpo', 'kto'])
def test_full_training_with_precomputed_reference_runs(tiny_model_dir, tmp_path, rlhf_type):
    result = run(tiny_model_dir, tmp_path / 'out', rlhf_type, PAIRS, tuner_type='full', precompute_ref_log_probs=True,
                 learning_rate=1e-4, max_steps=1)
    assert (tmp_path / 'out' / 'checkpoint-1' / 'model.safetensors').is_file()
    saved = json.loads((tmp_path / 'out' / 'checkpoint-1' / 'args.json').read_text())
    assert saved['precompute_ref_log_probs'] is True
    assert result.metrics['train_loss'] > 0


def test_reference_free_needs_no_reference(tiny_model_dir, tmp_path):
    trainer, batch = _trainer(tiny_model_dir, tmp_path, tuner_type='full', reference_free=True)
    assert trainer.ref_model is None
    chosen, rejected = trainer.reference_logps(batch)
    assert chosen.abs().sum() == 0 and rejected.abs().sum() == 0
