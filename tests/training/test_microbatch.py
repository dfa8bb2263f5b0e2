"""Micro-batches inside a training step (--micro_batch_rows): the split batch (packed rows with their sequence
boundaries, padded rows cut after their last trained label), and whole runs that train the same losses and weights
as unsplit ones, with gradient accumulation, where only the last backward of an optimizer step may synchronise."""
import contextlib
import json
from pathlib import Path

import pytest
import torch

from swift.training.collator import PackedCollator, PaddingCollator
from swift.training.microbatch import split_rows

ROWS = [{'messages': [{'role': 'user', 'content': f'What is {i} times three?'},
                      {'role': 'assistant', 'content': f'{i} times three is {3 * i}. ' * (1 + i % 4)}]}
        for i in range(24)]


def _sample(length, trained_from):
    ids = list(range(1, length + 1))
    return {'input_ids': ids, 'labels': [-100] * trained_from + ids[trained_from:]}


def test_packed_rows_split_with_their_own_sequence_boundaries():
    packs = [[_sample(5, 2), _sample(3, 1)], [_sample(6, 3)], [_sample(2, 0), _sample(2, 1)]]
    collate = PackedCollator(pad_token_id=0)
    parts = split_rows(collate(packs), 2)
    # each part is what the collator makes of its packs alone: boundaries of its own rows, and the last part
    # (one 4-token pack in an 8-token-wide batch) cut after its last trained label
    for part, alone in zip(parts, (collate(packs[:2]), collate(packs[2:]))):
        assert part.keys() == alone.keys()
        for key, value in alone.items():
            assert torch.equal(part[key], value) if isinstance(value, torch.Tensor) else part[key] == value, key
    assert parts[1]['input_ids'].tolist() == [[1, 2, 1, 2]] and parts[1]['cu_seq_lens_q'].tolist() == [0, 2, 4]


def test_padded_rows_are_cut_after_their_last_trained_label_and_media_batches_are_not_split():
    batch = PaddingCollator(pad_token_id=0)([_sample(7, 2), _sample(3, 1), _sample(2, 0)])
    first, second = split_rows(batch, 2)
    assert first['input_ids'].shape == (2, 7) and second['input_ids'].shape == (1, 2)
    assert torch.equal(second['attention_mask'], torch.ones(1, 2, dtype=torch.long))
    assert split_rows(batch, 3) is None and split_rows(batch, 0) is None  # one part would be the whole batch
    assert split_rows({**batch, 'pixel_values': torch.zeros(3, 3, 8, 8)}, 1) is None


def _train(model_dir, data, out, **flags):
    from safetensors.torch import load_file
    from swift.training.sft import sft_main
    result = sft_main(dict(model=str(model_dir), template='smollm2', dataset=[str(data)], output_dir=str(out),
                           add_version=False, max_steps=2, save_steps=100, logging_steps=1, learning_rate=1e-3,
                           lora_dropout=0.0, report_to=['none'], seed=1, **{'max_length': 128, **flags}))
    checkpoint = Path(result.last_checkpoint)
    weights = next(checkpoint.glob('*model.safetensors'))
    logs = [json.loads(line) for line in (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()]
    return load_file(str(weights)), [(r['loss'], r['token_acc'], r['trained_tokens']) for r in logs if 'loss' in r]


@pytest.fixture
def sync_log(monkeypatch):
    """(global step, inside accelerate's no_sync) at every forward/backward the Trainer runs."""
    from accelerate import Accelerator
    from transformers import Trainer
    log, depth = [], [0]
    no_sync, step = Accelerator.no_sync, Trainer.training_step

    @contextlib.contextmanager
    def recording_no_sync(self, model):
        depth[0] += 1
        try:
            with no_sync(self, model):
                yield
        finally:
            depth[0] -= 1

    def recording_step(self, model, inputs, num_items_in_batch=None):
        log.append((self.state.global_step, depth[0] > 0))
        return step(self, model, inputs, num_items_in_batch)

    monkeypatch.setattr(Accelerator, 'no_sync', recording_no_sync)
    monkeypatch.setattr(Trainer, 'training_step', recording_step)
    return log


@pytest.mark.parametrize('mode', [{'packing': True, 'gradient_accumulation_steps': 2, 'max_length': 64},
                                  {'tuner_type': 'full', 'per_device_train_batch_size': 3}])
def test_micro_batches_train_the_same_losses_and_weights(tiny_model_dir, tmp_path, mode, sync_log):
    data = tmp_path / 'train.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in ROWS))
    mode = {'per_device_train_batch_size': 4, **mode}
    whole_weights, whole_log = _train(tiny_model_dir, data, tmp_path / 'whole', micro_batch_rows=0, **mode)
    whole_calls = len(sync_log)
    sync_log.clear()
    split_weights, split_log = _train(tiny_model_dir, data, tmp_path / 'split', micro_batch_rows=1, **mode)
    assert len(sync_log) > whole_calls  # it did split
    for step in range(2):  # every backward of an optimizer step but its last runs without gradient sync
        syncs = [inside for at, inside in sync_log if at == step]
        assert syncs[:-1] == [True] * (len(syncs) - 1) and syncs[-1] is False
    assert len(split_log) == 2
    for (loss_a, acc_a, tokens_a), (loss_b, acc_b, tokens_b) in zip(split_log, whole_log):
        assert loss_a == pytest.approx(loss_b, abs=1e-5) and acc_a == acc_b and tokens_a == tokens_b
    assert whole_log[0][0] != pytest.approx(whole_log[-1][0], abs=1e-3)  # the steps did change the weights
    assert split_weights.keys() == whole_weights.keys()
    for name in whole_weights:
        torch.testing.assert_close(split_weights[name], whole_weights[name], atol=1e-6, rtol=1e-5, msg=name)


def test_the_arguments_decide_the_micro_batch_rows_once(monkeypatch):
    """sft.micro_batch_rows rules out what the arguments tell (sequence parallelism, DeepSpeed, FSDP: gradients
    that do not add up over micro-batches), so the trainer checks at each step only what the model tells."""
    from swift.arguments import SftArguments
    from swift.training import sft
    from swift.utils.args import parse_args

    def rows(*flags):
        return sft.micro_batch_rows(parse_args(SftArguments, ['--model', 'm', '--dataset', 'd', *flags]))
    monkeypatch.setattr('swift.utils.device.detect_device', lambda: 'cpu')
    assert rows() == 0 and rows('--packing', 'true') == 2 and rows('--micro_batch_rows', '3') == 3
    assert rows('--packing', 'true', '--micro_batch_rows', '0') == 0
    assert rows('--micro_batch_rows', '1', '--sequence_parallel_size', '2') == 0
    assert rows('--micro_batch_rows', '1', '--fsdp', 'full_shard') == 0
    assert rows('--packing', 'true', '--deepspeed', 'zero2') == 0
    monkeypatch.setattr('swift.utils.device.detect_device', lambda: 'cuda')
    assert rows('--packing', 'true') == 0 and rows('--packing', 'true', '--micro_batch_rows', '2') == 2
