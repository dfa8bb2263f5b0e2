"""The OpenAI-compatible routes, driven by the official `openai` client against a real server (tiny model)."""
import base64
import json
import math

import numpy as np
import openai
import pytest

from swift.infer import InferRequest, RequestConfig

from .conftest import httpx, running_server, user

API_KEY = 'sk-test-key'


@pytest.fixture(scope='module')
def server(tiny_engine):
    with running_server(tiny_engine, served_model_name='tiny', api_key=API_KEY, max_running=16) as running:
        yield running


@pytest.fixture(scope='module')
def client(server):
    return server.client(API_KEY)


def raw_post(server, path, body, key=API_KEY):
    headers = {'Authorization': f'Bearer {key}', 'Content-Type': 'application/json'}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(server.url + path, content=content, headers=headers, timeout=60)


def test_models_lists_the_served_name(client):
    assert [m.id for m in client.models.list().data] == ['tiny']


def test_chat_matches_the_engine(client, tiny_engine):
    messages = user('Hello there')
    response = client.chat.completions.create(model='tiny', messages=messages, max_tokens=12)
    reference = tiny_engine.infer([InferRequest(messages)], RequestConfig(max_tokens=12))[0]
    choice = response.choices[0]
    assert choice.message.role == 'assistant'
    assert choice.message.content == reference.choices[0].message.content
    assert choice.finish_reason == reference.choices[0].finish_reason
    assert response.model == 'tiny' and response.object == 'chat.completion'
    assert response.usage.prompt_tokens == reference.usage.prompt_tokens
    assert response.usage.completion_tokens == reference.usage.completion_tokens
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


def test_streaming_chat_concatenates_to_the_full_reply(client):
    messages = user('Tell me a story')
    full = client.chat.completions.create(model='tiny', messages=messages, max_tokens=16)
    chunks = list(client.chat.completions.create(model='tiny', messages=messages, max_tokens=16, stream=True))
    assert chunks[0].choices[0].delta.role == 'assistant'
    assert ''.join(c.choices[0].delta.content or '' for c in chunks if c.choices) == full.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == full.choices[0].finish_reason
    assert all(c.usage is None for c in chunks)  # no usage chunk unless asked for
    assert len({c.id for c in chunks}) == 1


def test_stream_options_include_usage(client):
    chunks = list(client.chat.completions.create(model='tiny', messages=user('Hi'), max_tokens=5, stream=True,
                                                 stream_options={'include_usage': True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage.completion_tokens == 5
    assert all(c.usage is None for c in chunks[:-1])


def test_n_choices_with_seeded_sampling(client):
    response = client.chat.completions.create(model='tiny', messages=user('Pick a word'), max_tokens=6, n=3,
                                              temperature=1.0, seed=5)
    assert sorted(c.index for c in response.choices) == [0, 1, 2]
    assert response.usage.completion_tokens == sum(6 for _ in range(3))
    again = client.chat.completions.create(model='tiny', messages=user('Pick a word'), max_tokens=6, n=3,
                                           temperature=1.0, seed=5)
    assert [c.message.content for c in again.choices] == [c.message.content for c in response.choices]


def test_stop_string_cuts_the_reply(client):
    content = client.completions.create(model='tiny', prompt='Count', max_tokens=12).choices[0].text
    assert len(content) >= 4
    stop = content[-3:]  # greedy: the same text again, cut where the stop string first appears
    stopped = client.completions.create(model='tiny', prompt='Count', max_tokens=12, stop=[stop]).choices[0]
    assert stopped.text == content[:content.index(stop)]
    assert stopped.finish_reason == 'stop'


def test_logprobs(client):
    response = client.chat.completions.create(model='tiny', messages=user('Hi'), max_tokens=4, logprobs=True,
                                              top_logprobs=3)
    entries = response.choices[0].logprobs.content
    assert len(entries) == 4
    for entry in entries:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 3
        assert entry.top_logprobs[0].logprob >= entry.logprob - 1e-5  # greedy picks the most likely token
    assert ''.join(e.token for e in entries) == response.choices[0].message.content


def test_completions_and_streaming_completions(client, tiny_engine):
    prompt = 'The quick brown fox'
    response = client.completions.create(model='tiny', prompt=prompt, max_tokens=8)
    reference = tiny_engine.infer([InferRequest(prompt=prompt)], RequestConfig(max_tokens=8))[0]
    assert response.object == 'text_completion'
    assert response.choices[0].text == reference.choices[0].message.content
    streamed = list(client.completions.create(model='tiny', prompt=prompt, max_tokens=8, stream=True))
    assert ''.join(c.choices[0].text for c in streamed if c.choices) == response.choices[0].text
    assert streamed[-1].choices[0].finish_reason == response.choices[0].finish_reason


def test_completions_several_prompts_and_legacy_logprobs(client):
    response = client.completions.create(model='tiny', prompt=['one two', 'three'], max_tokens=3, n=2, logprobs=2)
    assert sorted(c.index for c in response.choices) == [0, 1, 2, 3]
    for choice in response.choices:
        assert len(choice.logprobs.tokens) == 3 == len(choice.logprobs.token_logprobs)
        assert all(len(top) == 2 for top in choice.logprobs.top_logprobs)
    assert response.usage.completion_tokens == 12


def test_completions_echo_returns_the_prompt_tokens_with_their_logprobs(server, client, tiny_engine):
    import torch
    prompt = 'Question: 1 + 1 = 2'
    answer = raw_post(server, '/v1/completions', {'model': 'tiny', 'prompt': prompt, 'echo': True, 'logprobs': 2,
                                                  'max_tokens': 0}).json()
    [choice] = answer['choices']
    ids = tiny_engine.tokenizer(prompt)['input_ids']
    assert choice['text'] == prompt and choice['finish_reason'] == 'length'
    assert answer['usage'] == {'prompt_tokens': len(ids), 'completion_tokens': 0, 'total_tokens': len(ids)}
    echoed = choice['logprobs']
    assert ''.join(echoed['tokens']) == prompt and len(echoed['tokens']) == len(ids)
    assert all(prompt[offset:].startswith(token) for offset, token in zip(echoed['text_offset'], echoed['tokens']))
    assert echoed['token_logprobs'][0] is None and echoed['top_logprobs'][0] is None  # nothing before the first
    with torch.inference_mode():  # the values are the model's own, token by token
        logprobs = torch.log_softmax(tiny_engine.model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
    expected = [float(logprobs[i - 1, ids[i]]) for i in range(1, len(ids))]
    assert echoed['token_logprobs'][1:] == pytest.approx(expected, abs=1e-4)
    for value, top in zip(echoed['token_logprobs'][1:], echoed['top_logprobs'][1:]):
        assert len(top) == 2 and max(top.values()) >= value - 1e-5
    # with max_tokens >= 1 the generated tokens follow the prompt's, their offsets after it
    both = client.completions.create(model='tiny', prompt=prompt, echo=True, logprobs=1, max_tokens=3).choices[0]
    plain = client.completions.create(model='tiny', prompt=prompt, logprobs=1, max_tokens=3).choices[0]
    assert both.text == prompt + plain.text
    assert both.logprobs.tokens == echoed['tokens'] + plain.logprobs.tokens
    assert both.logprobs.text_offset == echoed['text_offset'] + plain.logprobs.text_offset
    assert both.logprobs.token_logprobs[1:] == pytest.approx(echoed['token_logprobs'][1:] +
                                                             plain.logprobs.token_logprobs, abs=1e-4)
    # without logprobs: the text alone; several prompts, n choices each
    several = client.completions.create(model='tiny', prompt=['one', 'two three'], echo=True, max_tokens=0, n=2)
    assert [c.text for c in sorted(several.choices, key=lambda c: c.index)] == ['one', 'one', 'two three',
                                                                                 'two three']
    assert all(c.logprobs is None for c in several.choices)
    assert server.state.admission.running == 0


def test_embeddings_are_normalised_mean_pooled_and_batch_independent(client, tiny_engine):
    texts = ['hello world', 'a much longer sentence about something else entirely', 'x']
    batch = client.embeddings.create(model='tiny', input=texts, encoding_format='float')
    assert [d.index for d in batch.data] == [0, 1, 2]
    vectors = [np.array(d.embedding) for d in batch.data]
    assert all(v.shape == (64, ) and math.isclose(np.linalg.norm(v), 1.0, rel_tol=1e-5) for v in vectors)
    alone = np.array(client.embeddings.create(model='tiny', input=texts[0], encoding_format='float').data[0].embedding)
    assert np.abs(alone - vectors[0]).max() < 1e-5  # padding in a batch does not change a vector
    assert np.abs(vectors[0] - vectors[1]).max() > 1e-3
    # independent reference: mean of the model's last hidden state over the tokens, normalised
    import torch
    ids = tiny_engine.tokenizer(texts[1], return_tensors='pt')['input_ids']
    with torch.inference_mode():
        hidden = tiny_engine.model.model(input_ids=ids).last_hidden_state[0]
    reference = torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy()
    assert np.abs(reference - vectors[1]).max() < 1e-5
    assert batch.usage.prompt_tokens == sum(len(tiny_engine.tokenizer(t)['input_ids']) for t in texts)


def test_embeddings_base64_encoding(server, client):
    floats = client.embeddings.create(model='tiny', input='hi', encoding_format='float').data[0].embedding
    body = raw_post(server, '/v1/embeddings', {'model': 'tiny', 'input': 'hi', 'encoding_format': 'base64'}).json()
    decoded = np.frombuffer(base64.b64decode(body['data'][0]['embedding']), dtype='<f4')
    assert np.abs(decoded - np.array(floats)).max() < 1e-6


def test_missing_or_wrong_api_key_is_401(server):
    with pytest.raises(openai.AuthenticationError) as caught:
        server.client('wrong').chat.completions.create(model='tiny', messages=user('hi'), max_tokens=2)
    assert caught.value.status_code == 401 and caught.value.body['code'] == 'invalid_api_key'
    assert httpx.get(server.url + '/v1/models').status_code == 401  # no Authorization header at all
    assert raw_post(server, '/v1/embeddings', {'model': 'tiny', 'input': 'x'}, key='x' + API_KEY).status_code == 401
    assert httpx.get(server.url + '/health').status_code == 200  # health checks need no key


def expect_error(server, path, body, status, param=None, code=None):
    response = raw_post(server, path, body)
    assert response.status_code == status, response.text
    error = response.json()['error']
    assert set(error) == {'message', 'type', 'param', 'code'} and error['message']
    if param is not None:
        assert error['param'] == param, error
    if code is not None:
        assert error['code'] == code, error
    return error


def test_bad_requests_get_openai_style_4xx_and_the_server_keeps_serving(server, client):
    chat = '/v1/chat/completions'
    hello = user('hi')
    expect_error(server, chat, b'{"model": "tiny", "messages": [', 400, code='invalid_json')
    expect_error(server, chat, b'[1, 2]', 400)
    expect_error(server, chat, {'model': 'nope', 'messages': hello}, 404, param='model', code='model_not_found')
    expect_error(server, chat, {'model': 'tiny', 'messages': hello, 'max_tokens': -3}, 400, param='max_tokens')
    expect_error(server, chat, {'model': 'tiny', 'messages': hello, 'temperature': -1}, 400, param='temperature')
    expect_error(server, chat, {'model': 'tiny', 'messages': hello, 'n': 0}, 400, param='n')
    expect_error(server, chat, {'model': 'tiny', 'messages': hello, 'max_tokens': 'many'}, 400, param='max_tokens')
    expect_error(server, chat, {'model': 'tiny'}, 400, param='messages', code='missing_parameter')
    expect_error(server, chat, {'model': 'tiny', 'messages': []}, 400, param='messages')
    expect_error(server, chat, {'model': 'tiny', 'messages': [{'role': 'robot', 'content': 'x'}]}, 400,
                 param='messages')
    expect_error(server, chat, {'model': 'tiny', 'messages': hello, 'frobnicate': 1}, 400, param='frobnicate',
                 code='unknown_parameter')
    expect_error(server, chat, {'model': 'tiny', 'messages': hello, 'n': 99}, 400, param='n')
    long_prompt = user('hello ' * 2100)  # the tiny model's context is 2048 tokens
    expect_error(server, chat, {'model': 'tiny', 'messages': long_prompt, 'stream': True}, 400, param='messages',
                 code='context_length_exceeded')
    expect_error(server, '/v1/completions', {'model': 'tiny', 'prompt': 'x', 'echo': True, 'stream': True}, 400,
                 param='echo')
    expect_error(server, '/v1/completions', {'model': 'tiny', 'prompt': 'x', 'max_tokens': 0}, 400, param='max_tokens')
    expect_error(server, '/v1/completions', {'model': 'tiny', 'prompt': 'hello ' * 2100, 'echo': True, 'logprobs': 1,
                                             'max_tokens': 0}, 400, param='prompt', code='context_length_exceeded')
    expect_error(server, '/v1/completions', {'model': 'tiny', 'prompt': ['a', 'b'], 'stream': True}, 400,
                 param='prompt')
    expect_error(server, '/v1/embeddings', {'model': 'tiny', 'input': 'hello ' * 2100}, 400, param='input',
                 code='context_length_exceeded')
    expect_error(server, '/v1/embeddings', {'model': 'tiny', 'input': 'hi', 'dimensions': 8}, 400,
                 param='dimensions')
    expect_error(server, '/v1/nowhere', {}, 404)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model='tiny', messages=hello, max_tokens=-1)
    # still serving, and no slot leaked by any of the failures
    assert client.chat.completions.create(model='tiny', messages=hello, max_tokens=3).choices[0].finish_reason
    assert server.state.admission.running == 0 and server.state.admission.waiting == 0
