"""Fuzzing `swift deploy`: a seeded, bounded set of malformed and hostile requests against a real server (uvicorn on
127.0.0.1, the tiny model). Whatever comes in: no 5xx (nor a server_error event in a stream), every 4xx has an
OpenAI-shaped error body that names the field it is about, the server still answers afterwards with no slot held,
and its memory comes back near where it started.

Each case takes a valid request and breaks one thing: one field gets a hostile value (wrong type, huge or
non-finite number, lone surrogate, deep nesting, out-of-vocabulary token ids, an odd message shape), an unknown
field is added, or the body itself is broken (truncated, not an object, not UTF-8, over the size limit, shorter than
its Content-Length). Values that are always wrong (a surrogate, a non-finite number, too much nesting, bad token ids,
an unknown field) must be refused; any other value may also be accepted (200).
"""
import gc
import json
import os
import random
import socket
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

import pytest

from .conftest import httpx, running_server
from .test_hardening import read_response

SEED = 1234
CASES = 260
LIMIT_BYTES = 256 * 1024
MEMORY_SLACK_MB = 64  # seen: +2 MB; loose, because the allocator keeps some freed pages

CHAT, COMPLETIONS, EMBEDDINGS = '/v1/chat/completions', '/v1/completions', '/v1/embeddings'
BASES = {
    CHAT: {'model': 'tiny', 'messages': [{'role': 'user', 'content': 'hi'}], 'max_tokens': 2},
    COMPLETIONS: {'model': 'tiny', 'prompt': 'hi', 'max_tokens': 2},
    EMBEDDINGS: {'model': 'tiny', 'input': 'hi'},
}
SAMPLING = ['temperature', 'top_p', 'top_k', 'n', 'seed', 'stop', 'repetition_penalty', 'presence_penalty',
            'frequency_penalty', 'stream', 'stream_options', 'logit_bias', 'user', 'metadata', 'model']
FIELDS = {
    CHAT: SAMPLING + ['messages', 'max_tokens', 'max_completion_tokens', 'logprobs', 'top_logprobs', 'tools',
                      'tool_choice'],
    COMPLETIONS: SAMPLING + ['prompt', 'max_tokens', 'logprobs', 'echo', 'suffix', 'best_of'],
    EMBEDDINGS: ['input', 'model', 'encoding_format', 'dimensions', 'user'],
}
# Fields whose numbers are clamped rather than refused: a huge valid value would generate up to the whole context.
NO_HUGE_VALUES = {'max_tokens', 'max_completion_tokens'}
NEST = '__nest_{}__'  # a placeholder, replaced by raw brackets (json.dumps itself cannot write deep nesting)


@dataclass
class Case:
    path: str
    body: bytes
    field: Optional[str] = None  # the field the case breaks, to be named by a 4xx
    must_fail: bool = False  # the value is wrong wherever it appears
    raw: Optional[str] = None  # 'too_large' | 'short_body': sent by hand on a socket
    label: str = ''


def _nested(depth: int) -> str:
    return NEST.format(depth)


# (label, must_fail, the fields it is for (None: any), value factory)
VALUES: List[Tuple[str, bool, Optional[Tuple[str, ...]], Callable[[random.Random, str], Any]]] = [
    ('null', False, None, lambda r, f: None),
    ('bool', False, None, lambda r, f: r.choice([True, False])),
    ('string', False, None, lambda r, f: r.choice(['x', '', ' ', '0', 'true', 'NaN', '\x00', '😀' * 3, 'a' * 5000])),
    ('list', False, None, lambda r, f: r.choice([[], [1, 'a'], ['x'], [None], [[]], [{}]])),
    ('object', False, None, lambda r, f: r.choice([{}, {'a': 1}, {'type': 'text'}, {'role': 'user'}])),
    ('negative', False, None, lambda r, f: r.choice([-1, -5, -0.0, -1e-300, -2**31])),
    ('tiny', False, None, lambda r, f: r.choice([0, 1e-300, 5e-324, 1e-8])),
    ('huge', False, None, lambda r, f: r.choice([2**31, 2**63, 2**70, 10**30, 1e308])),
    ('non-finite', True, None, lambda r, f: r.choice([float('nan'), float('inf'), float('-inf')])),
    ('surrogate', True, None, lambda r, f: r.choice(['hi \ud800', '\udfff', 'ok \udbff end', ['x', 'y \ud800']])),
    ('deep nesting', True, None, lambda r, f: _nested(r.choice([65, 200, 3000, 20000]))),
    ('bad token ids', True, ('input', 'prompt'),
     lambda r, f: r.choice([[1_000_000_000], [-5], [2**70], [[1, 2], [49152]], [3, -1]])),
    ('odd messages', False, ('messages', ), lambda r, f: r.choice([
        [{'role': 'user'}], [{'content': 'x'}], [{'role': 5, 'content': 'x'}], [{'role': 'user', 'content': {'a': 1}}],
        [{'role': 'user', 'content': [{'type': 'image_url', 'image_url': 5}]}],
        [{'role': 'user', 'content': [{'type': 'text'}]}], [{'role': 'user', 'content': [5]}],
        [{'role': 'tool', 'content': 'x'}], [{'role': 'assistant', 'content': 'x', 'tool_calls': 'bad'}],
        [{'role': 'user', 'content': 'x', 'name': {'a': 1}}], [{'role': 'system', 'content': 'x'}],
        [{'role': 'user', 'content': 'x'}] * 3, [{'role': 'user', 'content': 'hi'}, {'role': 'bot', 'content': 'x'}],
    ])),
    ('odd tools', False, ('tools', ), lambda r, f: r.choice([[{'a': 1}], [{'type': 'function'}], ['x'],
                                                          [{'type': 'function', 'function': {'name': 5}}]])),
]


def _value(rng: random.Random, field: str) -> Tuple[str, bool, Any]:
    """(label, must_fail, value) for `field`: half the time one made for it, when there is one."""
    own = [v for v in VALUES if v[2] and field in v[2]]
    general = [v for v in VALUES if v[2] is None and not (v[0] == 'huge' and field in NO_HUGE_VALUES)]
    label, must_fail, _, make = rng.choice(own if own and rng.random() < 0.5 else general)
    return label, must_fail, make(rng, field)


def _case(rng: random.Random) -> Case:
    path = rng.choice(list(BASES))
    body = json.loads(json.dumps(BASES[path]))
    kind = rng.random()
    if kind < 0.06:
        return _broken_body(rng, path, body)
    if kind < 0.10:
        name = rng.choice(['frobnicate', 'Temperature', 'max_token', 'functions', 'prompt' if path == CHAT else
                           'messages'])
        body[name] = 1
        return Case(path, _dump(body), field=name, must_fail=True, label=f'unknown field {name}')
    field = rng.choice(FIELDS[path])
    label, must_fail, value = _value(rng, field)
    body[field] = value
    if body.get('stream') is True and path == COMPLETIONS and isinstance(body.get('prompt'), list):
        body['stream'] = False  # one prompt per stream: keep the case about the broken field
    return Case(path, _dump(body), field=field, must_fail=must_fail, label=f'{field}: {label}')


def _broken_body(rng: random.Random, path: str, body: dict) -> Case:
    text = _dump(body)
    choice = rng.randrange(7)
    if choice == 0:
        return Case(path, text[:rng.randrange(1, len(text) - 1)], must_fail=True, label='truncated')
    if choice == 1:
        return Case(path, rng.choice([b'[]', b'"x"', b'1', b'null', b'', b'{', b'}']), must_fail=True,
                    label='not an object')
    if choice == 2:
        return Case(path, text.replace(b'"tiny"', b'"\xff\xfe"'), must_fail=True, label='not UTF-8')
    if choice == 3:
        return Case(path, text, must_fail=True, raw='too_large', label='over the size limit')
    if choice == 4:
        return Case(path, text, must_fail=True, raw='short_body', label='shorter than its Content-Length')
    if choice == 5:
        return Case(path, text.replace(b'}', b', "user": "' + b'x' * LIMIT_BYTES + b'"}', 1), must_fail=True,
                    raw='too_large', label='over the size limit, counted')
    # the last of two keys counts: a wrong model after a right one
    return Case(path, text[:-1] + b', "model": 5}', field='model', must_fail=True, label='duplicate key')


def _dump(body: dict) -> bytes:
    text = json.dumps(body)  # NaN and Infinity are written as JavaScript does; Python's parser reads them back
    for depth in (65, 200, 3000, 20000):
        text = text.replace(f'"{NEST.format(depth)}"', '[' * depth + ']' * depth)
    return text.encode('utf-8', 'surrogatepass')  # a JSON escape keeps the surrogate ASCII; this never triggers


CASE_LIST = [_case(random.Random(SEED * 1000 + i)) for i in range(CASES)]


def rss_mb() -> float:
    with open(f'/proc/{os.getpid()}/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture(scope='module')
def fuzz_server(tiny_engine):
    with running_server(tiny_engine, served_model_name='tiny', max_request_bytes=LIMIT_BYTES, body_timeout=0.3,
                        max_embedding_inputs=8, request_timeout=120) as running:
        yield running


def test_hostile_requests_never_reach_a_5xx(fuzz_server):
    with httpx.Client(timeout=60) as client:
        check_cases(fuzz_server, client)


def check_cases(server, client):
    for _ in range(10):  # warm up: the baseline includes what serving itself allocates once
        assert send(client, server, Case(CHAT, _dump(BASES[CHAT])))[0] == 200
        send(client, server, Case(EMBEDDINGS, _dump({'model': 'tiny', 'input': ['a', 'b']})))
    gc.collect()
    baseline = rss_mb()
    failures = []
    for case in CASE_LIST:
        status, text = send(client, server, case)
        problem = judge(case, status, text)
        if problem:
            failures.append(f'{case.label} on {case.path} -> {status}: {problem} | body {case.body[:150]!r}')
    assert not failures, f'{len(failures)} of {len(CASE_LIST)} cases failed:\n' + '\n'.join(failures[:20])
    # still serving, nothing held
    assert send(client, server, Case(CHAT, _dump(BASES[CHAT])))[0] == 200
    assert server.wait_until(lambda: server.state.admission.running == 0 and server.state.admission.waiting == 0)
    gc.collect()
    grown = rss_mb() - baseline
    assert grown < MEMORY_SLACK_MB, f'RSS grew by {grown:.0f} MB (from {baseline:.0f} MB)'


def test_the_case_set_covers_every_kind_of_hostile_input():
    labels = ' | '.join(case.label for case in CASE_LIST)
    for kind in ('surrogate', 'non-finite', 'deep nesting', 'bad token ids', 'huge', 'odd messages', 'unknown field',
                 'truncated', 'over the size limit', 'shorter than its Content-Length', 'not UTF-8', 'list', 'object'):
        assert kind in labels, kind


def send(client, server, case: Case) -> Tuple[int, str]:
    if case.raw is None:
        try:
            response = client.post(server.url + case.path, content=case.body,
                                   headers={'Content-Type': 'application/json'})
        except httpx.TransportError as e:  # e.g. a response that could not be encoded: the connection drops
            return 0, f'{type(e).__name__}: {e}'
        return response.status_code, response.text
    port = int(server.url.rsplit(':', 1)[1])
    head = f'POST {case.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'.encode()
    with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
        if case.raw == 'short_body':  # promises more than it sends, and waits
            sock.sendall(head + b'Content-Length: %d\r\n\r\n' % (len(case.body) + 100) + case.body)
        elif len(case.body) > LIMIT_BYTES:  # no length given: the server counts what arrives
            sock.sendall(head + b'Transfer-Encoding: chunked\r\n\r\n' + b'%x\r\n' % len(case.body) + case.body +
                         b'\r\n0\r\n\r\n')
        else:  # declares a length over the limit, and waits for the answer before sending it (as 100-continue)
            sock.sendall(head + b'Content-Length: %d\r\n\r\n' % (LIMIT_BYTES + 1))
        status, _, body = read_response(sock)
    return status, body.decode('utf-8')


def judge(case: Case, status: int, text: str) -> Optional[str]:
    """What is wrong with this answer to this case, or None."""
    if status == 0:
        return f'no answer ({text})'
    if status >= 500:
        return 'a 5xx'
    if status == 200:
        if '"server_error"' in text:
            return 'a server_error event in the stream'
        return 'accepted' if case.must_fail else None
    try:
        error = json.loads(text)['error']
    except (ValueError, KeyError, TypeError):
        return f'not an OpenAI error body: {text[:200]}'
    if set(error) != {'message', 'type', 'param', 'code'} or not error['message']:
        return f'not an OpenAI error shape: {error}'
    unparsable = error['code'] == 'invalid_json' and error['param'] is None  # past the parser: no field to name
    if case.field is not None and status in (400, 404) and not unparsable:
        named = (error['param'] or '').split('.')[0] == case.field or case.field in error['message']
        if not named:
            return f'the error does not name {case.field!r}: {error}'
    if case.raw == 'too_large' and status != 413:
        return 'not a 413'
    if case.raw == 'short_body' and status != 408:
        return 'not a 408'
    return None
