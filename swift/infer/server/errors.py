"""OpenAI-style errors: every failed request gets `{"error": {"message", "type", "param", "code"}}`.

Handlers raise `APIError`; `from_exception` maps what the engine and the template layer raise
(InferError, SwiftError) to the status a client can act on. Nothing here imports FastAPI, so the
mapping can be tested on its own.
"""
from dataclasses import dataclass
from typing import Any, Dict, Optional

from swift.utils import SwiftError

from ..protocol import EngineClosedError, InferError, PromptTooLongError, RequestConfig, UnknownAdapterError

_REQUEST_CONFIG_FIELDS = frozenset(RequestConfig.__dataclass_fields__)


@dataclass
class APIError(Exception):
    status: int
    message: str
    type: str = 'invalid_request_error'
    param: Optional[str] = None
    code: Optional[str] = None
    headers: Optional[Dict[str, str]] = None

    def __str__(self) -> str:
        return self.message

    def body(self) -> Dict[str, Any]:
        return {'error': {'message': self.message, 'type': self.type, 'param': self.param, 'code': self.code}}


def bad_request(message: str, param: Optional[str] = None, code: Optional[str] = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def client_closed() -> APIError:
    """The client hung up before the answer (or its own body) was complete: logged as nothing worse than a 4xx."""
    return APIError(499, 'the client closed the connection before the answer was ready', code='client_closed_request')


def shutting_down() -> APIError:
    return APIError(503, 'the server is shutting down and did not finish this request in time (--shutdown_timeout); '
                    'retry on another replica or once it is back', type='server_error', code='shutting_down',
                    headers={'Connection': 'close'})


def model_not_found(name: str, served: list) -> APIError:
    return APIError(404, f'The model {name!r} does not exist. Served models: {", ".join(served)}', param='model',
                    code='model_not_found')


def queue_full(retry_after_s: int) -> APIError:
    return APIError(429, 'The server is at capacity (all slots busy and the waiting queue full); retry later',
                    type='rate_limit_error', code='queue_full', headers={'Retry-After': str(retry_after_s)})


def timed_out(seconds: float) -> APIError:
    return APIError(504, f'The request did not finish within the server\'s request timeout ({seconds:g} s)',
                    type='timeout_error', code='timeout')


def from_exception(error: BaseException) -> APIError:
    """The API error for an exception raised while handling a request."""
    if isinstance(error, APIError):
        return error
    if isinstance(error, PromptTooLongError):
        return APIError(400, str(error), param='messages', code='context_length_exceeded')
    if isinstance(error, UnknownAdapterError):
        return APIError(404, str(error), param='model', code='model_not_found')
    if isinstance(error, EngineClosedError):
        return APIError(503, str(error), type='server_error', code='shutting_down')
    if isinstance(error, InferError):
        return bad_request(str(error), param=_named_field(str(error)))
    if isinstance(error, SwiftError):  # the template layer's word on a malformed conversation
        return bad_request(str(error), param='messages')
    return APIError(500, f'internal error: {type(error).__name__}: {error}', type='server_error')


def _named_field(message: str) -> Optional[str]:
    """RequestConfig.validate starts its messages with the offending field's name ('max_tokens must be ...')."""
    first = message.split(' ', 1)[0]
    return first if first in _REQUEST_CONFIG_FIELDS else None
