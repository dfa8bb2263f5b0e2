"""Packing: bin packing properties, merged rows, and that a packed forward pass equals running every
sequence alone (logits and loss) with sdpa and eager attention, no flash-attn."""
import random

import pytest
import torch

from swift.training.collator import PackedCollator
from swift.training.packed_attention import PACKED_SDPA, register_packed_sdpa
from swift.training.packing import (IGNORE_INDEX, block_diagonal_causal_mask, merge_pack, pack_indices, pack_samples,
                                    packing_efficiency)
from swift.utils import SwiftError

VOCAB = 128
PAD = 0


# --------------------------------------------------------------------------- bin packing

def _naive_first_fit_decreasing(lengths, max_length):
    """Textbook FFD (scan every open bin) to check the segment-tree version against."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    bins, free = [], []
    for i in order:
        for b, room in enumerate(free):
            if room >= lengths[i]:
                bins[b].append(i)
                free[b] -= lengths[i]
                break
        else:
            bins.append([i])
            free.append(max_length - lengths[i])
    return bins


@pytest.mark.parametrize('seed', range(5))
def test_ffd_keeps_every_sample_once_and_respects_max_length(seed):
    rng = random.Random(seed)
    max_length = 64
    lengths = [rng.randint(1, max_length) for _ in range(300)]
    bins = pack_indices(lengths, max_length)

    placed = sorted(i for b in bins for i in b)
    assert placed == list(range(len(lengths)))  # none lost, none duplicated (hence none split)
    assert all(sum(lengths[i] for i in b) <= max_length for b in bins)
    assert bins == pack_indices(lengths, max_length)  # deterministic
    assert bins == _naive_first_fit_decreasing(lengths, max_length)


def test_ffd_packs_tightly_where_an_exact_fit_exists():
    # 6+4, 7+3, 5+5: FFD finds the three full bins; sequential order would need more.
    lengths = [3, 5, 6, 4, 7, 5]
    bins = pack_indices(lengths, 10)
    assert len(bins) == 3
    assert sorted(sorted(lengths[i] for i in b) for b in bins) == [[3, 7], [4, 6], [5, 5]]
    assert len(pack_indices(lengths, 10, strategy='sequential')) == 4


def test_sequential_keeps_dataset_order():
    lengths = [4, 4, 4, 9, 1, 1]
    assert pack_indices(lengths, 10, strategy='sequential') == [[0, 1], [2], [3, 4], [5]]


def test_sample_longer_than_max_length_is_an_error_not_a_truncation():
    with pytest.raises(SwiftError, match=r'Sample #2 has 11 tokens, more than max_length=10'):
        pack_indices([3, 4, 11], 10)


def test_bad_arguments_are_user_errors():
    with pytest.raises(SwiftError, match='Did you mean: ffd'):
        pack_indices([1], 10, strategy='fdd')
    with pytest.raises(SwiftError, match='empty'):
        pack_indices([3, 0], 10)
    with pytest.raises(SwiftError, match='labels has 2 entries but input_ids has 3'):
        pack_samples([{'input_ids': [1, 2, 3], 'labels': [1, 2]}], 10)


def test_pack_samples_returns_the_samples_themselves():
    samples = [{'input_ids': list(range(n)), 'labels': list(range(n))} for n in (6, 3, 5, 2)]
    packs = pack_samples(samples, 8)
    assert sorted(id(s) for p in packs for s in p) == sorted(id(s) for s in samples)
    assert [[len(s['input_ids']) for s in p] for p in packs] == [[6, 2], [5, 3]]
    assert packing_efficiency(packs, 8) == 1.0


# --------------------------------------------------------------------------- merged rows and masks

def test_merge_pack_restarts_positions_and_masks_boundary_labels():
    pack = [{'input_ids': [5, 6, 7], 'labels': [5, 6, 7]},
            {'input_ids': [8, 9], 'labels': [-100, 9], 'attention_mask': [1, 1]}]
    row = merge_pack(pack)
    assert row['input_ids'] == [5, 6, 7, 8, 9]
    assert row['position_ids'] == [0, 1, 2, 0, 1]
    # The first label of each sequence is ignored: 7 must not be trained to predict 8.
    assert row['labels'] == [IGNORE_INDEX, 6, 7, IGNORE_INDEX, 9]


def test_merge_pack_rejects_padded_samples():
    with pytest.raises(SwiftError, match='already padded'):
        merge_pack([{'input_ids': [1, 2, 0], 'labels': [1, 2, -100], 'attention_mask': [1, 1, 0]}])


def test_block_diagonal_causal_mask():
    position_ids = torch.tensor([[0, 1, 2, 0, 1, 0]])
    mask = block_diagonal_causal_mask(position_ids)
    expected = torch.tensor([
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [0, 0, 0, 1, 1, 0],
        [0, 0, 0, 0, 0, 1],
    ], dtype=torch.bool)
    assert mask.shape == (1, 1, 6, 6) and mask.dtype == torch.bool
    assert torch.equal(mask[0, 0], expected)
    additive = block_diagonal_causal_mask(position_ids, torch.float32)
    assert torch.equal(additive[0, 0] == 0, expected)
    assert additive.min() == torch.finfo(torch.float32).min


# --------------------------------------------------------------------------- forward-pass equivalence

def _tiny_config(family):
    from transformers import LlamaConfig, Qwen2Config
    config_class = {'llama': LlamaConfig, 'qwen2': Qwen2Config}[family]
    return config_class(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                        pad_token_id=PAD, eos_token_id=1, bos_token_id=2)


_models = {}


def tiny_model(family, attn_implementation):
    """A random fp32 model, the same weights for every attention implementation of a family."""
    key = (family, attn_implementation)
    if key not in _models:
        from transformers import AutoModelForCausalLM
        if attn_implementation == PACKED_SDPA:
            register_packed_sdpa()
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(_tiny_config(family), attn_implementation=attn_implementation,
                                                 dtype=torch.float32)
        assert model.config._attn_implementation == attn_implementation
        # Train mode, config.use_cache=True: the conditions the trainer runs the forward in.
        _models[key] = model.train()
    return _models[key]


def make_samples(lengths, seed=0, prompt_share=0.3):
    """Encoded samples with random tokens; the first `prompt_share` of each is an untrained prompt,
    except sample #1, which is trained from its first token (pre-training style). In every batch below
    sample #1 follows another sequence, so its trained first label sits on a sequence boundary."""
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for k, n in enumerate(lengths):
        ids = torch.randint(3, VOCAB, (n,), generator=generator).tolist()
        prompt = 0 if k == 1 or prompt_share == 0 else max(1, int(n * prompt_share))
        samples.append({'input_ids': ids, 'labels': [IGNORE_INDEX] * prompt + ids[prompt:],
                        'attention_mask': [1] * n})
    return samples


@torch.no_grad()
def logits_alone(model, sample):
    return model(input_ids=torch.tensor([sample['input_ids']]), use_cache=False).logits[0]


def token_weighted_loss(model, samples):
    """sum of per-token CE over every trained token of every sample, each run alone / number of those tokens."""
    total, count = 0.0, 0
    for sample in samples:
        logits = logits_alone(model, sample)
        targets = torch.tensor(sample['labels'][1:])
        total += torch.nn.functional.cross_entropy(logits[:-1], targets, ignore_index=IGNORE_INDEX,
                                                   reduction='sum').item()
        count += int((targets != IGNORE_INDEX).sum())
    return total / count


def assert_rows_match_alone(model, batch, rows_of_samples):
    """Each sample's logits inside the batch equal its logits alone."""
    with torch.no_grad():
        logits = model(**batch).logits
    for row, samples in enumerate(rows_of_samples):
        offset = 0
        for sample in samples:
            n = len(sample['input_ids'])
            torch.testing.assert_close(logits[row, offset:offset + n], logits_alone(model, sample),
                                       atol=1e-5, rtol=0)
            offset += n


LENGTHS = (5, 17, 40, 9)
MODES = [('sdpa', 'position_ids', None), ('eager', 'position_ids', None), (PACKED_SDPA, 'position_ids', None),
         ('sdpa', '4d', None), ('sdpa', '4d', torch.float32), ('eager', '4d', torch.float32)]


@pytest.mark.parametrize('family', ['llama', 'qwen2'])
@pytest.mark.parametrize('attn,mask_mode,mask_dtype', MODES)
def test_packed_row_equals_each_sequence_alone(family, attn, mask_mode, mask_dtype):
    model = tiny_model(family, attn)
    samples = make_samples(LENGTHS)
    packs = pack_samples(samples, max_length=sum(LENGTHS))
    assert len(packs) == 1 and len(packs[0]) == 4
    batch = PackedCollator(PAD, mask_mode=mask_mode, mask_dtype=mask_dtype)(packs)
    assert batch['input_ids'].shape == (1, sum(LENGTHS))
    assert_rows_match_alone(model, batch, packs)

    with torch.no_grad():
        packed_loss = model(**batch).loss.item()
    assert packed_loss == pytest.approx(token_weighted_loss(model, samples), abs=1e-5)


@pytest.mark.parametrize('attn', ['sdpa', 'eager', PACKED_SDPA])
def test_padding_free_batch_equals_each_sequence_alone(attn):
    model = tiny_model('llama', attn)
    samples = make_samples(LENGTHS, seed=1)
    batch = PackedCollator(PAD, padding_free=True)(samples)
    assert batch['input_ids'].shape == (1, sum(LENGTHS))
    assert (batch['input_ids'] == PAD).sum() == 0  # no pad tokens at all
    assert_rows_match_alone(model, batch, [samples])
    with torch.no_grad():
        assert model(**batch).loss.item() == pytest.approx(token_weighted_loss(model, samples), abs=1e-5)


@pytest.mark.parametrize('attn', ['sdpa', 'eager', PACKED_SDPA])
def test_batch_of_packs_with_padding_rows_equals_each_sequence_alone(attn):
    model = tiny_model('llama', attn)
    samples = make_samples((30, 12, 25, 7, 19, 6), seed=2)
    packs = pack_samples(samples, max_length=40)
    assert len(packs) == 3
    batch = PackedCollator(PAD, pad_to_multiple_of=16)(packs)
    assert batch['input_ids'].shape == (3, 48)
    assert_rows_match_alone(model, batch, packs)
    with torch.no_grad():
        assert model(**batch).loss.item() == pytest.approx(token_weighted_loss(model, samples), abs=1e-5)


def test_boundary_label_masking_is_what_makes_the_loss_match():
    """Negative control: concatenating labels without masking each sequence's first label trains the last
    token of one sequence to predict the first of the next, and the loss no longer matches."""
    model = tiny_model('llama', 'sdpa')
    samples = make_samples(LENGTHS, seed=3, prompt_share=0.0)
    batch = PackedCollator(PAD)([samples])
    batch['labels'] = torch.tensor([[t for s in samples for t in s['labels']]])
    with torch.no_grad():
        unmasked_loss = model(**batch).loss.item()
    assert unmasked_loss != pytest.approx(token_weighted_loss(model, samples), abs=1e-3)


@pytest.mark.parametrize('attn', ['sdpa', PACKED_SDPA])
def test_gradients_of_packed_row_match_separate_runs(attn):
    """Training signal, not just logits: the packed loss's gradient equals the gradient of the
    token-weighted mean of the per-sequence losses."""
    model = tiny_model('llama', attn)
    samples = make_samples((8, 13, 21), seed=4)
    model.zero_grad()
    batch = PackedCollator(PAD)([samples])
    model(**batch).loss.backward()
    packed_grads = [p.grad.clone() for p in model.parameters()]

    model.zero_grad()
    count = sum(sum(1 for t in s['labels'][1:] if t != IGNORE_INDEX) for s in samples)
    for sample in samples:
        logits = model(input_ids=torch.tensor([sample['input_ids']]), use_cache=False).logits[0]
        loss = torch.nn.functional.cross_entropy(logits[:-1], torch.tensor(sample['labels'][1:]),
                                                 ignore_index=IGNORE_INDEX, reduction='sum') / count
        loss.backward()
    for packed, separate in zip(packed_grads, (p.grad for p in model.parameters())):
        torch.testing.assert_close(packed, separate, atol=1e-5, rtol=1e-4)
    model.zero_grad()


def test_hf_trainer_takes_the_packed_batch_and_logs_the_token_weighted_loss(tmp_path):
    """The batch goes through transformers.Trainer and accelerate's dataloader as is (use_cache=False
    included): with learning rate 0 the logged loss of the one step is the token-weighted per-sequence loss."""
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(_tiny_config('llama'), attn_implementation='sdpa', dtype=torch.float32)
    samples = make_samples((30, 12, 25, 7, 19, 6), seed=2)
    packs = pack_samples(samples, max_length=40)
    expected = token_weighted_loss(model.eval(), samples)
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=len(packs), max_steps=1,
                             learning_rate=0.0, logging_steps=1, report_to=[], save_strategy='no', use_cpu=True,
                             disable_tqdm=True)
    trainer = Trainer(model=model.train(), args=args, train_dataset=packs, data_collator=PackedCollator(PAD))
    trainer.train()
    logged = [entry['loss'] for entry in trainer.state.log_history if 'loss' in entry]
    assert logged == [pytest.approx(expected, abs=1e-5)]


@pytest.mark.slow
def test_real_model_packed_equals_alone_with_sdpa():
    """The embedded SmolLM2-135M (a real Llama checkpoint, 30 layers) packed with sdpa."""
    from transformers import AutoModelForCausalLM
    from swift.model.embedded import ensure_embedded_model
    model = AutoModelForCausalLM.from_pretrained(ensure_embedded_model(), attn_implementation='sdpa',
                                                 dtype=torch.float32).train()
    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(5)
    samples = []
    for n in (7, 23, 15):
        ids = torch.randint(0, vocab, (n,), generator=generator).tolist()
        samples.append({'input_ids': ids, 'labels': ids})
    batch = PackedCollator(model.config.eos_token_id)([samples])
    with torch.no_grad():
        logits = model(**batch).logits[0]
        offset = 0
        for sample in samples:
            n = len(sample['input_ids'])
            alone = model(input_ids=torch.tensor([sample['input_ids']]), use_cache=False).logits[0]
            torch.testing.assert_close(logits[offset:offset + n], alone, atol=1e-4, rtol=1e-4)
            offset += n
