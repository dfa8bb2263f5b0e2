"""A request body as untrusted input: read within a size and a time limit, parsed, then checked before validation.

    body = await parse_body(request, ChatCompletionRequest, BodyLimits(max_bytes=16 << 20, timeout=30))

Every way a body can be wrong is a 4xx with an OpenAI-shaped error, never a 500:
- larger than `max_bytes` → 413 (from Content-Length before reading anything, else counted as it arrives);
- not complete within `timeout` seconds (a Content-Length longer than what is sent) → 408;
- the client hangs up mid-body → 499 (nobody is left to read it, and it is not the server's error);
- not JSON, not UTF-8, nested past Python's recursion limit, a number with more digits than Python converts
  → 400 invalid_json; nested more than MAX_JSON_DEPTH levels → 400 invalid_json naming the field;
- text with a lone UTF-16 surrogate → 400 naming the field and the character (tokenizers raise TypeError on it);
- a non-finite number (NaN, Infinity, 1e999: Python's parser reads them) → 400 naming the field;
- more than MAX_JSON_VALUES values → 400 (checking them would hold the event loop for seconds);
- then pydantic: an unknown, missing or mistyped field → 400 naming it.
413 and 408 close the connection: what is left of such a body is not read. A large body is checked in a worker
thread, so that streams in flight keep flowing meanwhile.
"""
import asyncio
import json
from dataclasses import dataclass
from typing import Any, Dict, Optional

from fastapi import Request
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from swift.utils.untrusted import dotted, find_problem

from .errors import APIError, bad_request, client_closed

# Deep enough for any real request (a tool's JSON schema nests a few levels); shallow enough that nothing after
# the parser (pydantic, templates, json.dumps of a response) can recurse its way to a RecursionError.
MAX_JSON_DEPTH = 64
# Twice the largest real body (256 embedding inputs of 2048 token ids each); walking a million values takes ~0.5 s.
MAX_JSON_VALUES = 1_000_000
THREAD_BYTES = 1024 * 1024  # bodies larger than this are parsed and checked off the event loop
CLOSE = {'Connection': 'close'}


@dataclass
class BodyLimits:
    max_bytes: Optional[int] = 16 * 1024 * 1024  # None: no limit
    timeout: Optional[float] = 30.0  # seconds to receive the whole body; None: no limit


async def parse_body(request: Request, model: type, limits: Optional[BodyLimits] = None):
    """The JSON body validated as `model`; a 4xx APIError for anything wrong with it (see the module docstring)."""
    raw = await read_body(request, limits or BodyLimits())
    if len(raw) > THREAD_BYTES:
        return await asyncio.to_thread(_decode_and_validate, raw, model)
    return _decode_and_validate(raw, model)


def _decode_and_validate(raw: bytes, model: type):
    return validate(decode_json(raw), model)


async def read_body(request: Request, limits: BodyLimits) -> bytes:
    declared = request.headers.get('content-length', '')
    if limits.max_bytes is not None and declared.isdigit() and int(declared) > limits.max_bytes:
        raise too_large(limits.max_bytes)
    try:
        return await asyncio.wait_for(_read_within(request, limits.max_bytes), limits.timeout)
    except asyncio.TimeoutError:
        raise APIError(408, f'the request body did not arrive within {limits.timeout:g} s (--body_timeout); send '
                       'the whole body at once, with a Content-Length that matches it', code='request_timeout',
                       headers=CLOSE) from None
    except ClientDisconnect:
        raise client_closed() from None


async def _read_within(request: Request, max_bytes: Optional[int]) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise too_large(max_bytes)
        chunks.append(chunk)
    return b''.join(chunks)


def too_large(max_bytes: int) -> APIError:
    return APIError(413, f'the request body is larger than this server\'s limit of {max_bytes} bytes '
                    '(--max_request_bytes); send fewer or shorter inputs', code='request_too_large', headers=CLOSE)


def decode_json(raw: bytes) -> Dict[str, Any]:
    """The body as a JSON object, checked for depth, lone surrogates and non-finite numbers."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise invalid_json(f'the request body is nested more than {MAX_JSON_DEPTH} levels deep') from None
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError; an integer of more than 4300 digits
        reason = str(e).split(';')[0]  # Python's advice on its digit limit is for the server's code, not a client
        raise invalid_json(f'the request body is not valid JSON: {reason}') from None
    if not isinstance(data, dict):
        raise bad_request('the request body must be a JSON object')
    problem = find_problem(data, max_depth=MAX_JSON_DEPTH, max_values=MAX_JSON_VALUES)
    if problem is not None:
        if problem.kind in ('too_deep', 'too_many'):  # named by the top field: the full path may be 64 steps long
            field = _shown(str(problem.path[0])) if problem.path else None
            raise invalid_json(f'{field or "the request body"} {problem.message}', param=field)
        field = _shown(dotted(problem.path))
        advice = '; remove it or send the complete surrogate pair' if problem.kind == 'surrogate' else ''
        raise bad_request(f'{field} {problem.message}{advice}', param=field)
    return data


def invalid_json(message: str, param: Optional[str] = None) -> APIError:
    return bad_request(message, param=param, code='invalid_json')


def _shown(text: str) -> str:
    """Text safe to put in a JSON response: a lone surrogate (even in a key) shown as its escape."""
    return text.encode('utf-8', 'backslashreplace').decode('utf-8')


def validate(data: Dict[str, Any], model: type):
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise _validation_error(e) from None


def _validation_error(error: ValidationError) -> APIError:
    first = error.errors()[0]
    param = '.'.join(str(part) for part in first['loc']) or None
    if first['type'] == 'extra_forbidden':
        return bad_request(f'unknown parameter {param!r} (not supported by this server)', param=param,
                           code='unknown_parameter')
    if first['type'] == 'missing':
        return bad_request(f'missing required parameter {param!r}', param=param, code='missing_parameter')
    shown = repr(first.get('input'))
    shown = shown if len(shown) <= 80 else shown[:77] + '...'
    return bad_request(f'{param}: {first["msg"]} (got {shown})', param=param)
