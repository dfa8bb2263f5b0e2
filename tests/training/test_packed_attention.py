"""swift_packed_sdpa: attention per packed sequence equals sdpa with the block-diagonal mask (outputs and
gradients), and every call that does not carry sequence boundaries is plain sdpa."""
import pytest
import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from swift.training.collator import sequence_boundaries
from swift.training.packed_attention import (PACKED_SDPA, _row_segment_lengths, packed_sdpa_attention,
                                             register_packed_sdpa, use_packed_sdpa)
from swift.training.packing import block_diagonal_causal_mask


class _Attention(torch.nn.Module):
    """What transformers' attention modules expose to the attention function."""
    is_causal = True

    def __init__(self, groups):
        super().__init__()
        self.num_key_value_groups = groups


def _inputs(position_ids, heads=4, kv_heads=2, dim=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    batch, length = position_ids.shape
    q = torch.randn(batch, heads, length, dim, generator=generator, requires_grad=True)
    k = torch.randn(batch, kv_heads, length, dim, generator=generator, requires_grad=True)
    v = torch.randn(batch, kv_heads, length, dim, generator=generator, requires_grad=True)
    return q, k, v


def _positions(*rows):
    return torch.tensor([sum((list(range(n)) for n in row), []) for row in rows])


@pytest.mark.parametrize('kv_heads', [4, 2, 1])
def test_per_sequence_attention_equals_block_diagonal_sdpa(kv_heads):
    positions = _positions((5, 9, 3, 7), (10, 2, 12))  # two rows of 24; the second row's last sequence: padding
    module = _Attention(4 // kv_heads)
    q, k, v = _inputs(positions, kv_heads=kv_heads)
    mask = block_diagonal_causal_mask(positions)
    expected, _ = sdpa_attention_forward(module, q, k, v, mask, scaling=0.3)
    grads_expected = torch.autograd.grad(expected.square().sum(), (q, k, v))

    ours, _ = packed_sdpa_attention(module, q, k, v, mask, scaling=0.3, position_ids=positions,
                                    **sequence_boundaries(positions))
    assert ours.shape == expected.shape == (2, 24, 4, 8)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)
    for g_ours, g_expected in zip(torch.autograd.grad(ours.square().sum(), (q, k, v)), grads_expected):
        torch.testing.assert_close(g_ours, g_expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('extra', [{}, {'sliding_window': 4}, {'softcap': 30.0}])
def test_calls_without_boundaries_or_with_other_attention_features_are_plain_sdpa(extra):
    """Generation, unpacked batches, sliding-window or soft-capped layers: exactly what sdpa computes."""
    positions = _positions((6, 6))
    module = _Attention(2)
    q, k, v = _inputs(positions)
    padding = torch.ones(1, 1, 12, 12, dtype=torch.bool).tril()
    padding[..., :2] = False  # a left-padding-like mask that the boundaries would contradict
    padding[..., torch.arange(12), torch.arange(12)] = True
    kwargs = {} if not extra else {**extra, **sequence_boundaries(positions)}
    if 'softcap' in extra:
        with pytest.raises(ValueError, match='softcap'):  # sdpa's own answer to softcap, not a silent wrong one
            packed_sdpa_attention(module, q, k, v, padding, **kwargs)
        return
    expected, _ = sdpa_attention_forward(module, q, k, v, padding, **extra)
    ours, _ = packed_sdpa_attention(module, q, k, v, padding, **kwargs)
    torch.testing.assert_close(ours, expected, atol=0, rtol=0)


def test_decoding_with_a_cache_is_plain_sdpa():
    module = _Attention(1)
    q = torch.randn(1, 2, 1, 8)
    k = v = torch.randn(1, 2, 5, 8)
    expected, _ = sdpa_attention_forward(module, q, k, v, None)
    ours, _ = packed_sdpa_attention(module, q, k, v, None, **sequence_boundaries(torch.tensor([[0]])))
    torch.testing.assert_close(ours, expected, atol=0, rtol=0)


def test_boundaries_that_do_not_split_the_batch_into_rows_are_refused():
    assert _row_segment_lengths(torch.tensor([0, 3, 7, 10]), 2, 5) is None  # 3..7 crosses rows
    assert _row_segment_lengths(torch.tensor([0, 3, 9]), 2, 5) is None  # does not cover the batch
    assert _row_segment_lengths(torch.tensor([0, 3, 5, 6, 10]), 2, 5) == [[3, 2], [1, 4]]


def test_use_packed_sdpa_switches_only_sdpa_models_and_the_switch_reverts():
    from transformers import AutoModelForCausalLM, LlamaConfig
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1)
    eager = AutoModelForCausalLM.from_config(config, attn_implementation='eager')
    assert use_packed_sdpa(eager) is None and eager.config._attn_implementation == 'eager'

    model = AutoModelForCausalLM.from_config(config, attn_implementation='sdpa')
    assert use_packed_sdpa(model) == 'sdpa'
    assert model.config._attn_implementation == PACKED_SDPA == register_packed_sdpa()
    model.set_attn_implementation('sdpa')
    assert model.config._attn_implementation == 'sdpa'


def test_a_packed_sft_run_trains_with_packed_sdpa_and_gives_the_model_back_on_sdpa(tiny_model_dir, tmp_path):
    import json
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from swift.training.sft import sft_main
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), attn_implementation='sdpa')
    seen = []

    class Spy(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            seen.append(model.get_base_model().config._attn_implementation)

    rows = [{'messages': [{'role': 'user', 'content': f'Count to {i}.'},
                          {'role': 'assistant', 'content': ' '.join(str(n) for n in range(i))}]} for i in range(2, 10)]
    data = tmp_path / 'train.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    sft_main(dict(model=str(tiny_model_dir), template='smollm2', dataset=[str(data)], output_dir=str(tmp_path / 'o'),
                  max_steps=2, packing=True, max_length=128, per_device_train_batch_size=2, report_to=['none'],
                  save_steps=100), model=model, tokenizer=AutoTokenizer.from_pretrained(str(tiny_model_dir)),
             callbacks=[Spy()])
    assert seen == [PACKED_SDPA, PACKED_SDPA]
    assert model.config._attn_implementation == 'sdpa'
