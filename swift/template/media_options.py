"""ms-swift's media size controls: environment variables, or `--model_kwargs '{"max_pixels": ...}'`.

    MAX_PIXELS, MIN_PIXELS        image resolution bounds (Qwen2-VL style processors)
    IMAGE_MAX_TOKEN_NUM           tokens per image at most
    VIDEO_MAX_PIXELS, FPS, FPS_MAX_FRAMES   video resolution and frame sampling
    VIDEO_MIN_PIXELS, VIDEO_TOTAL_PIXELS, FPS_MIN_FRAMES   the same, Qwen-VL (qwen_vl_utils' names)
    SAMPLING_RATE                 audio sampling rate
    MAX_SLICE_NUMS                MiniCPM-V: slices per image at most

A family's MediaPlugin says which of them it understands and under which processor keyword
(`media_options = {'max_pixels': 'max_pixels', ...}`). A control that is set but that the family cannot use is
an error naming it, never silently ignored: SmolVLM's processor, for one, resizes to a fixed longest edge and
has no pixel budget. An explicit --model_kwargs value wins over the environment variable.
"""
import os
from typing import Any, Dict, Iterable, Mapping, Optional

from swift.utils import SwiftError
from swift.utils.media import MEDIA_OPTIONS, check_model_kwargs


def requested_media_options(explicit: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The media controls set for this process: environment variables, overridden by explicit values."""
    requested: Dict[str, Any] = {}
    for name, kind in MEDIA_OPTIONS.items():
        raw = os.environ.get(name.upper())
        if raw is not None and raw.strip():
            try:
                requested[name] = kind(raw)
            except ValueError:
                raise SwiftError(f'environment variable {name.upper()}={raw!r} is not a {kind.__name__}') from None
    requested.update(check_model_kwargs({k: v for k, v in (explicit or {}).items() if v is not None}))
    return requested


def processor_kwargs(template_name: str, supported: Mapping[str, str],
                     explicit: Optional[Mapping[str, Any]] = None, decoded: Iterable[str] = ()) -> Dict[str, Any]:
    """Processor keywords for the requested controls; a SwiftError for a control this family cannot use.
    `decoded` are controls the family accepts but swift's decoders apply (FPS, SAMPLING_RATE): not returned."""
    requested = requested_media_options(explicit)
    decoded = set(decoded)
    refused = [name for name in requested if name not in supported and name not in decoded]
    if refused:
        names = ', '.join(f'{n.upper()} ({n})' for n in refused)
        usable = ', '.join(n.upper() for n in [*supported, *sorted(decoded)]) or 'none'
        raise SwiftError(f'template {template_name!r} cannot use the media control(s) {names}: its processor has '
                         f'no such setting (controls it takes: {usable}). Unset the environment variable or drop '
                         'it from --model_kwargs.')
    return {supported[name]: value for name, value in requested.items() if name in supported}
