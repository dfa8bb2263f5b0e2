"""Hostile and careless input against a real server (tiny model, 127.0.0.1): every bad request is a 4xx with an
OpenAI-shaped error naming the field, before any model work; limits on size, read time and inputs; the key guards
everything but a bare health check."""
import json
import logging
import socket
import time

import pytest

from swift.infer import RequestConfig
from swift.infer.protocol import InferError

from .conftest import GatedEngine, httpx, running_server, user

API_KEY = 'sk-hardening'
LIMIT_BYTES = 64 * 1024


@pytest.fixture(scope='module')
def server(tiny_engine):
    with running_server(tiny_engine, served_model_name='tiny', api_key=API_KEY) as running:
        yield running


@pytest.fixture(scope='module')
def limited(tiny_engine):
    """Small limits, so that hitting them is cheap."""
    with running_server(tiny_engine, served_model_name='tiny', max_request_bytes=LIMIT_BYTES, body_timeout=0.5,
                        max_embedding_inputs=4) as running:
        yield running


def post(server, path, body, key=API_KEY):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {'Authorization': f'Bearer {key}', 'Content-Type': 'application/json'}
    return httpx.post(server.url + path, content=content, headers=headers, timeout=60)


def error_of(response, status: int, param=None, code=None, says=None):
    assert response.status_code == status, response.text
    error = response.json()['error']
    assert set(error) == {'message', 'type', 'param', 'code'} and error['message'], error
    if param is not None:
        assert error['param'] == param, error
        assert param.split('.')[0] in error['message'], error  # the message names the field too
    if code is not None:
        assert error['code'] == code, error
    if says is not None:
        assert says in error['message'], error
    return error


CHAT, COMPLETIONS, EMBEDDINGS = '/v1/chat/completions', '/v1/completions', '/v1/embeddings'


@pytest.mark.parametrize('path, body, param', [
    (CHAT, {'messages': user('hi \ud800')}, 'messages.0.content'),
    (CHAT, {'messages': [{'role': 'user', 'content': [{'type': 'text', 'text': 'hi \udfff'}]}]},
     'messages.0.content.0.text'),
    (CHAT, {'messages': user('hi'), 'stop': ['hi \ud800']}, 'stop.0'),
    (COMPLETIONS, {'prompt': 'hi \ud800', 'echo': True, 'max_tokens': 0}, 'prompt'),
    (COMPLETIONS, {'prompt': ['fine', 'hi \ud800'], 'max_tokens': 1}, 'prompt.1'),
    (EMBEDDINGS, {'input': 'hi \ud800'}, 'input'),
    (EMBEDDINGS, {'input': ['ok', 'hi \ud800']}, 'input.1'),
])
def test_a_lone_surrogate_is_a_400_naming_the_field_and_position(server, path, body, param):
    error_of(post(server, path, {'model': 'tiny', **body}), 400, param=param, says='at character 3')


def test_a_surrogate_in_a_key_is_a_400_shown_escaped(server):
    body = {'model': 'tiny', 'messages': user('hi'), 'metadata': {'\ud800': 'x'}}
    error = error_of(post(server, CHAT, body), 400, says='lone UTF-16 surrogate')
    assert error['param'] == 'metadata.\\ud800'  # escaped: the error body itself must be valid UTF-8


@pytest.mark.parametrize('body', [
    b'{"model": "tiny", "messages": ' + b'[' * 10_000 + b']' * 10_000 + b'}',
    b'{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "metadata": ' + b'{"a": ' * 5_000 + b'1' +
    b'}' * 5_000 + b'}',
    b'{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "metadata": {"a": ' + b'[' * 100 + b']' * 100 +
    b'}}',
])
def test_deep_nesting_is_a_400_invalid_json(server, body):
    error = error_of(post(server, CHAT, body), 400, code='invalid_json', says='nested')
    assert 'levels' in error['message']


def test_numbers_python_cannot_convert_are_a_400_invalid_json(server):
    body = b'{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "seed": ' + b'9' * 5000 + b'}'
    error_of(post(server, CHAT, body), 400, code='invalid_json')


@pytest.mark.parametrize('path, body, param', [
    (EMBEDDINGS, {'input': [1_000_000_000]}, 'input'),
    (EMBEDDINGS, {'input': [-5]}, 'input'),
    (EMBEDDINGS, {'input': [2**70]}, 'input'),
    (EMBEDDINGS, {'input': [[1, 2], [3, 49152]]}, 'input'),  # the tiny model's vocabulary is [0, 49152)
    (COMPLETIONS, {'prompt': [1_000_000_000]}, 'prompt'),
    (COMPLETIONS, {'prompt': [-5], 'echo': True, 'max_tokens': 0}, 'prompt'),
    (COMPLETIONS, {'prompt': [[2**70]]}, 'prompt'),
])
def test_token_ids_outside_the_vocabulary_are_a_400(server, path, body, param):
    error_of(post(server, path, {'model': 'tiny', **body}), 400, param=param)


def test_token_id_error_says_which_id_and_the_range(server):
    error = error_of(post(server, EMBEDDINGS, {'model': 'tiny', 'input': [[1, 2], [3, 1_000_000_000]]}), 400,
                     param='input')
    assert '1000000000' in error['message'] and '49152' in error['message'] and 'input[1]' in error['message']


@pytest.mark.parametrize('field, raw', [
    ('temperature', b'1e999'), ('temperature', b'NaN'), ('repetition_penalty', b'1e999'),
    ('repetition_penalty', b'-Infinity'), ('top_p', b'NaN'), ('presence_penalty', b'Infinity'),
    ('frequency_penalty', b'NaN'), ('top_p', b'1e999'),
])
def test_non_finite_sampling_values_are_a_400(server, field, raw):
    body = b'{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "%s": %s}' % (
        field.encode(), raw)
    error_of(post(server, CHAT, body), 400, param=field, says='finite')
    body = b'{"model": "tiny", "prompt": "hi", "max_tokens": 2, "%s": %s}' % (field.encode(), raw)
    error_of(post(server, COMPLETIONS, body), 400, param=field, says='finite')


@pytest.mark.parametrize('config, field', [
    (dict(temperature=float('inf')), 'temperature'), (dict(temperature=float('nan')), 'temperature'),
    (dict(repetition_penalty=float('inf')), 'repetition_penalty'), (dict(top_p=float('nan')), 'top_p'),
    (dict(seed=2**64), 'seed'), (dict(seed=-2**63 - 1), 'seed'),
])
def test_the_engine_api_refuses_non_finite_values_and_seeds_out_of_int64(config, field):
    with pytest.raises(InferError, match=field):
        RequestConfig(**config).validate()


def test_extreme_but_finite_sampling_values_are_answered(server):
    """A tiny temperature or penalty overflows float32 logits; the answer must still be a token, not a 500."""
    for extra in ({'temperature': 1e-300, 'seed': 1}, {'temperature': 1.0, 'repetition_penalty': 1e-300, 'seed': 2},
                  {'temperature': 1e300, 'seed': 3}, {'temperature': 0.7, 'top_p': 1e-300, 'seed': 4},
                  {'temperature': 1.0, 'seed': 2**63 - 1, 'n': 2}, {'top_k': 2**40, 'temperature': 1.0}):
        response = post(server, CHAT, {'model': 'tiny', 'messages': user('hi'), 'max_tokens': 2, **extra})
        assert response.status_code == 200, (extra, response.text)


def test_a_body_over_the_limit_is_a_413_before_it_is_read(limited):
    port = int(limited.url.rsplit(':', 1)[1])
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:  # headers only: nothing read, 413 at once
        sock.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                     b'Content-Length: 52428800\r\n\r\n')
        status, headers, body = read_response(sock)
    assert status == 413 and headers.get('connection') == 'close'
    assert json.loads(body)['error']['code'] == 'request_too_large'
    chunked = b'{"model": "tiny", "messages": [{"role": "user", "content": "' + b'x' * LIMIT_BYTES + b'"}]}'
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:  # no length given: counted as it comes
        sock.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                     b'Transfer-Encoding: chunked\r\n\r\n' + b'%x\r\n' % len(chunked) + chunked + b'\r\n0\r\n\r\n')
        status, _, body = read_response(sock)
    assert status == 413 and 'max_request_bytes' in json.loads(body)['error']['message']
    assert limited.state.stats.snapshot(limited.state.admission, limited.state.engine)['running'] == 0


def test_a_body_that_never_finishes_is_a_408(limited):
    port = int(limited.url.rsplit(':', 1)[1])
    started = time.monotonic()
    # the socket's own timeout is far past --body_timeout (0.5 s): a server that never cut the body fails here
    # (socket.timeout), however loaded the machine; the lower bound says the server waited for the body first
    with socket.create_connection(('127.0.0.1', port), timeout=60) as sock:
        sock.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                     b'Content-Length: 1000\r\n\r\n{"model": "tiny"')
        status, headers, body = read_response(sock)
        assert sock.recv(1) == b''  # and the connection is closed, not held open
    assert status == 408 and headers.get('connection') == 'close' and time.monotonic() - started >= 0.5
    error = json.loads(body)['error']
    assert error['code'] == 'request_timeout' and 'within 0.5 s (--body_timeout)' in error['message']


def test_too_many_embedding_inputs_is_a_400_before_any_work(limited):
    response = httpx.post(limited.url + EMBEDDINGS, json={'model': 'tiny', 'input': ['a'] * 5}, timeout=30)
    error_of(response, 400, param='input', says='max_embedding_inputs')
    assert httpx.post(limited.url + EMBEDDINGS, json={'model': 'tiny', 'input': ['a'] * 4},
                      timeout=30).status_code == 200


def test_health_tells_only_ok_without_the_key(server):
    bare = httpx.get(server.url + '/health', timeout=10)
    assert bare.status_code == 200 and bare.json() == {'status': 'ok'}
    wrong = httpx.get(server.url + '/health', headers={'Authorization': 'Bearer nope'}, timeout=10)
    assert wrong.json() == {'status': 'ok'}
    full = httpx.get(server.url + '/health', headers={'Authorization': f'Bearer {API_KEY}'}, timeout=10).json()
    assert full['status'] == 'ok' and full['model'] == 'tiny' and 'finished' in full


@pytest.mark.parametrize('path', ['/docs', '/redoc', '/openapi.json'])
def test_docs_need_the_key(server, path):
    assert httpx.get(server.url + path, timeout=10).status_code == 401
    answer = httpx.get(server.url + path, headers={'Authorization': f'Bearer {API_KEY}'}, timeout=10)
    assert answer.status_code == 200


def test_docs_are_open_without_a_key_and_can_be_turned_off():
    with running_server(GatedEngine()) as open_server:
        assert httpx.get(open_server.url + '/openapi.json', timeout=10).status_code == 200
        assert httpx.get(open_server.url + '/health', timeout=10).json()['model'] == 'gated'  # no key: all of it
    with running_server(GatedEngine(), enable_docs=False) as closed:
        for path in ('/docs', '/redoc', '/openapi.json'):
            assert httpx.get(closed.url + path, timeout=10).status_code == 404


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_a_client_that_leaves_mid_body_is_not_an_error(server):
    records = _Records()
    loggers = [logging.getLogger(name) for name in ('swift.deploy', 'uvicorn.error')]
    for logger in loggers:
        logger.addHandler(records)
    try:
        port = int(server.url.rsplit(':', 1)[1])
        with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
            sock.sendall(('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                          f'Authorization: Bearer {API_KEY}\r\nContent-Length: 1000\r\n\r\n{{"model": ').encode())
            time.sleep(0.3)  # the server is waiting for the rest of the body
        time.sleep(0.5)
    finally:
        for logger in loggers:
            logger.removeHandler(records)
    assert [r.getMessage() for r in records.records if r.levelno >= logging.ERROR] == []
    assert post(server, CHAT, {'model': 'tiny', 'messages': user('hi'), 'max_tokens': 1}).status_code == 200


def read_response(sock: socket.socket):
    """(status, lower-cased headers, body) of one HTTP/1.1 response with a Content-Length."""
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(65536)
        assert chunk, f'connection closed before the response headers: {data!r}'
        data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    headers = dict(line.split(': ', 1) for line in lines[1:])
    headers = {k.lower(): v for k, v in headers.items()}
    length = int(headers.get('content-length', 0))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, 'connection closed in the middle of the response body'
        body += chunk
    return int(lines[0].split()[1]), headers, body


def test_a_body_of_millions_of_values_is_refused_without_holding_the_server(tiny_engine):
    big = b'{"model": "tiny", "input": [' + b','.join([b'[0]'] * 1_100_000) + b']}'  # 4.4 MB of one-id inputs
    with running_server(tiny_engine, served_model_name='tiny', max_request_bytes=len(big)) as server:
        started = time.monotonic()
        error = error_of(httpx.post(server.url + EMBEDDINGS, content=big, timeout=60), 400, param='input',
                         code='invalid_json')
        # refused after reading, before any embedding: seconds (17 s seen at load 13 on 2 cores beside another test
        # worker), where embedding 1.1M inputs would hold the server for many minutes
        assert 'more than 1,000,000 values' in error['message'] and time.monotonic() - started < 30
