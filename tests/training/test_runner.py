"""The flags every training run shares behave the same in swift sft and in every --rlhf_type, because one runner
(swift/training/runner.py) owns them: --max_steps, --save_steps/--save_total_limit and the final checkpoint,
--split_dataset_ratio (also for rows passed from Python), --eval_benchmarks, and resuming."""
import json
from pathlib import Path

import pytest

from swift.training.rlhf.workflow import rlhf_main
from swift.training.sft import sft_main
from swift.utils import SwiftError
from tests.training.rlhf.test_tiny_runs import PAIRS, PROMPTS

WORKFLOWS = ['sft', 'dpo', 'orpo', 'simpo', 'cpo', 'kto', 'rm', 'ppo', 'grpo']
ROWS = {'sft': PAIRS, 'dpo': PAIRS, 'orpo': PAIRS, 'simpo': PAIRS, 'cpo': PAIRS, 'kto': PAIRS, 'rm': PAIRS,
        'ppo': PROMPTS * 2, 'grpo': PROMPTS * 2}  # 8 rows each: 6 train, 2 held out by --split_dataset_ratio 0.25


def train(workflow, tiny_model_dir, output_dir, reward_checkpoint, **flags):
    """The workflow's own entry point, as the CLI calls it, on rows passed from Python."""
    args = dict(model=str(tiny_model_dir), template='smollm2', output_dir=str(output_dir), add_version=False,
                logging_steps=1, per_device_train_batch_size=2, learning_rate=1e-3, lora_dropout=0.0,
                report_to=['none'], seed=1, **flags)
    if workflow == 'sft':
        return sft_main(rows=ROWS[workflow], **args)
    if workflow in ('ppo', 'grpo'):
        args.update(max_new_tokens=4, reward_model=reward_checkpoint)
    if workflow == 'grpo':
        args.update(num_generations=2, reward_funcs=['format'])
    return rlhf_main(rows=ROWS[workflow], rlhf_type=workflow, **args)


def records(run_dir):
    return [json.loads(line) for line in (Path(run_dir) / 'logging.jsonl').read_text().splitlines()]


def checkpoint_steps(run_dir):
    return sorted(int(p.name.split('-')[1]) for p in Path(run_dir).glob('checkpoint-*'))


@pytest.mark.parametrize('workflow', WORKFLOWS)
def test_shared_flags_behave_the_same_in_every_workflow(workflow, tiny_model_dir, tmp_path, reward_checkpoint,
                                                        shared_data):
    benchmarks = {} if workflow == 'rm' else dict(eval_benchmarks=['arc_e'], eval_benchmark_limit=1,
                                                  eval_dataset_dir=str(shared_data))
    shared = dict(max_steps=3, save_steps=2, save_total_limit=1, eval_steps=3, split_dataset_ratio=0.25, **benchmarks)
    result = train(workflow, tiny_model_dir, tmp_path / 'run', reward_checkpoint, **shared)
    run_dir = Path(result.output_dir)

    # --max_steps, and the final state is a checkpoint although step 3 is no save step; --save_total_limit 1
    # keeps only it (checkpoint-2 was written, then rotated out)
    assert checkpoint_steps(run_dir) == [3] and Path(result.last_checkpoint).name == 'checkpoint-3'
    saved = json.loads((run_dir / 'checkpoint-3' / 'args.json').read_text())
    assert saved['max_steps'] == 3 and saved['dataset'] == ['<python list>'] and saved['template'] == 'smollm2'
    assert [r['global_step'] for r in records(run_dir) if 'loss' in r] == [1, 2, 3]

    # --split_dataset_ratio holds out 2 of the 8 Python rows, and they are evaluated at --eval_steps
    report = json.loads((run_dir / 'dataset_report.json').read_text())
    assert (report['train_rows'], report['val_rows']) == (6, 2)
    evaluations = [r for r in records(run_dir) if 'eval_loss' in r]
    assert [r['global_step'] for r in evaluations] == [3]

    # --eval_benchmarks are scored at the evaluation and logged beside eval_loss (a reward model refuses them)
    if benchmarks:
        assert 0.0 <= evaluations[0]['eval_arc_e_acc'] <= 1.0
        assert (run_dir / 'images' / 'eval_arc_e_acc.png').is_file()

    # resuming from checkpoint-3 with a longer --max_steps continues the same run where it stopped
    more = dict(shared, max_steps=4, resume_from_checkpoint=str(run_dir / 'checkpoint-3'))
    resumed = train(workflow, tiny_model_dir, tmp_path / 'ignored', reward_checkpoint, **more)
    assert Path(resumed.output_dir) == run_dir and not (tmp_path / 'ignored').exists()
    assert checkpoint_steps(run_dir) == [4]
    assert [r['global_step'] for r in records(run_dir) if 'loss' in r] == [1, 2, 3, 4]


def test_a_reward_model_refuses_benchmarks_before_loading_anything(tiny_model_dir):
    with pytest.raises(SwiftError, match='a reward model .* scores conversations'):
        rlhf_main(rlhf_type='rm', model='not-even-loaded', dataset=['x.jsonl'], eval_benchmarks=['arc_e'])


def test_a_final_checkpoint_is_written_again_after_resuming(tiny_model_dir, tmp_path, reward_checkpoint):
    """Resuming from checkpoint-2 of a run that reached checkpoint-3 trains step 3 again: the run's
    checkpoint-3 is then this run's, not the old one left on disk."""
    flags = dict(max_steps=3, save_steps=2)
    first = train('sft', tiny_model_dir, tmp_path / 'run', reward_checkpoint, **flags)
    old = (Path(first.output_dir) / 'checkpoint-3' / 'trainer_state.json').stat().st_mtime_ns
    train('sft', tiny_model_dir, tmp_path / 'run', reward_checkpoint,
          resume_from_checkpoint=str(Path(first.output_dir) / 'checkpoint-2'), **flags)
    assert (Path(first.output_dir) / 'checkpoint-3' / 'trainer_state.json').stat().st_mtime_ns != old
