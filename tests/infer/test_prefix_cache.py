"""Prefix caching: a prompt sharing a prefix with an earlier one reuses that prefix's KV (counted), and the
answers are unchanged (token for token those of model.generate and of the engine without the cache)."""
import pytest
import torch

from swift.infer import InferRequest, RequestConfig
from swift.infer.prefix_cache import BLOCK, PrefixCache
from swift.infer.transformers_engine import PtEngine
from swift.utils import SwiftError

SYSTEM = ('You are a meticulous assistant for a small bakery. Answer in one short sentence, mention the price '
          'when you know it, never invent opening hours, and keep a friendly tone with every customer.')
QUESTIONS = ['Do you sell rye bread?', 'What does a croissant cost?', 'Are you open on Sunday?', 'hi']


def kv(length: int, layers: int = 2, fill: float = 0.0):
    return [(torch.full((1, 2, length, 4), fill + layer), torch.full((1, 2, length, 4), -fill - layer))
            for layer in range(layers)]


def nbytes(layer_kv) -> int:
    return sum(t.numel() * t.element_size() for pair in layer_kv for t in pair)


def test_longest_shared_prefix_is_found_to_the_token():
    cache = PrefixCache(max_bytes=10**9)
    a = list(range(100))
    b = list(range(50)) + [999] * 30
    cache.store(None, a, kv(len(a), fill=1))
    cache.store(None, b, kv(len(b), fill=2))
    prompt = list(range(70)) + [5, 6, 7]  # shares 70 tokens with a, 50 with b
    length, found = cache.lookup(None, prompt)
    assert length == 70 and float(found[0][0][0, 0, 0, 0]) == 1  # not block-aligned: extended token by token
    assert cache.lookup(None, a)[0] == len(a) - 1  # the same prompt again: its last token is recomputed
    assert cache.lookup('other-adapter', prompt) == (0, None)  # the KV of another adapter is another KV
    assert cache.lookup(None, [7] * 40) == (0, None)
    assert cache.lookup(None, list(range(BLOCK - 1)) + [5] * 30) == (0, None)  # shorter than a block: not reused
    assert cache.counters['prefix_cache_hits'] == 2


def test_least_recently_used_entries_go_first_within_the_byte_bound():
    one = nbytes(kv(40))
    cache = PrefixCache(max_bytes=2 * one)
    first, second, third = [list(range(i * 1000, i * 1000 + 40)) for i in range(3)]
    cache.store(None, first, kv(40))
    cache.store(None, second, kv(40))
    assert cache.lookup(None, first + [1])[0] == 40  # first is now the most recently used
    cache.store(None, third, kv(40))
    assert len(cache) == 2 and cache.nbytes == 2 * one
    assert cache.lookup(None, second + [1]) == (0, None)  # evicted
    assert cache.lookup(None, first + [1])[0] == 40 and cache.lookup(None, third + [1])[0] == 40
    cache.store(None, list(range(200)), kv(200))  # larger than the whole bound: not kept, nothing evicted
    assert len(cache) == 2
    assert PrefixCache(0).lookup(None, first + [1]) == (0, None)


def request(question):
    return InferRequest([{'role': 'system', 'content': SYSTEM}, {'role': 'user', 'content': question}])


def generate_ids(engine, prompt, max_new_tokens):
    with torch.inference_mode():
        out = engine.model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                                    max_new_tokens=max_new_tokens, do_sample=False,
                                    eos_token_id=engine.tokenizer.eos_token_id,
                                    pad_token_id=engine.tokenizer.pad_token_id)
    new = out[0, len(prompt):].tolist()
    eos = engine.tokenizer.eos_token_id
    return new[:new.index(eos) + 1] if eos in new else new


def token_ids(response):
    return [entry.token_id for entry in response.choices[0].logprobs.content]


@pytest.mark.parametrize('dtype', ['float32', 'bfloat16'])
def test_shared_system_prompt_is_prefilled_once_and_answers_are_unchanged(smollm_dir, dtype):
    """The real model: later requests reuse the system prompt's KV, and still answer as model.generate does."""
    config = RequestConfig(max_tokens=12, logprobs=True)
    with PtEngine('smollm2-135m-instruct', torch_dtype=dtype, max_batch_size=4) as engine:
        prompts = [engine._encode(request(q)) for q in QUESTIONS]
        shared = min(next(i for i, (x, y) in enumerate(zip(prompts[0], p)) if x != y) for p in prompts[1:])
        assert shared > 40
        first = engine.infer(request(QUESTIONS[0]), config)[0]  # alone: nothing to reuse yet
        assert engine.stats()['prefix_cache_hits'] == 0
        later = engine.infer([request(q) for q in QUESTIONS[1:]], config, use_tqdm=False)
        stats = engine.stats()
        assert stats['prefix_cache_hits'] == len(QUESTIONS) - 1
        assert stats['prefix_cache_hit_tokens'] >= shared * (len(QUESTIONS) - 1)
        for prompt, response in zip(prompts, [first] + later):
            assert token_ids(response) == generate_ids(engine, prompt, 12)


def test_prefix_cache_can_be_turned_off(tiny_model_dir):
    with PtEngine(str(tiny_model_dir), template='smollm2', prefix_cache_mb=0) as engine:
        engine.infer([request(q) for q in QUESTIONS], RequestConfig(max_tokens=4), use_tqdm=False)
        assert engine.stats()['prefix_cache_hits'] == 0 and len(engine.prefix_cache) == 0
    with pytest.raises(SwiftError, match='prefix_cache_mb'):
        PtEngine(str(tiny_model_dir), template='smollm2', prefix_cache_mb=-1)


def test_ignore_eos_generates_exactly_max_tokens(tiny_model_dir):
    with PtEngine(str(tiny_model_dir), template='smollm2') as engine:
        eos = engine.tokenizer.eos_token_id
        engine._stop_ids = engine._stop_ids | set(range(len(engine.tokenizer)))  # every token ends a reply now
        stopped = engine.infer(request('hi'), RequestConfig(max_tokens=6))[0]
        assert stopped.usage.completion_tokens == 1 and stopped.choices[0].finish_reason == 'stop'
        fixed = engine.infer(request('hi'), RequestConfig(max_tokens=6, ignore_eos=True))[0]
        assert fixed.usage.completion_tokens == 6 and fixed.choices[0].finish_reason == 'length'
        assert eos in engine._stop_ids


def test_a_weight_update_empties_the_prefix_cache(tiny_model_dir):
    """An RLHF rollout's policy is trained between rollouts: KV computed with the old weights must not be reused."""
    with PtEngine(str(tiny_model_dir), template='smollm2') as engine:
        config = RequestConfig(max_tokens=3)
        engine.infer(request(QUESTIONS[0]), config)
        engine.infer(request(QUESTIONS[1]), config)
        assert engine.stats()['prefix_cache_hits'] == 1
        with torch.no_grad():
            next(engine.model.parameters()).add_(0.01)  # what an optimizer step does
        engine.infer(request(QUESTIONS[2]), config)
        assert engine.stats()['prefix_cache_hits'] == 1 and len(engine.prefix_cache) == 1
