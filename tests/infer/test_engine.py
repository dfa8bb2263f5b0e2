"""PtEngine's scheduler and request semantics on a tiny random Llama (fast)."""
import asyncio

import pytest
import torch

from swift.infer import InferRequest, RequestConfig
from swift.infer.protocol import BASE_ADAPTER, InferError, PromptTooLongError, UnknownAdapterError
from swift.infer.transformers_engine import PtEngine

TEXTS = ['hi', 'what is up with you today my friend?', 'a b c d e f g h i j k l m n o p', 'tell me', 'x' * 60,
         'one two', 'three four five six seven', '8', 'nine ten eleven twelve thirteen', 'z']


def request(text: str, **kwargs) -> InferRequest:
    return InferRequest([{'role': 'user', 'content': text}], **kwargs)


@pytest.fixture(scope='module')
def engine(tiny_model_dir):
    with PtEngine(str(tiny_model_dir), template='smollm2', max_batch_size=4) as engine:
        yield engine


def generate_ids(model, tokenizer, prompt, max_new_tokens):
    with torch.inference_mode():
        out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                             max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id)
    return out[0, len(prompt):].tolist()


def token_ids(choice):
    return [entry.token_id for entry in choice.logprobs.content]


def test_more_requests_than_rows_queue_and_still_equal_generate(engine):
    responses = engine.infer([request(t) for t in TEXTS], RequestConfig(max_tokens=20, logprobs=True), use_tqdm=False)
    assert engine.stats()['peak_running_sequences'] == 4  # bounded by max_batch_size
    for text, response in zip(TEXTS, responses):
        expected = generate_ids(engine.model, engine.tokenizer, engine._encode(request(text)), 20)
        assert token_ids(response.choices[0]) == expected, text
    assert engine.stats()['running_sequences'] == 0 and engine._kv.keys == []  # all KV freed


def test_seeded_sampling_is_reproducible_alone_and_in_a_batch(engine):
    config = RequestConfig(max_tokens=12, temperature=1.0, top_p=0.9, top_k=50, seed=5, n=3)
    alone = engine.infer(request('hi'), config)[0]
    crowded = engine.infer([request('tell me'), request('hi'), request('z')], config, use_tqdm=False)[1]
    texts = [c.message.content for c in alone.choices]
    assert texts == [c.message.content for c in crowded.choices]
    assert len(set(texts)) > 1  # the n choices are different samples (seed + index)
    assert alone.usage.completion_tokens == 36 and [c.index for c in alone.choices] == [0, 1, 2]
    other_seed = engine.infer(request('hi'), RequestConfig(max_tokens=12, temperature=1.0, seed=6))[0]
    assert other_seed.choices[0].message.content != texts[0]


def test_greedy_n_gives_identical_choices(engine):
    response = engine.infer(request('one two'), RequestConfig(max_tokens=8, n=2))[0]
    assert response.choices[0].message.content == response.choices[1].message.content


def test_frequency_penalty_reduces_repetition(engine):
    plain = engine.infer(request('hi'), RequestConfig(max_tokens=40, logprobs=True))[0].choices[0]
    penalised = engine.infer(request('hi'), RequestConfig(max_tokens=40, logprobs=True, frequency_penalty=2.0,
                                                          presence_penalty=2.0))[0].choices[0]
    distinct = lambda choice: len(set(token_ids(choice)))  # noqa: E731
    assert distinct(penalised) > distinct(plain)


def test_concurrent_async_callers_share_one_batch(engine):
    async def run():
        tasks = [engine.infer_async(request(t), RequestConfig(max_tokens=30)) for t in TEXTS[:4]]
        return await asyncio.gather(*tasks)

    engine._counters['peak_running_sequences'] = 0
    responses = asyncio.run(run())
    assert len(responses) == 4 and engine.stats()['peak_running_sequences'] == 4


def test_a_client_leaving_mid_stream_frees_its_rows(engine):
    async def run():
        stream = await engine.infer_async(request('z'), RequestConfig(max_tokens=500, stream=True))
        seen = 0
        async for _ in stream:
            seen += 1
            if seen == 3:
                break
        await stream.aclose()
        for _ in range(200):
            if engine.stats()['running_sequences'] == 0:
                return True
            await asyncio.sleep(0.01)
        return False

    assert asyncio.run(run())
    assert engine.stats()['running_requests'] == 0


def test_sync_stream_closed_early_cancels(engine):
    stream = engine.stream(request('z'), RequestConfig(max_tokens=500))
    next(stream)
    stream.close()
    for _ in range(200):
        if engine.stats()['running_sequences'] == 0:
            break
        asyncio.run(asyncio.sleep(0.01))
    assert engine.stats()['running_sequences'] == 0


def test_bad_requests_fail_before_running(engine):
    with pytest.raises(InferError, match='max_tokens'):
        engine.infer(request('hi'), RequestConfig(max_tokens=-1))
    with pytest.raises(InferError, match='top_p'):
        engine.infer(request('hi'), RequestConfig(top_p=0))
    with pytest.raises(InferError, match='n=9'):
        engine.infer(request('hi'), RequestConfig(n=9))
    with pytest.raises(PromptTooLongError, match='context is 2048'):
        engine.infer(request('word ' * 3000), RequestConfig(max_tokens=4))
    with pytest.raises(UnknownAdapterError, match='loaded adapters: none'):
        engine.infer(request('hi', adapter='nope'), RequestConfig(max_tokens=4))
    with pytest.raises(InferError, match='messages'):
        InferRequest([])


def test_max_tokens_is_clamped_to_the_context(engine):
    prompt = engine._encode(request('word ' * 400))
    prepared = engine.prepare(request('word ' * 400), RequestConfig(max_tokens=None))
    assert prepared.config.max_tokens == 2048 - len(prompt)


def test_raw_prompt_without_template(engine):
    response = engine.infer(InferRequest(prompt='The quick brown fox'), RequestConfig(max_tokens=5))[0]
    assert response.usage.prompt_tokens == len(engine.tokenizer('The quick brown fox')['input_ids'])


@pytest.fixture(scope='module')
def two_adapters(tiny_model_dir, tmp_path_factory):
    """Two LoRA adapters with non-zero B (so each changes the output), saved as PEFT does."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    root = tmp_path_factory.mktemp('adapters')
    paths = []
    for seed, name in [(1, 'alpha'), (2, 'beta')]:
        torch.manual_seed(seed)
        base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
        model = get_peft_model(base, LoraConfig(r=4, lora_alpha=32, target_modules=['q_proj', 'v_proj', 'o_proj'],
                                                init_lora_weights=False))
        model.save_pretrained(str(root / name))
        paths.append(str(root / name))
    return paths


def test_one_batch_serves_several_adapters_and_the_base(tiny_model_dir, two_adapters):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    adapters = [f'alpha={two_adapters[0]}', f'beta={two_adapters[1]}']
    with PtEngine(str(tiny_model_dir), template='smollm2', adapters=adapters) as engine:
        assert engine.adapters == ['alpha', 'beta'] and engine.default_adapter == 'alpha'
        texts = ['hi', 'tell me', 'one two', 'z']
        choices = [None, 'beta', BASE_ADAPTER, 'alpha']
        config = RequestConfig(max_tokens=10, logprobs=True)
        engine._counters['peak_running_sequences'] = 0
        responses = engine.infer([request(t, adapter=a) for t, a in zip(texts, choices)], config, use_tqdm=False)
        assert engine.stats()['peak_running_sequences'] == 4  # mixed adapters in one batch
        prompts = [engine._encode(request(t)) for t in texts]
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)).eval()
    expected_base = generate_ids(base, engine.tokenizer, prompts[2], 10)
    peft_model = PeftModel.from_pretrained(base, two_adapters[0], adapter_name='alpha')
    peft_model.load_adapter(two_adapters[1], adapter_name='beta')
    peft_model.eval()
    expected = {}
    for name in ('alpha', 'beta'):
        peft_model.set_adapter(name)
        expected[name] = [generate_ids(peft_model, engine.tokenizer, p, 10) for p in prompts]
    assert token_ids(responses[0].choices[0]) == expected['alpha'][0]
    assert token_ids(responses[1].choices[0]) == expected['beta'][1]
    assert token_ids(responses[2].choices[0]) == expected_base
    assert token_ids(responses[3].choices[0]) == expected['alpha'][3]
    assert expected['alpha'][0] != expected['beta'][0]  # the adapters really differ


def test_merge_lora_serves_the_merged_weights(tiny_model_dir, two_adapters):
    with PtEngine(str(tiny_model_dir), template='smollm2', adapters=[two_adapters[0]]) as unmerged:
        expected = unmerged.infer(request('hi'), RequestConfig(max_tokens=10, logprobs=True))[0]
    with PtEngine(str(tiny_model_dir), template='smollm2', adapters=[two_adapters[0]], merge_lora=True) as merged:
        assert merged.adapters == [] and not hasattr(merged.model, 'peft_config')
        assert merged.model_name == unmerged.model_name
        response = merged.infer(request('hi'), RequestConfig(max_tokens=10, logprobs=True))[0]
    assert token_ids(response.choices[0]) == token_ids(expected.choices[0])

