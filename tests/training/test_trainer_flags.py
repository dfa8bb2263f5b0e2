"""ms-swift's trainer flags reach the transformers Trainer and change what it does (not accepted and ignored)."""
import json
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

from swift.arguments import SftArguments
from swift.training.runner import use_router_aux_loss
from swift.training.sft import sft_main
from swift.utils import SwiftError
from swift.utils.args import parse_args
from tests.training.test_sft import ROWS, common_args


class Capture(TrainerCallback):

    def on_train_begin(self, args, state, control, optimizer=None, model=None, train_dataloader=None, **kwargs):
        self.args, self.optimizer, self.model = args, optimizer, model
        self.batches = len(train_dataloader) if train_dataloader is not None else None
        base = getattr(model, 'get_base_model', lambda: model)()
        self.neftune = getattr(base.get_input_embeddings(), 'neftune_noise_alpha', None)


@pytest.fixture()
def data_file(tmp_path):
    path = tmp_path / 'train.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in ROWS[:7]))
    return path


def test_trainer_flags_change_the_run(tiny_model_dir, data_file, tmp_path, monkeypatch):
    from swift.training.generate_eval import GenerationEval, compute_rouge_bleu
    scorers, original = [], GenerationEval.score
    monkeypatch.setattr(GenerationEval, 'score', lambda self, *a: scorers.append(self) or original(self, *a))
    capture = Capture()
    result = sft_main(common_args(
        tiny_model_dir, data_file, tmp_path / 'out', max_steps=-1, num_train_epochs=3, max_epochs=1,
        acc_strategy='seq', predict_with_generate=True, report_to=['none'],
        per_device_train_batch_size=2, dataloader_drop_last=True, optim='sgd', lr_scheduler_type='constant',
        neftune_noise_alpha=5.0, save_strategy='epoch', split_dataset_ratio=0.3, eval_strategy='epoch',
        adam_beta2=0.9, metric_for_best_model='loss', greater_is_better=False, create_checkpoint_symlink=True,
        gradient_checkpointing_kwargs={'use_reentrant': False}, ignore_data_skip=True), callbacks=[capture])
    args = capture.args
    assert isinstance(capture.optimizer.optimizer if hasattr(capture.optimizer, 'optimizer') else capture.optimizer,
                      torch.optim.SGD)
    assert (args.save_strategy, args.eval_strategy, args.lr_scheduler_type) == ('epoch', 'epoch', 'constant')
    assert capture.batches == 2  # 5 training rows in batches of 2: the last one dropped
    assert capture.neftune == 5.0  # transformers' NEFTune hook on the input embeddings
    assert args.gradient_checkpointing is False  # the default on CPU (on GPUs: true, as ms-swift)
    records = [json.loads(line) for line in (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()]
    assert [r['global_step'] for r in records if 'eval_loss' in r] == [2]  # once, at the epoch's end
    # --max_epochs 1 stopped the 3 epochs after the first (2 steps); --acc_strategy seq logs seq_acc
    assert [r['global_step'] for r in records if 'loss' in r] == [1, 2]
    assert all('seq_acc' in r and 'token_acc' not in r for r in records if 'loss' in r)
    # --predict_with_generate: the evaluation also logs the NLG scores of the answers generated to its 2 rows
    evaluation = next(r for r in records if 'eval_loss' in r)
    pairs = scorers[-1].last
    answers = {row['messages'][-1]['content'] for row in ROWS[:7]}
    assert len(pairs) == 2 and all(isinstance(a, str) and reference in answers for a, reference in pairs)
    expected = compute_rouge_bleu([a for a, _ in pairs], [r for _, r in pairs])
    assert {k: evaluation[f'eval_{k}'] for k in expected} == pytest.approx(expected)
    assert [p.name for p in Path(result.output_dir).glob('checkpoint-*')] == ['checkpoint-2']
    assert (args.metric_for_best_model, args.greater_is_better, args.ignore_data_skip) == ('loss', False, True)
    assert args.gradient_checkpointing_kwargs == {'use_reentrant': False}
    # --create_checkpoint_symlink: <run>/last and <run>/best (the one evaluation marked checkpoint-2 best)
    for link in ('last', 'best'):
        assert (Path(result.output_dir) / link).resolve() == (Path(result.output_dir) / 'checkpoint-2').resolve()
    saved = json.loads((Path(result.output_dir) / 'args.json').read_text())
    assert saved['optim'] == 'sgd' and saved['gradient_checkpointing'] is False


def test_liger_kernel_refused_where_it_cannot_run(tiny_model_dir, data_file, tmp_path):
    with pytest.raises(SwiftError, match='--use_liger_kernel'):
        sft_main(common_args(tiny_model_dir, data_file, tmp_path / 'out', use_liger_kernel=True, report_to=['none']))


def test_router_aux_loss_is_added_for_moe_models_only(tiny_model_dir):
    from transformers import AutoModelForCausalLM, Qwen3MoeConfig
    config = Qwen3MoeConfig(vocab_size=64, hidden_size=16, intermediate_size=32, moe_intermediate_size=8,
                            num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, num_experts=4,
                            num_experts_per_tok=2, head_dim=8)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    ids = torch.randint(0, 64, (1, 8))
    plain = model(input_ids=ids, labels=ids).loss
    use_router_aux_loss(model, 0.5)
    output = model(input_ids=ids, labels=ids)
    assert output.aux_loss is not None
    assert float(output.loss) == pytest.approx(float(plain + 0.5 * output.aux_loss), rel=1e-5)
    dense = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with pytest.raises(SwiftError, match='--router_aux_loss_coef is for mixture-of-experts models'):
        use_router_aux_loss(dense, 0.01)


def test_strategies_checked_when_parsed():
    base = ['--model', 'm', '--dataset', 'd']
    with pytest.raises(SwiftError, match='--save_strategy must be one of no, steps, epoch'):
        parse_args(SftArguments, base + ['--save_strategy', 'sometimes'])
    with pytest.raises(SwiftError, match='--eval_strategy must be one of'):
        parse_args(SftArguments, base + ['--eval_strategy', 'step'])
    args = parse_args(SftArguments, base)
    assert (args.warmup_ratio, args.adam_beta2, args.gradient_checkpointing) == (0.05, 0.95, None)


def test_accuracy_counts_tokens_or_whole_sequences():
    from swift.training.trainer import accuracy_counts
    target = torch.tensor([[-100, 5, 6, 7], [-100, -100, 8, 9], [-100, -100, -100, -100]])
    predicted = torch.tensor([[0, 5, 6, 7], [0, 0, 8, 1], [1, 2, 3, 4]])
    assert accuracy_counts(predicted, target, 'token') == (4, 5)
    assert accuracy_counts(predicted, target, 'seq') == (1, 2)  # row 0 right, row 1 not, row 2 has no trained token
    with pytest.raises(SwiftError, match='--acc_strategy seq judges each row'):
        parse_args(SftArguments, ['--model', 'm', '--dataset', 'd.jsonl', '--acc_strategy', 'seq', '--packing', 'true'])
