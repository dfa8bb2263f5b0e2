"""The Python API: Trainer + DPOConfig, train_dpo / train_rm / ..., with IDs, paths, modules and lists of dicts."""
import json
from pathlib import Path

import pytest

from swift.api import DPOConfig, Trainer, train_dpo, train_kto, train_rm
from swift.arguments import RLHFArguments
from swift.training.rlhf import rlhf_main

from .test_tiny_runs import PAIRS

COMMON = dict(template='smollm2', add_version=False, report_to=['none'], lora_dropout=0.0, save_steps=100)


def test_trainer_with_dpo_config_on_a_list_of_dicts(tiny_model_dir, tmp_path):
    trainer = Trainer(model=str(tiny_model_dir), train_dataset=PAIRS,
                      dpo_config=DPOConfig(beta=0.2, loss_type=['sigmoid', 'hinge'], loss_weights=[1.0, 0.5]),
                      output_dir=str(tmp_path / 'out'), max_steps=1, batch_size=2, **COMMON)
    result = trainer.train()
    saved = json.loads((Path(result.last_checkpoint) / 'args.json').read_text())
    assert saved['rlhf_type'] == 'dpo' and saved['beta'] == 0.2 and saved['loss_type'] == ['sigmoid', 'hinge']
    assert saved['per_device_train_batch_size'] == 2


def test_trainer_takes_a_module_prepared_with_swift(tiny_model_dir, tmp_path):
    from swift.model.loader import get_model_tokenizer
    from swift.tuners import LoRAConfig, Swift
    model, tokenizer = get_model_tokenizer(str(tiny_model_dir))
    model = Swift.prepare_model(model, LoRAConfig(r=4, target_modules=['q_proj', 'v_proj']))
    result = Trainer(model=model, tokenizer=tokenizer, train_dataset=PAIRS, dpo_config=DPOConfig(),
                     output_dir=str(tmp_path / 'out'), max_steps=1, **COMMON).train()
    config = json.loads((Path(result.last_checkpoint) / 'adapter_config.json').read_text())
    assert config['r'] == 4 and sorted(config['target_modules']) == ['q_proj', 'v_proj']


def test_train_functions_and_a_dataset_file(tiny_model_dir, tmp_path):
    path = tmp_path / 'pairs.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in PAIRS))
    dpo = train_dpo(model=str(tiny_model_dir), ref_model=str(tiny_model_dir), dataset=str(path), beta=0.1,
                    num_train_epochs=1, batch_size=4, output_dir=str(tmp_path / 'dpo'), **COMMON)
    assert Path(dpo.last_checkpoint).name == 'checkpoint-2'  # 8 pairs, batch 4, one epoch
    rm = train_rm(model=str(tiny_model_dir), dataset=PAIRS, max_steps=1, output_dir=str(tmp_path / 'rm'), **COMMON)
    assert json.loads((Path(rm.last_checkpoint) / 'args.json').read_text())['rlhf_type'] == 'rm'
    kto = train_kto(model=str(tiny_model_dir), dataset=PAIRS, max_steps=1, output_dir=str(tmp_path / 'kto'),
                    **COMMON)
    assert Path(kto.last_checkpoint).is_dir()


def test_rlhf_main_takes_arguments_objects(tiny_model_dir, tmp_path):
    path = tmp_path / 'pairs.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in PAIRS))
    args = RLHFArguments(rlhf_type='simpo', model=str(tiny_model_dir), dataset=[str(path)], max_steps=1,
                         output_dir=str(tmp_path / 'out'), **COMMON)
    assert Path(rlhf_main(args).last_checkpoint).is_dir()


def test_trainer_rejects_conflicting_algorithms(tiny_model_dir):
    from swift.utils import SwiftError
    with pytest.raises(SwiftError, match='pass one of them'):
        Trainer(model=str(tiny_model_dir), train_dataset=PAIRS, dpo_config=DPOConfig(), rlhf_type='kto')
