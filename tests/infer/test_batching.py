"""Continuous batching on the real embedded model (fp32): greedy output is token for token that of
model.generate for the same prompt, whatever else is in the batch and whenever it joined."""
import asyncio

import pytest
import torch

from swift.infer import InferRequest, RequestConfig
from swift.infer.transformers_engine import PtEngine

PROMPTS = [
    'What is the capital of France?',
    'Name three colours.',
    'Write a haiku about the sea, please, with vivid imagery and a twist at the end.',
    'Hi',
    'Explain gravity to a child in two sentences. Keep it simple, friendly, and short enough to read aloud.',
    'What is 2+2?',
    'List five fruits.',
    'Why is the sky blue? Mention Rayleigh scattering, sunlight, the atmosphere and the human eye.',
]
MAX_TOKENS = 16


@pytest.fixture(scope='module')
def engine(smollm_dir):
    with PtEngine('smollm2-135m-instruct', torch_dtype='float32', max_batch_size=8) as engine:
        yield engine


@pytest.fixture(scope='module')
def reference(engine):
    """model.generate, one prompt at a time: the new token ids (EOS included when generated)."""
    result = {}
    for text in PROMPTS:
        prompt = engine._encode(InferRequest([{'role': 'user', 'content': text}]))
        with torch.inference_mode():
            out = engine.model.generate(torch.tensor([prompt]),
                                        attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                                        max_new_tokens=MAX_TOKENS, do_sample=False,
                                        eos_token_id=engine.tokenizer.eos_token_id,
                                        pad_token_id=engine.tokenizer.pad_token_id)
        new = out[0, len(prompt):].tolist()
        if engine.tokenizer.eos_token_id in new:
            new = new[:new.index(engine.tokenizer.eos_token_id) + 1]
        result[text] = new
    return result


def token_ids(response):
    return [entry.token_id for entry in response.choices[0].logprobs.content]


def test_eight_prompts_together_equal_generate(engine, reference):
    assert len({len(engine._encode(InferRequest([{'role': 'user', 'content': p}]))) for p in PROMPTS}) >= 6
    before = engine.stats()['peak_running_sequences']
    responses = engine.infer([InferRequest([{'role': 'user', 'content': p}]) for p in PROMPTS],
                             RequestConfig(max_tokens=MAX_TOKENS, logprobs=True), use_tqdm=False)
    assert engine.stats()['peak_running_sequences'] == max(before, len(PROMPTS))  # they really shared a batch
    for text, response in zip(PROMPTS, responses):
        assert token_ids(response) == reference[text], text
        expected_text = engine.tokenizer.decode(reference[text], skip_special_tokens=True)
        assert response.choices[0].message.content == expected_text


def test_requests_joining_mid_decode_equal_generate(engine, reference):
    """Half the prompts start first; the others join while those are decoding."""

    async def run():
        config = RequestConfig(max_tokens=MAX_TOKENS, logprobs=True)
        first = [asyncio.ensure_future(engine.infer_async(InferRequest([{'role': 'user', 'content': p}]), config))
                 for p in PROMPTS[:4]]
        steps = engine.stats()['steps']
        while engine.stats()['steps'] < steps + 3:  # let the first ones decode a few tokens
            await asyncio.sleep(0.01)
        later = [asyncio.ensure_future(engine.infer_async(InferRequest([{'role': 'user', 'content': p}]), config))
                 for p in PROMPTS[4:]]
        return await asyncio.gather(*first, *later)

    responses = asyncio.run(run())
    for text, response in zip(PROMPTS, responses):
        assert token_ids(response) == reference[text], text


def test_logprobs_are_the_models_own(engine):
    request = InferRequest([{'role': 'user', 'content': 'Name a planet.'}])
    response = engine.infer(request, RequestConfig(max_tokens=2, logprobs=True, top_logprobs=3))[0]
    first = response.choices[0].logprobs.content[0]
    with torch.inference_mode():
        logits = engine.model(torch.tensor([engine._encode(request)])).logits[0, -1].float()
    expected = torch.log_softmax(logits, -1)
    assert abs(first.logprob - expected[first.token_id].item()) < 1e-4
    top_values, top_ids = torch.topk(expected, 3)
    assert [t.logprob for t in first.top_logprobs] == pytest.approx(top_values.tolist(), abs=1e-4)
    assert first.token == engine.tokenizer.decode([top_ids[0].item()])  # greedy took the most likely token


def test_a_synchronous_call_runs_the_model_on_its_own_thread_and_hands_over(smollm_dir, reference):
    """infer() runs the decoding steps on the calling thread (its OpenMP team and thread count: no second team in the
    process) while no scheduler thread exists; a request another caller submitted meanwhile is finished by a
    scheduler thread started when the synchronous call returns. Answers stay generate's."""
    import threading
    with PtEngine('smollm2-135m-instruct', torch_dtype='float32', max_batch_size=8) as fresh:
        threads = set()
        hook = fresh.model.register_forward_pre_hook(lambda *_: threads.add(threading.get_ident()))
        config = RequestConfig(max_tokens=MAX_TOKENS, logprobs=True)
        responses = fresh.infer([InferRequest([{'role': 'user', 'content': p}]) for p in PROMPTS[:2]], config,
                                use_tqdm=False)
        assert [token_ids(r) for r in responses] == [reference[p] for p in PROMPTS[:2]]
        assert threads == {threading.get_ident()} and fresh._worker is None

        async def both():
            loop = asyncio.get_running_loop()
            short = loop.run_in_executor(None, lambda: fresh.infer(
                InferRequest([{'role': 'user', 'content': PROMPTS[3]}]), RequestConfig(max_tokens=2, logprobs=True)))
            while not fresh._drivers:  # the synchronous call is stepping the engine
                await asyncio.sleep(0.001)
            long = await asyncio.wait_for(  # without the hand-over nobody would step it: a timeout, not a hang
                fresh.infer_async(InferRequest([{'role': 'user', 'content': PROMPTS[2]}]), config), 120)
            return (await short)[0], long

        short, long = asyncio.run(both())
        hook.remove()
        assert token_ids(short) == reference[PROMPTS[3]][:2]
        assert token_ids(long) == reference[PROMPTS[2]]
        assert fresh._worker is not None and len(threads) >= 2  # the scheduler thread took over the long request
