"""Reading one media item: what a dataset row or a request holds → bytes, or a PIL image.

A media item may be
    a local path (absolute: the dataset layer resolves relative paths before this, see swift/dataset/media.py),
    an http(s) URL (fetched with a timeout and a size limit),
    a data: URI (data:image/png;base64,...),
    bytes, a dict {'bytes': ..., 'path': ...} (how Hugging Face `datasets` stores an Image column),
    or a PIL image (images only).
Every failure is a MediaError whose message names the item (shortened) and what went wrong, so callers
can prefix the row's file:line. This module is the only place media are read; PIL is imported when used.
"""
import base64
import binascii
import io
import os
import urllib.error
import urllib.request
from typing import Any

from .errors import SwiftError, did_you_mean

URL_TIMEOUT_S = 30
MAX_MEDIA_BYTES = 256 * 1024 * 1024  # one image/video/audio file; past it a row is refused, not loaded


class MediaError(SwiftError):
    """A media item that cannot be read (the message says which and why)."""


def describe(value: Any) -> str:
    """A short name of a media item for error messages (never a whole base64 string)."""
    if isinstance(value, str):
        return value if len(value) <= 80 else value[:60] + f'... ({len(value)} characters)'
    if isinstance(value, (bytes, bytearray)):
        return f'<{len(value)} bytes>'
    return f'<{type(value).__name__}>'


def is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(('http://', 'https://'))


def is_data_uri(value: Any) -> bool:
    return isinstance(value, str) and value.startswith('data:')


def decode_data_uri(value: str) -> bytes:
    """data:[<mime>][;base64],<payload> → bytes."""
    header, comma, payload = value.partition(',')
    if not comma:
        raise MediaError(f'{describe(value)}: a data: URI needs a "," before its payload')
    if not header.endswith(';base64'):
        raise MediaError(f'{describe(value)}: only base64 data: URIs are supported (data:image/png;base64,...)')
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as e:
        raise MediaError(f'{describe(value)}: the base64 payload does not decode ({e})') from None


def fetch_url(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT_S) as response:  # noqa: S310 (http(s) checked above)
            data = response.read(MAX_MEDIA_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise MediaError(f'{describe(url)}: cannot download ({getattr(e, "reason", e)})') from None
    if len(data) > MAX_MEDIA_BYTES:
        raise MediaError(f'{describe(url)}: larger than {MAX_MEDIA_BYTES} bytes')
    return data


def read_bytes(value: Any) -> bytes:
    """The raw bytes of a path, URL, data: URI, bytes or {'bytes'/'path'} dict."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, dict):
        if value.get('bytes') is not None:
            return read_bytes(value['bytes'])
        if value.get('path'):
            return read_bytes(value['path'])
        raise MediaError(f'a media dict needs "bytes" or "path", got keys {sorted(value)}')
    if not isinstance(value, str):
        raise MediaError(f'a media item must be a path, URL, data: URI or bytes, got {type(value).__name__}')
    if is_data_uri(value):
        return decode_data_uri(value)
    if is_url(value):
        return fetch_url(value)
    try:
        if os.path.getsize(value) > MAX_MEDIA_BYTES:
            raise MediaError(f'{describe(value)}: larger than {MAX_MEDIA_BYTES} bytes')
        with open(value, 'rb') as f:
            return f.read()
    except OSError as e:
        raise MediaError(f'{describe(value)}: cannot read ({e.strerror or e})') from None


def load_image(value: Any):
    """An RGB PIL image from any media item (see the module docstring)."""
    from PIL import Image, UnidentifiedImageError
    if isinstance(value, Image.Image):
        return value.convert('RGB') if value.mode != 'RGB' else value
    data = read_bytes(value)
    try:
        image = Image.open(io.BytesIO(data))
        image.load()  # decode now: a truncated file fails here, with the row named, not inside the processor
    except UnidentifiedImageError:
        raise MediaError(f'{describe(value)}: not a readable image (unknown or broken image format)') from None
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise MediaError(f'{describe(value)}: not a readable image ({e})') from None
    return image.convert('RGB')


# ms-swift's media size controls (swift/template/media_options.py applies them): the name as in
# --model_kwargs '{"max_pixels": ...}' → its type; the environment variable is the upper-case name
MEDIA_OPTIONS = {
    'max_pixels': int,
    'min_pixels': int,
    'image_max_token_num': int,
    'video_max_pixels': int,
    'fps': float,
    'fps_max_frames': int,
    'sampling_rate': int,
}


def check_model_kwargs(value: Any) -> dict:
    """--model_kwargs as a dict of media controls with their types: a JSON string or a dict (ms-swift takes both);
    a SwiftError for a key that is not a control (with the closest names) or a value of the wrong type."""
    import json
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError as e:
            raise SwiftError(f'--model_kwargs is not valid JSON ({e}): write it as \'{{"max_pixels": 602112}}\'') \
                from None
    if not isinstance(value, dict):
        raise SwiftError(f'--model_kwargs must be a JSON object such as {{"max_pixels": 602112}}, got '
                         f'{type(value).__name__}')
    checked = {}
    for key, item in value.items():
        name = str(key).lower()
        if name not in MEDIA_OPTIONS:
            raise SwiftError(f'--model_kwargs: unknown key {key!r}; the keys are the media controls '
                             f'{", ".join(MEDIA_OPTIONS)}.{did_you_mean(name, MEDIA_OPTIONS)}')
        kind = MEDIA_OPTIONS[name]
        try:
            if isinstance(item, bool) or (kind is int and isinstance(item, float) and not item.is_integer()):
                raise ValueError
            checked[name] = kind(item)
        except (TypeError, ValueError):
            raise SwiftError(f'--model_kwargs: {key} must be {"an integer" if kind is int else "a number"}, '
                             f'got {item!r}') from None
    return checked
