"""The engine's half-precision decode attention (swift/infer/decode_attention.py) against transformers' sdpa."""
import pytest
import torch
import torch.nn.functional as F

from swift.infer import InferRequest, RequestConfig
from swift.infer import decode_attention as fast
from swift.infer.transformers_engine import PtEngine

QUESTIONS = ['hi', 'what is up with you today my friend?', 'a b c d e f g h i j k l m n o p', 'nine ten eleven']


class _Module:  # what transformers passes as `module`: its GQA group size
    num_key_value_groups = 3


def _qkv(length, batch=2, dtype=torch.bfloat16, q_length=1):
    torch.manual_seed(length)
    return (torch.randn(batch, 9, q_length, 64).to(dtype), (2 * torch.randn(batch, 3, length, 64)).to(dtype),
            torch.randn(batch, 3, length, 64).to(dtype))


@pytest.mark.parametrize('length', [1, 37, 300])
def test_one_query_matches_sdpa_to_the_last_unit(length):
    fast._register()
    q, k, v = _qkv(length)
    mask = torch.ones(2, 1, 1, length, dtype=torch.bool)
    mask[1, ..., :length // 2] = False  # row 1 is left-padded
    with torch.inference_mode():
        out, _ = fast.decode_sdpa_forward(_Module(), q, k, v, mask, scaling=0.125)
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.125, enable_gqa=True)
    expected = expected.transpose(1, 2)
    assert out.shape == expected.shape == (2, 1, 9, 64) and out.dtype == torch.bfloat16
    # bfloat16 has 8 significant bits: one unit in the last place of values of size <= 4 is at most 2**-5
    assert (out.float() - expected.float()).abs().max() <= 2 ** -5
    assert (out == expected).float().mean() > 0.8  # mostly the very same bits (float32 sums in another order)


def test_anything_but_a_half_precision_one_token_query_takes_transformers_sdpa():
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    fast._register()
    for q, k, v in [_qkv(20, q_length=4), _qkv(20, dtype=torch.float32)]:
        with torch.inference_mode():
            out, _ = fast.decode_sdpa_forward(_Module(), q, k, v, None, scaling=0.125)
            expected, _ = sdpa_attention_forward(_Module(), q, k, v, None, scaling=0.125)
        assert torch.equal(out, expected)


def test_the_setting_is_only_in_force_inside_the_block(tiny_model_dir):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.bfloat16)
    assert fast.applies(model) and not fast.applies(model.float())
    with fast.decode_attention(model):
        assert model.config._attn_implementation == fast.NAME
    assert model.config._attn_implementation == 'sdpa'


def _generate_ids(engine, prompt, max_new_tokens):
    with torch.inference_mode():
        out = engine.model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                                    max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=None,
                                    pad_token_id=engine.tokenizer.pad_token_id)
    return out[0, len(prompt):].tolist()


def test_bfloat16_engine_with_the_fast_path_answers_as_generate_on_the_tiny_model(tiny_model_dir, monkeypatch):
    """Not a guarantee for every model: on SmolLM2 the last-place differences changed a greedy token (module doc)."""
    calls = []
    original = fast.decode_sdpa_forward
    monkeypatch.setattr(fast, 'decode_sdpa_forward', lambda *a, **kw: calls.append(1) or original(*a, **kw))
    fast._done = False  # register the counting wrapper
    try:
        with PtEngine(str(tiny_model_dir), template='smollm2', torch_dtype='bfloat16', max_batch_size=4,
                      fast_decode_attention=True) as engine:
            assert engine.fast_decode_attention
            config = RequestConfig(max_tokens=24, ignore_eos=True, logprobs=True)
            requests = [InferRequest([{'role': 'user', 'content': q}]) for q in QUESTIONS]
            responses = engine.infer(requests, config, use_tqdm=False)  # batched, left-padded rows
            assert calls  # the decode steps went through the fast path
            for request, response in zip(requests, responses):
                got = [e.token_id for e in response.choices[0].logprobs.content]
                assert got == _generate_ids(engine, engine._encode(request), 24)
    finally:
        fast._done = False  # the next use registers the real function again
