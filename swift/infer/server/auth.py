"""Bearer-key authentication, as the OpenAI API does it: `Authorization: Bearer <key>`."""
import hmac
from typing import Optional

from .errors import APIError


def check_api_key(authorization: Optional[str], api_key: Optional[str]) -> None:
    """Raise a 401 APIError unless the header carries `api_key` (no key configured: everything passes)."""
    if api_key is None:
        return
    scheme, _, token = (authorization or '').partition(' ')
    # compare_digest: the time taken must not tell how much of a guessed key was right
    if scheme.lower() != 'bearer' or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
        raise APIError(401, 'Invalid or missing API key: send the header "Authorization: Bearer <key>" with the '
                       'key the server was started with (--api_key)', code='invalid_api_key',
                       headers={'WWW-Authenticate': 'Bearer'})


def has_api_key(authorization: Optional[str], api_key: Optional[str]) -> bool:
    """Whether the header carries `api_key` (always true when no key is configured)."""
    try:
        check_api_key(authorization, api_key)
    except APIError:
        return False
    return True
