"""Collators: padded batches (pad token may be eos) and the packed / padding-free batch layout."""
import pytest
import torch

from swift.training.collator import PackedCollator, PaddingCollator
from swift.training.packing import IGNORE_INDEX
from swift.utils import SwiftError

EOS = 2  # also the pad token, as in many chat models


def sample(ids, prompt=0):
    return {'input_ids': list(ids), 'labels': [IGNORE_INDEX] * prompt + list(ids[prompt:]),
            'attention_mask': [1] * len(ids)}


# --------------------------------------------------------------------------- PaddingCollator

def test_right_padding_with_pad_equal_to_eos_keeps_the_eos_label_trained():
    batch = PaddingCollator(pad_token_id=EOS)([sample([7, 8, 9, EOS], prompt=2), sample([5, EOS])])
    assert batch['input_ids'].tolist() == [[7, 8, 9, EOS], [5, EOS, EOS, EOS]]
    assert batch['attention_mask'].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    # The answer's eos (same id as the pad) is trained; only the padding positions are ignored.
    assert batch['labels'].tolist() == [[-100, -100, 9, EOS], [5, EOS, -100, -100]]
    assert all(t.dtype == torch.long for t in batch.values())


def test_left_padding_and_pad_to_multiple_of():
    collate = PaddingCollator(pad_token_id=0, padding_side='left', pad_to_multiple_of=4)
    batch = collate([sample([7, 8, 9, 10, 11]), sample([5, 6])])
    assert batch['input_ids'].shape == (2, 8)
    assert batch['input_ids'][1].tolist() == [0, 0, 0, 0, 0, 0, 5, 6]
    assert batch['attention_mask'][1].tolist() == [0, 0, 0, 0, 0, 0, 1, 1]
    assert batch['labels'][1].tolist() == [-100] * 6 + [5, 6]


def test_samples_without_attention_mask_or_labels():
    batch = PaddingCollator(pad_token_id=0)([{'input_ids': [3, 4, 5]}, {'input_ids': [6]}])
    assert set(batch) == {'input_ids', 'attention_mask'}
    assert batch['attention_mask'].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_custom_label_pad():
    batch = PaddingCollator(pad_token_id=0, label_pad=-1)([sample([3, 4]), sample([5])])
    assert batch['labels'].tolist() == [[3, 4], [5, -1]]


def test_padding_collator_user_errors():
    with pytest.raises(SwiftError, match='no pad token'):
        PaddingCollator(pad_token_id=None)
    with pytest.raises(SwiftError, match="'right' or 'left'"):
        PaddingCollator(pad_token_id=0, padding_side='middle')
    with pytest.raises(SwiftError, match='pad_to_multiple_of'):
        PaddingCollator(pad_token_id=0, pad_to_multiple_of=0)
    collate = PaddingCollator(pad_token_id=0)
    with pytest.raises(SwiftError, match='empty batch'):
        collate([])
    with pytest.raises(SwiftError, match='Sample #1 of the batch: labels has 1 entries but input_ids has 2'):
        collate([sample([1, 2]), {'input_ids': [1, 2], 'labels': [1]}])
    with pytest.raises(SwiftError, match='Some samples of the batch have labels'):
        collate([sample([1, 2]), {'input_ids': [1, 2]}])


def test_padded_batch_logits_match_each_sample_alone():
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, attn_implementation='sdpa')
    model = LlamaForCausalLM(config).eval()
    samples = [sample(torch.randint(3, 64, (n,)).tolist(), prompt=2) for n in (9, 4, 13)]
    batch = PaddingCollator(pad_token_id=EOS)(samples)
    with torch.no_grad():
        logits = model(**batch).logits
        for row, s in enumerate(samples):
            alone = model(input_ids=torch.tensor([s['input_ids']])).logits[0]
            torch.testing.assert_close(logits[row, :len(s['input_ids'])], alone, atol=1e-5, rtol=0)


# --------------------------------------------------------------------------- PackedCollator layout

def test_packed_batch_layout_without_attention_mask():
    pack_a = [sample([11, 12, 13]), sample([14, 15], prompt=1)]
    pack_b = [sample([21, 22])]
    batch = PackedCollator(pad_token_id=EOS)([pack_a, pack_b])
    assert set(batch) == {'input_ids', 'labels', 'position_ids', 'use_cache', 'cu_seq_lens_q', 'cu_seq_lens_k',
                          'max_length_q', 'max_length_k'}
    assert batch['use_cache'] is False  # a cache would switch off transformers' packed-sequence detection
    assert batch['input_ids'].tolist() == [[11, 12, 13, 14, 15], [21, 22, EOS, EOS, EOS]]
    assert batch['position_ids'].tolist() == [[0, 1, 2, 0, 1], [0, 1, 0, 1, 2]]
    assert batch['labels'].tolist() == [[-100, 12, 13, -100, 15], [-100, 22, -100, -100, -100]]
    # Sequence boundaries over the flattened batch, padding a sequence of its own (flash-attention's varlen layout).
    assert batch['cu_seq_lens_q'].tolist() == [0, 3, 5, 7, 10] and batch['cu_seq_lens_q'].dtype == torch.int32
    assert batch['cu_seq_lens_k'] is batch['cu_seq_lens_q']
    assert batch['max_length_q'] == batch['max_length_k'] == 3


def test_4d_mask_batch_carries_no_sequence_boundaries():
    batch = PackedCollator(pad_token_id=EOS, mask_mode='4d')([[sample([11, 12]), sample([13])]])
    assert 'cu_seq_lens_q' not in batch and batch['attention_mask'].shape == (1, 1, 3, 3)


def test_features_may_be_single_samples_packs_or_merged_rows():
    from swift.training.packing import merge_pack
    collate = PackedCollator(pad_token_id=0)
    merged = merge_pack([sample([1, 2]), sample([3])])
    batch = collate([sample([4, 5, 6]), merged, [sample([7]), sample([8])]])
    assert batch['position_ids'].tolist() == [[0, 1, 2], [0, 1, 0], [0, 0, 0]]
    with pytest.raises(SwiftError, match='Feature #0 of the batch is a str'):
        collate(['not a sample'])


def test_padding_free_concatenates_the_batch_into_one_row():
    batch = PackedCollator(pad_token_id=0, padding_free=True)([sample([1, 2, 3]), sample([4, 5]), sample([6])])
    assert batch['input_ids'].tolist() == [[1, 2, 3, 4, 5, 6]]
    assert batch['position_ids'].tolist() == [[0, 1, 2, 0, 1, 0]]
    assert batch['labels'].tolist() == [[-100, 2, 3, -100, 5, -100]]
    padded = PackedCollator(pad_token_id=0, padding_free=True, pad_to_multiple_of=8)([sample([1, 2, 3])])
    assert padded['input_ids'].tolist() == [[1, 2, 3, 0, 0, 0, 0, 0]]
    assert padded['position_ids'].tolist() == [[0, 1, 2, 0, 1, 2, 3, 4]]


def test_4d_mask_mode():
    batch = PackedCollator(pad_token_id=0, mask_mode='4d')([[sample([1, 2]), sample([3])]])
    assert batch['attention_mask'].shape == (1, 1, 3, 3) and batch['attention_mask'].dtype == torch.bool
    assert batch['attention_mask'][0, 0].int().tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    additive = PackedCollator(pad_token_id=0, mask_mode='4d', mask_dtype=torch.bfloat16)([[sample([1])]])
    assert additive['attention_mask'].dtype == torch.bfloat16
    with pytest.raises(SwiftError, match='Unknown mask_mode'):
        PackedCollator(pad_token_id=0, mask_mode='2d')
