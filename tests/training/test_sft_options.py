"""`swift sft` options on a tiny model, each checked for what it promises in a real run."""
import json
from pathlib import Path

import pytest
from transformers import TrainerCallback

from swift.training.sft import sft_main
from tests.training.test_sft import ROWS, common_args


@pytest.fixture()
def data_file(tmp_path):
    path = tmp_path / 'train.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in ROWS))
    return path


def _records(result):
    return [json.loads(line) for line in (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()]


class Capture(TrainerCallback):
    """Keeps what the Trainer hands its callbacks: the optimizer and the first training batch's shape."""

    def __init__(self):
        self.optimizer = self.model = None

    def on_train_begin(self, args, state, control, optimizer=None, model=None, **kwargs):
        self.optimizer, self.model = optimizer, model


def test_validation_split_logs_eval_loss_and_plots_it(tiny_model_dir, data_file, tmp_path):
    result = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'out', split_dataset_ratio=0.25,
                                  eval_steps=2, report_to=['none']))
    evals = [r for r in _records(result) if 'eval_loss' in r]
    assert [r['global_step'] for r in evals] == [2, 4]
    assert (Path(result.output_dir) / 'images' / 'eval_loss.png').is_file()


def test_save_total_limit_keeps_the_newest_checkpoints(tiny_model_dir, data_file, tmp_path):
    result = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'out', max_steps=4, save_steps=1,
                                  save_total_limit=2, report_to=['none']))
    run = Path(result.output_dir)
    assert sorted(p.name for p in run.glob('checkpoint-*')) == ['checkpoint-3', 'checkpoint-4']
    assert not list(run.glob('.checkpoint-staging*'))


def test_system_prompt_is_trained_with_and_saved(tiny_model_dir, data_file, tmp_path):
    result = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'out', max_steps=1,
                                  system='You are Nova.', report_to=['none']))
    saved = json.loads((Path(result.last_checkpoint) / 'args.json').read_text())
    assert saved['system'] == 'You are Nova.'
    from swift.arguments import InferArguments
    from swift.infer.checks import check_infer_args
    from swift.utils.args import parse_args
    infer_args = check_infer_args(parse_args(InferArguments, ['--adapters', result.last_checkpoint]))
    assert infer_args.system == 'You are Nova.'  # inference uses the prompt the run trained with


def test_lora_plus_gives_lora_b_a_larger_learning_rate(tiny_model_dir, data_file, tmp_path):
    capture = Capture()
    sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'out', max_steps=1, lorap_lr_ratio=16.0,
                         learning_rate=1e-4, report_to=['none']), callbacks=[capture])
    names = {id(p): n for n, p in capture.model.named_parameters()}
    for group in capture.optimizer.param_groups:
        kinds = {'lora_B' in names[id(p)] for p in group['params']}
        assert len(kinds) == 1
        assert group.get('initial_lr', group['lr']) == pytest.approx(1.6e-3 if kinds.pop() else 1e-4)


def test_gradient_checkpointing_with_lora_trains_the_same(tiny_model_dir, data_file, tmp_path):
    plain = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'a', max_steps=2, report_to=['none']))
    checkpointed = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'b', max_steps=2, report_to=['none'],
                                        gradient_checkpointing=True))
    losses = lambda result: [r['loss'] for r in _records(result) if 'loss' in r]  # noqa: E731
    assert losses(checkpointed) == pytest.approx(losses(plain), abs=1e-5)
    assert all(r['grad_norm'] > 0 for r in _records(checkpointed) if 'grad_norm' in r)


@pytest.mark.parametrize('mode', ['packing', 'padding_free'])
def test_packed_and_padding_free_runs_train_every_answer_token(tiny_model_dir, data_file, tmp_path, mode):
    base = sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'base', max_steps=2, report_to=['none']))
    run = sft_main(common_args(tiny_model_dir, data_file, tmp_path / mode, max_steps=2, report_to=['none'],
                               max_length=512, **{mode: True}))
    assert Path(run.last_checkpoint, 'adapter_model.safetensors').is_file()
    tokens = sum(r['trained_tokens'] for r in _records(run) if 'trained_tokens' in r)
    if mode == 'padding_free':  # the same rows per step as the padded run: the same trained tokens
        assert tokens == sum(r['trained_tokens'] for r in _records(base) if 'trained_tokens' in r)
    else:  # 16 short rows fit in one 512-token pack: all of them are trained in step 1
        assert tokens >= sum(r['trained_tokens'] for r in _records(base) if 'trained_tokens' in r)


def test_last_round_loss_scale_trains_only_the_last_answer(tiny_model_dir, tmp_path):
    rows = [{'messages': [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello there friend'},
                          {'role': 'user', 'content': 'Bye'}, {'role': 'assistant', 'content': 'Bye'}]}] * 4
    data = tmp_path / 'multi.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    every = sft_main(common_args(tiny_model_dir, data, tmp_path / 'a', max_steps=1, report_to=['none']))
    last = sft_main(common_args(tiny_model_dir, data, tmp_path / 'b', max_steps=1, report_to=['none'],
                                loss_scale='last_round'))
    count = lambda result: next(r['trained_tokens'] for r in _records(result) if 'trained_tokens' in r)  # noqa
    assert count(last) < count(every)
