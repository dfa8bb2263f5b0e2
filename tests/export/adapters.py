"""Real adapter checkpoints for tests: `swift sft` on the tiny model for a couple of steps."""
import json
from pathlib import Path

ROWS = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'},
                      {'role': 'assistant', 'content': f'{i} plus {i} is {2 * i}.'}]} for i in range(8)]


def train_adapter(model_dir: Path, out: Path, **tuner) -> Path:
    """The checkpoint directory of a 2-step LoRA run (tuner options such as use_dora=True added).

    A high learning rate makes the two steps move lora_B well away from its zero initialisation.
    """
    from swift.training.sft import sft_main
    data = out / 'train.jsonl'
    out.mkdir(parents=True, exist_ok=True)
    data.write_text(''.join(json.dumps(r) + '\n' for r in ROWS))
    args = dict(model=str(model_dir), template='smollm2', dataset=[str(data)], output_dir=str(out / 'run'),
                add_version=False, max_steps=2, save_steps=2, logging_steps=1, per_device_train_batch_size=4,
                learning_rate=5e-2, lora_dropout=0.0, warmup_ratio=0.0, report_to=['none'], seed=1,
                tuner_type='lora', **tuner)
    result = sft_main(args)
    return Path(result.last_checkpoint)


def trained_adapter(tmp_path_factory, model_dir: Path, kind: str) -> Path:
    """One checkpoint per kind ('lora', 'dora', 'rslora') per test run, shared by every test module and worker."""
    from tests.helpers.build_once import build_once
    options = {'lora': {}, 'dora': {'use_dora': True}, 'rslora': {'use_rslora': True, 'lora_rank': 4}}[kind]
    return build_once(tmp_path_factory, f'adapter-{kind}', lambda folder: train_adapter(model_dir, folder, **options))
