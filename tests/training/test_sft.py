"""`swift sft` on a tiny model: output layout, loadable checkpoints, resume, atomic saves, invariants."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

from swift.training.sft import sft_main
from tests.conftest import REPO

ROWS = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'},
                      {'role': 'assistant', 'content': f'{i} plus {i} is {2 * i}.'}]} for i in range(16)]


@pytest.fixture()
def data_file(tmp_path):
    path = tmp_path / 'train.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in ROWS))
    return path


def common_args(tiny_model_dir, data_file, out, **extra):
    args = dict(model=str(tiny_model_dir), template='smollm2', dataset=[str(data_file)], output_dir=str(out),
                max_steps=4, save_steps=2, logging_steps=1, per_device_train_batch_size=2, learning_rate=1e-3,
                lora_dropout=0.0, report_to=['tensorboard'], seed=1)
    args.update(extra)
    return args


def test_output_layout_and_loadable_adapter(tiny_model_dir, data_file, tmp_path):
    result = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'out'))
    run = Path(result.output_dir)
    assert run.parent == tmp_path / 'out' and run.name.startswith('v0-')
    assert (run / 'args.json').is_file()
    records = [json.loads(line) for line in (run / 'logging.jsonl').read_text().splitlines()]
    step_records = [r for r in records if 'loss' in r]
    assert [r['global_step'] for r in step_records] == [1, 2, 3, 4]
    for key in ('loss', 'token_acc', 'grad_norm', 'learning_rate', 'memory_gib', 'train_tokens_per_second', 'eta_s'):
        assert key in step_records[-1], key
    assert (run / 'images' / 'loss.png').is_file() and (run / 'images' / 'learning_rate.png').is_file()
    assert any((run / 'runs').rglob('events.out.tfevents.*'))
    checkpoint = run / 'checkpoint-4'
    assert Path(result.last_checkpoint) == checkpoint
    for name in ('adapter_config.json', 'adapter_model.safetensors', 'args.json', 'tokenizer.json',
                 'optimizer.pt', 'trainer_state.json'):
        assert (checkpoint / name).is_file(), name
    saved = json.loads((checkpoint / 'args.json').read_text())
    assert saved['model'] == str(tiny_model_dir) and saved['template'] == 'smollm2'
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)), str(checkpoint))
    assert any('lora_A' in n for n, _ in model.named_parameters())
    assert not list(run.glob('.checkpoint-staging*'))


KILL_SCRIPT = textwrap.dedent('''
    import json, os, sys
    sys.path.insert(0, {repo!r})
    from transformers import TrainerCallback
    from swift.training.sft import sft_main

    class KillAfterSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == 3:
                os._exit(17)  # killed right after checkpoint-3 was written

    sft_main(json.loads(sys.argv[1]), callbacks=[KillAfterSave()])
''')


def _losses(run_dir):
    records = [json.loads(line) for line in (Path(run_dir) / 'logging.jsonl').read_text().splitlines()]
    return {r['global_step']: r['loss'] for r in records if 'loss' in r}


def test_resume_after_kill_matches_uninterrupted_run(tiny_model_dir, data_file, tmp_path):
    extra = dict(max_steps=6, save_steps=3, add_version=False, report_to=['none'])
    full = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'full', **extra))

    killed_args = common_args(tiny_model_dir, data_file, tmp_path / 'killed', **extra)
    script = tmp_path / 'kill.py'
    script.write_text(KILL_SCRIPT.format(repo=str(REPO)))
    done = subprocess.run([sys.executable, str(script), json.dumps(killed_args)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 17, done.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / 'killed').glob('checkpoint-*')) == ['checkpoint-3']

    resumed = sft_main({**killed_args, 'resume_from_checkpoint': str(tmp_path / 'killed' / 'checkpoint-3')})
    expected, got = _losses(full.output_dir), _losses(resumed.output_dir)
    assert sorted(got) == [1, 2, 3, 4, 5, 6]
    for step in expected:
        assert got[step] == pytest.approx(expected[step], abs=1e-6), step
    _resume_only_model(tiny_model_dir, data_file, tmp_path, full, extra)


class _OptimizerAtStart(TrainerCallback):
    def on_train_begin(self, args, state, control, optimizer=None, **kwargs):
        self.step, self.optimizer_state = state.global_step, len(getattr(optimizer, 'state', {}) or {})


def _resume_only_model(tiny_model_dir, data_file, tmp_path, full, extra):
    """--resume_only_model (ms-swift's): checkpoint-3's weights and data position, a new optimizer and schedule;
    with --ignore_data_skip a new run from step 0 on those weights."""
    expected = _losses(full.output_dir)
    checkpoint = str(Path(full.output_dir) / 'checkpoint-3')
    start = _OptimizerAtStart()
    weights_only = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'full', **{**extra, 'max_steps': 4},
                                        resume_from_checkpoint=checkpoint, resume_only_model=True), callbacks=[start])
    assert (start.step, start.optimizer_state) == (3, 0)  # the step count goes on, the optimizer is a new one
    assert _losses(weights_only.output_dir)[4] == pytest.approx(expected[4], abs=1e-6)  # the same weights and batch
    start = _OptimizerAtStart()
    fresh = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'fresh', **{**extra, 'max_steps': 1},
                                 resume_from_checkpoint=checkpoint, resume_only_model=True, ignore_data_skip=True),
                     callbacks=[start])
    assert Path(fresh.output_dir) == tmp_path / 'fresh' and (start.step, start.optimizer_state) == (0, 0)
    assert _losses(fresh.output_dir)[1] != pytest.approx(expected[1], abs=1e-4)  # step 1's batch on trained weights


def test_crash_while_saving_leaves_no_complete_looking_checkpoint(tiny_model_dir, data_file, tmp_path,
                                                                  monkeypatch):
    from swift.training.trainer import SwiftTrainer

    def crash(self, output_dir):
        raise RuntimeError('killed while saving')

    monkeypatch.setattr(SwiftTrainer, '_save_rng_state', crash)
    with pytest.raises(RuntimeError, match='killed while saving'):
        sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'out', add_version=False))
    assert not list((tmp_path / 'out').glob('checkpoint-*'))


def test_batch_times_accumulation_invariant(tiny_model_dir, data_file, tmp_path):
    """batch 4 × accumulation 1 trains the same weights as batch 1 × accumulation 4 (full fine-tuning)."""
    base = dict(max_steps=2, save_steps=100, tuner_type='full', learning_rate=1e-3, add_version=False,
                report_to=['none'], weight_decay=0.0, warmup_ratio=0.0)
    a = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'a', per_device_train_batch_size=4,
                             gradient_accumulation_steps=1, **base))
    b = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'b', per_device_train_batch_size=1,
                             gradient_accumulation_steps=4, **base))
    from safetensors.torch import load_file
    wa = load_file(str(Path(a.last_checkpoint) / 'model.safetensors'))
    wb = load_file(str(Path(b.last_checkpoint) / 'model.safetensors'))
    assert wa.keys() == wb.keys()
    for name in wa:
        torch.testing.assert_close(wa[name], wb[name], atol=2e-5, rtol=1e-4, msg=name)
    la, lb = _losses(a.output_dir), _losses(b.output_dir)
    for step in la:
        assert la[step] == pytest.approx(lb[step], rel=1e-4)
