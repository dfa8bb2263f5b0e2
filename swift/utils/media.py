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
from typing import Any, Callable, List, Optional

from .errors import SwiftError, did_you_mean

URL_TIMEOUT_S = 30
MAX_MEDIA_BYTES = 256 * 1024 * 1024  # one image/video/audio file; past it a row is refused, not loaded


class MediaError(SwiftError):
    """A media item that cannot be read (the message says which and why)."""


def describe(value: Any) -> str:
    """A short name of a media item for error messages (never a whole base64 string, always a whole path: the
    file's name is at its end)."""
    if isinstance(value, str):
        if len(value) <= 80 or (len(value) <= 1024 and not is_data_uri(value)):  # a path or URL
            return value
        return value[:60] + f'... ({len(value)} characters)'
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
    'video_min_pixels': int,
    'video_total_pixels': int,
    'fps': float,
    'fps_max_frames': int,
    'fps_min_frames': int,
    'sampling_rate': int,
    'max_slice_nums': int,  # MiniCPM-V: slices an image is cut into at most (ms-swift's MAX_SLICE_NUMS)
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


# ---- audio and video -------------------------------------------------------------------------------------------
# Audio is read with soundfile (libsndfile: wav, flac, ogg, mp3; the wheel bundles the library) and resampled with
# scipy's polyphase filter to the rate the model's feature extractor expects; containers libsndfile does not read
# (m4a/aac, audio inside a video) go through PyAV, which ffmpeg backs. Video is decoded with PyAV (ffmpeg, every
# common codec, a maintained wheel with no system dependency; torchvision.io is unusable here and decord has no
# current wheels). Both are the `media` extra: `pip install 'swift[media]'`.

DEFAULT_FPS = 2.0  # ms-swift's FPS default: frames sampled per second of video
DEFAULT_FPS_MAX_FRAMES = 768  # ms-swift's FPS_MAX_FRAMES default


def _need(module: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        package = {'av': 'av', 'soundfile': 'soundfile', 'scipy.signal': 'scipy'}[module]
        raise MediaError(f'reading audio/video needs the {package!r} package: pip install {package} '
                         "(or pip install 'swift[media]')") from None


def resample(samples, rate: int, target: int):
    """Mono float32 samples at `rate` → at `target` (polyphase filter: no aliasing from a plain interpolation)."""
    import math

    import numpy as np
    if rate == target:
        return samples.astype(np.float32, copy=False)
    signal = _need('scipy.signal')
    g = math.gcd(int(rate), int(target))
    return signal.resample_poly(samples, int(target) // g, int(rate) // g).astype(np.float32)


def _audio_with_av(data: bytes, value: Any):
    import numpy as np
    av = _need('av')
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                raise MediaError(f'{describe(value)}: not a readable audio file (no audio stream)')
            stream = container.streams.audio[0]
            chunks = [frame.to_ndarray().astype(np.float32) for frame in container.decode(stream)]
            rate = stream.rate
    except (av.FFmpegError, ValueError) as e:
        raise MediaError(f'{describe(value)}: not a readable audio file ({e})') from None
    if not chunks:
        raise MediaError(f'{describe(value)}: not a readable audio file (no samples)')
    # packed frames are (1, samples*channels), planar ones (channels, samples): average the channels either way
    channels = stream.codec_context.channels or 1
    mono = [c.reshape(-1, channels).mean(axis=1) if c.shape[0] == 1 else c.mean(axis=0) for c in chunks]
    return np.concatenate(mono), rate


def load_audio(value: Any, sampling_rate: Optional[int] = None):
    """Mono float32 samples (numpy) of an audio item, resampled to `sampling_rate` (None: the file's own rate).
    Returns (samples, rate)."""
    import numpy as np
    if isinstance(value, np.ndarray):  # already samples (from Python): taken as they are
        return value.astype(np.float32, copy=False), sampling_rate
    sf = _need('soundfile')
    data = read_bytes(value)
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype='float32', always_2d=True)
        samples = samples.mean(axis=1)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        samples, rate = _audio_with_av(data, value)  # m4a/aac and the like: libsndfile does not read them
    if samples.size == 0:
        raise MediaError(f'{describe(value)}: the audio has no samples')
    target = sampling_rate or rate
    return resample(samples, rate, target), target


def _frame_times(duration: float, fps: float, max_frames: int) -> List[float]:
    """The times (s) to sample: `fps` frames a second, at most `max_frames`, at least one, spread evenly."""
    count = max(1, min(int(max_frames), int(round(duration * fps))))
    return [(i + 0.5) * duration / count for i in range(count)]


def _video_duration(container, data: bytes) -> float:
    """Seconds: the stream's or container's header, else the last frame's time (one extra decoding pass)."""
    stream = container.streams.video[0]
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1e6
    import av
    with av.open(io.BytesIO(data)) as again:
        last = max((float(f.time or 0.0) for f in again.decode(video=0)), default=0.0)
    rate = float(stream.average_rate or 0)
    return last + (1.0 / rate if rate else 0.0)


def _sample_frames(container, times: List[float]):
    """(PIL frames, their times): for each time, the frame on screen then, in one decoding pass (only the sampled
    frames are kept: a long video never sits in memory)."""
    frames, stamps, previous, k = [], [], None, 0
    for frame in container.decode(video=0):
        t = float(frame.time or 0.0)
        while k < len(times) and t > times[k]:
            chosen = previous if previous is not None else frame
            frames.append(chosen.to_image().convert('RGB'))
            stamps.append(float(chosen.time or 0.0))
            k += 1
        if k == len(times):
            break
        previous = frame
    while k < len(times) and previous is not None:  # times past the last frame's start: the last frame
        frames.append(previous.to_image().convert('RGB'))
        stamps.append(float(previous.time or 0.0))
        k += 1
    return frames, stamps


def load_video(value: Any, fps: Optional[float] = None, max_frames: Optional[int] = None,
               sampler: Optional[Callable[[int, float], List[int]]] = None):
    """RGB PIL frames of a video sampled at `fps` (FPS, default 2) frames a second, at most `max_frames`
    (FPS_MAX_FRAMES, default 768), evenly over its duration; returns (frames, metadata) where metadata holds
    `fps` (of the sampled frames), `duration` (s) and `timestamps` (s, of each frame).

    `sampler` (a family's own rule, e.g. Qwen-VL's qwen_vl_utils.smart_nframes): (total frame count, the video's
    frame rate) -> the indices of the frames to keep, instead of fps / max_frames; metadata then also holds
    `total_frames`, `video_fps` and `frames_indices`, and `fps` is the sampled rate as qwen_vl_utils computes it
    (count / total_frames x video_fps)."""
    av = _need('av')
    fps = fps or DEFAULT_FPS
    max_frames = max_frames or DEFAULT_FPS_MAX_FRAMES
    data = read_bytes(value)
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                raise MediaError(f'{describe(value)}: not a readable video (no video stream)')
            duration = _video_duration(container, data)
            if sampler is not None:
                total, rate = _frame_count(container, data, duration)
                indices = sampler(total, rate)
                frames, stamps = _frames_at(container, indices)
            else:
                frames, stamps = _sample_frames(container, _frame_times(duration, fps, max_frames))
    except (av.FFmpegError, ValueError) as e:
        raise MediaError(f'{describe(value)}: not a readable video ({e})') from None
    if not frames:
        raise MediaError(f'{describe(value)}: not a readable video (no frames)')
    if sampler is not None:
        return frames, {'fps': len(frames) / total * rate, 'duration': duration, 'timestamps': stamps,
                        'total_frames': total, 'video_fps': rate, 'frames_indices': list(indices)}
    return frames, {'fps': len(frames) / duration if duration else fps, 'duration': duration, 'timestamps': stamps}


def _frame_count(container, data: bytes, duration: float):
    """(frames in the stream, its frame rate): the header's count (what decord's len() gives), else a counting pass;
    the rate is the stream's average rate, else count / duration."""
    import av
    stream = container.streams.video[0]
    total = int(stream.frames or 0)
    if total <= 0:
        with av.open(io.BytesIO(data)) as again:
            total = sum(1 for _ in again.decode(video=0))
    if total <= 0:
        raise ValueError('no frames')
    rate = float(stream.average_rate or 0) or (total / duration if duration else DEFAULT_FPS)
    return total, rate


def _frames_at(container, indices: List[int]):
    """(PIL frames, their times) of the frames at `indices` (decoding order, repeats allowed), in one pass; an index
    past the stream's last decodable frame (a header that over-counts) takes the last frame."""
    wanted = sorted(set(int(i) for i in indices))
    kept, last, k = {}, None, 0
    for position, frame in enumerate(container.decode(video=0)):
        last = frame
        if k < len(wanted) and position == wanted[k]:
            kept[position] = (frame.to_image().convert('RGB'), float(frame.time or 0.0))
            k += 1
        if k == len(wanted):
            break
    if last is None:
        return [], []
    for index in wanted[k:]:
        kept[index] = (last.to_image().convert('RGB'), float(last.time or 0.0))
    chosen = [kept[int(i)] for i in indices]
    return [frame for frame, _ in chosen], [stamp for _, stamp in chosen]


def check_video(value: Any) -> None:
    """Refuse a video that does not open or has no decodable frame (cheap: the first frame only)."""
    av = _need('av')
    data = read_bytes(value)
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                raise MediaError(f'{describe(value)}: not a readable video (no video stream)')
            if next(container.decode(video=0), None) is None:
                raise MediaError(f'{describe(value)}: not a readable video (no frames)')
    except (av.FFmpegError, ValueError) as e:
        raise MediaError(f'{describe(value)}: not a readable video ({e})') from None
