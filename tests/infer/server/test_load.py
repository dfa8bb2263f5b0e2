"""Concurrency, the bounded queue (429), disconnects and timeouts, against a real server on 127.0.0.1.

The 16-client test runs the tiny model. The queue, disconnect and timeout tests run GatedEngine (a
test double whose requests finish only when the test opens its gate), so that "busy", "waiting"
and "gone" are states the test controls rather than races against a fast model.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from swift.infer import InferRequest, RequestConfig

from .conftest import GatedEngine, httpx, running_server, user


def test_sixteen_concurrent_streaming_clients_all_finish_correctly(tiny_engine):
    prompts = [f'Request number {i}: ' + 'tell me something ' * (i % 5) for i in range(16)]
    # greedy output does not depend on the batch (the engine's own tests check it against model.generate)
    expected = tiny_engine.infer([InferRequest(user(p)) for p in prompts], RequestConfig(max_tokens=16),
                                 use_tqdm=False)
    with running_server(tiny_engine, max_running=16) as server:
        client = server.client(timeout=120)
        start = threading.Barrier(16, timeout=30)

        def stream(prompt):
            start.wait()  # all 16 in flight together
            chunks = list(client.chat.completions.create(model=server.state.served.base_name, messages=user(prompt),
                                                         max_tokens=16, stream=True,
                                                         stream_options={'include_usage': True}))
            text = ''.join(c.choices[0].delta.content or '' for c in chunks if c.choices)
            reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
            return text, reasons, chunks[-1].usage

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(stream, prompts, timeout=180))
        assert server.state.admission.running == 0
    for (text, reasons, usage), reference in zip(results, expected):
        assert text == reference.choices[0].message.content  # greedy: batching changes nothing
        assert reasons == [reference.choices[0].finish_reason]
        assert usage.completion_tokens == reference.usage.completion_tokens


def _chat(client, **extra):
    return client.chat.completions.create(model='gated', messages=user('hello'), max_tokens=4, **extra)


def test_full_queue_answers_429_with_retry_after():
    engine = GatedEngine()
    with running_server(engine, max_running=1, max_queue_size=1) as server:
        client = server.client(timeout=30)
        with ThreadPoolExecutor(2) as pool:
            running = pool.submit(_chat, client)
            assert server.wait_until(lambda: server.state.admission.running_requests == 1)
            waiting = pool.submit(_chat, client)
            assert server.wait_until(lambda: server.state.admission.waiting == 1)
            with pytest.raises(openai.RateLimitError) as caught:
                _chat(client)
            assert caught.value.status_code == 429
            assert caught.value.response.headers['retry-after'] == '1'
            assert caught.value.body['code'] == 'queue_full'
            engine.gate.set()
            assert running.result(timeout=30).choices[0].message.content == 'ok'
            assert waiting.result(timeout=30).choices[0].message.content == 'ok'
        assert server.state.stats.rejected == 1
        assert server.state.admission.running == 0 and server.state.admission.waiting == 0


def test_a_client_that_leaves_mid_stream_frees_its_slot_at_once():
    engine = GatedEngine()
    with running_server(engine, max_running=1, max_queue_size=0) as server:
        body = {'model': 'gated', 'messages': user('hello'), 'stream': True}
        with httpx.stream('POST', server.url + '/v1/chat/completions', json=body, timeout=30) as response:
            assert response.status_code == 200
            lines = response.iter_lines()  # kept: a dropped iterator would close the response
            first = next(lines)
            assert first.startswith('data: ') and '"role": "assistant"' in first
            assert server.wait_until(lambda: engine.active == 1)  # the engine starts right after the role chunk
            assert server.state.admission.running == 1
        # the connection is closed: the slot comes back and the engine request is cancelled
        assert server.wait_until(lambda: server.state.admission.running == 0, timeout=3)
        assert server.wait_until(lambda: engine.active == 0 and engine.cancelled == 1, timeout=3)
        engine.gate.set()
        assert _chat(server.client(timeout=30)).choices[0].message.content == 'ok'  # the one slot is free


def test_a_client_that_gives_up_on_a_plain_request_frees_its_slot():
    engine = GatedEngine()
    with running_server(engine, max_running=1, max_queue_size=0) as server:
        body = {'model': 'gated', 'messages': user('hello')}
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(server.url + '/v1/chat/completions', json=body, timeout=0.5)
        assert server.wait_until(lambda: server.state.admission.running == 0, timeout=3)
        assert server.wait_until(lambda: engine.active == 0 and engine.cancelled == 1, timeout=3)


def test_request_timeout():
    engine = GatedEngine()  # never opened: every request runs into the timeout
    with running_server(engine, max_running=2, request_timeout=0.3) as server:
        with pytest.raises(openai.APIStatusError) as caught:
            _chat(server.client(timeout=30))
        assert caught.value.status_code == 504 and caught.value.body['code'] == 'timeout'
        body = {'model': 'gated', 'messages': user('hello'), 'stream': True}
        response = httpx.post(server.url + '/v1/chat/completions', json=body, timeout=30)
        events = [line[len('data: '):] for line in response.text.splitlines() if line.startswith('data: ')]
        assert '"code": "timeout"' in events[-2] and events[-1] == '[DONE]'
        assert server.wait_until(lambda: server.state.admission.running == 0 and engine.active == 0)


def test_embeddings_need_an_in_process_transformers_model():
    with running_server(GatedEngine()) as server:
        response = httpx.post(server.url + '/v1/embeddings', json={'model': 'gated', 'input': 'hi'}, timeout=30)
        assert response.status_code == 400 and response.json()['error']['code'] == 'embeddings_unsupported'
