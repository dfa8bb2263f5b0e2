"""The Python API: the names users import from `swift`, and that they run what the CLI runs."""
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import swift
from tests.conftest import REPO

ROWS = [{'messages': [{'role': 'user', 'content': f'Say {w}.'}, {'role': 'assistant', 'content': w}]}
        for w in ('apple', 'river', 'cloud', 'stone', 'light', 'green', 'north', 'sugar')]


def test_import_swift_is_lazy():
    code = 'import sys, swift; assert "torch" not in sys.modules; print(swift.__version__)'
    done = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_public_names():
    from swift import LoRAConfig, SftArguments, Swift, prepare_model, sft_main, train  # noqa: F401
    config = LoRAConfig(r=8, target_modules=['q_proj', 'v_proj'], lora_alpha=32, dropout=0.1)
    assert config.lora_dropout == 0.1 and config.r == 8
    assert callable(train) and callable(swift.train)
    from swift import InferRequest, PtEngine, RequestConfig, TransformersEngine
    from swift.infer.protocol import InferRequest as protocol_request
    assert swift.TransformersEngine is swift.PtEngine is TransformersEngine
    assert InferRequest is protocol_request and RequestConfig(max_tokens=3).max_tokens == 3
    from swift import DPOConfig, RLHFArguments, Trainer, rlhf_main, train_dpo, train_rm
    from swift import api, arguments
    from swift.training.rlhf import workflow
    assert (Trainer, DPOConfig, train_dpo, train_rm) == (api.Trainer, api.DPOConfig, api.train_dpo, api.train_rm)
    assert rlhf_main is workflow.rlhf_main and RLHFArguments is arguments.RLHFArguments
    assert DPOConfig(beta=0.2).to_kwargs()['loss_type'] == ['sigmoid']
    for name in ('train_orpo', 'train_simpo', 'train_cpo', 'train_kto', 'train_ppo', 'train_grpo', 'train_gkd'):
        assert getattr(swift, name) is getattr(api, name)
    # the training package is swift.training: importing it leaves `swift.train` the function
    importlib.import_module('swift.training.sft')
    from swift import train as train_again
    assert swift.train is train_again is api.train
    for name in ('sft_main', 'pt_main', 'rlhf_main', 'infer_main', 'deploy_main', 'eval_main', 'export_main'):
        assert callable(getattr(swift, name)), name


def test_prepare_model_and_swift_prepare(tiny_model_dir):
    from swift import LoRAConfig, Swift
    model, tokenizer = swift.prepare_model(str(tiny_model_dir))
    assert tokenizer.eos_token == '<|im_end|>'
    peft_model = Swift.prepare_model(model, config=LoRAConfig(r=4, target_modules=['q_proj', 'v_proj']))
    assert any(p.requires_grad for n, p in peft_model.named_parameters() if 'lora_' in n)


def _losses(result):
    lines = (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()
    return [json.loads(l)['loss'] for l in lines if '"loss"' in l]


def test_train_with_a_list_of_dicts_and_sft_main_forms_agree(tiny_model_dir, tmp_path):
    common = dict(template='smollm2', max_steps=2, logging_steps=1, save_steps=10, report_to=['none'],
                  add_version=False, lora_dropout=0.0, learning_rate=1e-3, per_device_train_batch_size=2)
    via_train = swift.train(model=str(tiny_model_dir), dataset=ROWS, output_dir=str(tmp_path / 'a'), **common)
    assert Path(via_train.last_checkpoint).name == 'checkpoint-2'

    data = tmp_path / 'rows.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in ROWS))
    from swift import SftArguments, sft_main
    via_dataclass = sft_main(SftArguments(model=str(tiny_model_dir), dataset=[str(data)],
                                          output_dir=str(tmp_path / 'b'), **common))
    argv = ['--model', str(tiny_model_dir), '--dataset', str(data), '--output_dir', str(tmp_path / 'c')]
    for key, value in common.items():
        argv += [f'--{key}'] + ([str(v) for v in value] if isinstance(value, list) else [str(value)])
    via_argv = sft_main(argv)
    losses = _losses(via_train)
    assert len(losses) == 2
    assert _losses(via_dataclass) == pytest.approx(losses)
    assert _losses(via_argv) == pytest.approx(losses)


def test_load_handle_infers_and_trains(tiny_model_dir, tmp_path):
    handle = swift.load(str(tiny_model_dir), template='smollm2')
    reply = handle.infer('hello', max_new_tokens=4)
    assert isinstance(reply, str)
    result = handle.train(ROWS, max_steps=1, report_to=['none'], output_dir=str(tmp_path / 'a'), add_version=False)
    saved = json.loads((Path(result.last_checkpoint) / 'args.json').read_text())
    assert saved['template'] == 'smollm2'  # the handle's load options carry over to training
    # A handle with adapters trains those adapters further: the new checkpoint starts from them.
    further = swift.load(str(tiny_model_dir), adapters=[result.last_checkpoint], template='smollm2').train(
        ROWS, max_steps=1, learning_rate=0.0, report_to=['none'], output_dir=str(tmp_path / 'b'), add_version=False)
    from safetensors.torch import load_file
    before = load_file(str(Path(result.last_checkpoint) / 'adapter_model.safetensors'))
    after = load_file(str(Path(further.last_checkpoint) / 'adapter_model.safetensors'))
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_train_takes_a_module_prepared_with_swift_and_trains_its_adapter(tiny_model_dir, tmp_path):
    from swift import LoRAConfig, Swift
    model, tokenizer = swift.prepare_model(str(tiny_model_dir))
    model = Swift.prepare_model(model, LoRAConfig(r=4, target_modules=['q_proj', 'v_proj']))
    result = swift.train(model=model, tokenizer=tokenizer, dataset=ROWS, template='smollm2', max_steps=1,
                         report_to=['none'], output_dir=str(tmp_path), add_version=False)
    config = json.loads((Path(result.last_checkpoint) / 'adapter_config.json').read_text())
    assert config['r'] == 4 and sorted(config['target_modules']) == ['q_proj', 'v_proj']


def test_use_qlora_trains_a_4bit_model(tiny_model_dir, tmp_path):
    result = swift.train(model=str(tiny_model_dir), dataset=ROWS, template='smollm2', use_qlora=True, max_steps=1,
                         report_to=['none'], output_dir=str(tmp_path), add_version=False)
    saved = json.loads((Path(result.last_checkpoint) / 'args.json').read_text())
    assert saved['quant_method'] == 'bnb' and saved['quant_bits'] == 4
    assert (Path(result.last_checkpoint) / 'adapter_model.safetensors').is_file()


# ---------------------------------------------------------------- the seeds' snippets, as they are written


def _adapter_weights(checkpoint):
    from safetensors.torch import load_file
    return load_file(str(Path(checkpoint) / 'adapter_model.safetensors'))


@pytest.mark.parametrize('load_in_4bit', [False, True], ids=['prepared-in-full-precision', 'prepared-in-4bit'])
def test_the_seeds_qlora_snippet(tiny_model_dir, tmp_path, monkeypatch, load_in_4bit):
    """prepare_model → Swift.prepare_model → train(..., use_qlora=True), no tokenizer=: the module carries its
    tokenizer, and its LoRA trains on a 4-bit base (loaded again in 4-bit when prepare_model loaded it in full)."""
    monkeypatch.chdir(tmp_path)
    from swift import LoRAConfig, Swift, prepare_model, train
    model, tokenizer = prepare_model(str(tiny_model_dir), **({'use_qlora': True} if load_in_4bit else {}))
    lora_config = LoRAConfig(r=8, target_modules=['q_proj', 'v_proj'], lora_alpha=32, dropout=0.1)
    model = Swift.prepare_model(model, config=lora_config)
    result = train(model=model, dataset=ROWS, num_train_epochs=3, per_device_train_batch_size=4, use_qlora=True,
                   output_dir='output', template='smollm2', max_steps=2, report_to=['none'], add_version=False)
    checkpoint = Path(result.last_checkpoint)
    saved = json.loads((checkpoint / 'args.json').read_text())
    assert (saved['quant_method'], saved['quant_bits']) == ('bnb', 4) and saved['num_train_epochs'] == 3
    assert saved['model'] == str(tiny_model_dir) and saved['per_device_train_batch_size'] == 4
    config = json.loads((checkpoint / 'adapter_config.json').read_text())
    assert config['r'] == 8 and config['lora_dropout'] == 0.1
    assert sorted(config['target_modules']) == ['q_proj', 'v_proj']
    assert any(v.abs().max() > 0 for k, v in _adapter_weights(checkpoint).items() if 'lora_B' in k)  # it trained


def test_the_seeds_trainer_with_a_dpo_config(tiny_model_dir, tmp_path):
    from swift import DPOConfig, Trainer
    pairs = [{'messages': [{'role': 'user', 'content': f'Say {w}.'}, {'role': 'assistant', 'content': w}],
              'rejected_response': w.upper()} for w in ('apple', 'river', 'cloud', 'stone')]
    trainer = Trainer(str(tiny_model_dir), pairs, dpo_config=DPOConfig(beta=0.1, loss_type='sigmoid'),
                      template='smollm2', max_steps=1, report_to=['none'], output_dir=str(tmp_path),
                      add_version=False)
    result = trainer.train()
    saved = json.loads((Path(result.last_checkpoint) / 'args.json').read_text())
    assert saved['rlhf_type'] == 'dpo' and saved['beta'] == 0.1 and saved['loss_type'] == ['sigmoid']


def test_load_takes_one_adapter_path_as_a_string(tiny_model_dir, tmp_path, shared_data):
    first = swift.train(model=str(tiny_model_dir), dataset=ROWS, template='smollm2', max_steps=1,
                        report_to=['none'], output_dir=str(tmp_path / 'a'), add_version=False)
    handle = swift.load(str(tiny_model_dir), adapters=first.last_checkpoint, template='smollm2')
    assert handle.adapters == [first.last_checkpoint]
    assert isinstance(handle.infer('Say apple.', max_new_tokens=3), str)
    assert handle.engine.adapters == ['default']  # the checkpoint is loaded, not split into characters
    scores = handle.evaluate('arc_e', limit=2, dataset_dir=str(shared_data))
    assert scores['arc_e']['n'] == 2
    further = handle.train(ROWS, max_steps=1, learning_rate=0.0, report_to=['none'], output_dir=str(tmp_path / 'b'),
                           add_version=False)
    before, after = _adapter_weights(first.last_checkpoint), _adapter_weights(further.last_checkpoint)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_keywords_mean_what_the_flags_mean():
    """max_epochs is ms-swift's stop-after-N-passes flag in Python as on the command line; the friendly names map."""
    from swift.api import _flags
    assert _flags({'max_epochs': 1, 'epochs': 3, 'lr': 1e-4, 'batch_size': 2}) == {
        'max_epochs': 1, 'num_train_epochs': 3, 'learning_rate': 1e-4, 'per_device_train_batch_size': 2}
