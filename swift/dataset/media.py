"""Media in standard rows: `images` / `videos` / `audios` lists and the `<image>` / `<video>` / `<audio>` tags.

After this step a row with media looks like

    {'messages': [{'role': 'user', 'content': '<image>What colour is the shape?'}, ...],
     'images': ['/abs/path/a.png']}

- OpenAI content parts (`{"type": "image_url", "image_url": {"url": ...}}`, `input_audio`, `video_url`, and the
  Hugging Face style `{"type": "image", "image": ...}`) become tags in the text and items of the row's lists,
  in the order they appear.
- Media without any tag of their kind get their tags in front of the first user turn (ms-swift's behaviour);
  a row whose tags and media disagree in number is refused.
- Local paths are resolved against --image_folder when given, else the dataset file's folder; a missing file,
  or an image, video or audio that does not decode, is a RowError naming the item (the loader adds file:line). URLs are
  not downloaded here (that would make loading as slow as the network): they are read when a row is encoded,
  and a failure there names the row too.
"""
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from swift.utils.grounding import GroundingError, check_objects, check_tag_counts
from swift.utils.media import (MediaError, check_video, decode_data_uri, describe, is_data_uri, is_url, load_audio,
                               load_image)

from .formats import MEDIA_KEYS, RowError

TAGS = {'images': '<image>', 'videos': '<video>', 'audios': '<audio>'}
# content part type → (media list, where the item is inside the part)
_PARTS = {
    'image_url': 'images',
    'image': 'images',
    'video_url': 'videos',
    'video': 'videos',
    'input_audio': 'audios',
    'audio_url': 'audios',
    'audio': 'audios',
}
_MESSAGE_FIELDS = ('messages', 'rejected_messages')


def has_media(row: Dict[str, Any]) -> bool:
    return any(row.get(key) for key in MEDIA_KEYS) or any(
        isinstance(m.get('content'), list) for f in _MESSAGE_FIELDS for m in row.get(f) or [])


def media_counts(row: Dict[str, Any]) -> Dict[str, int]:
    return {key: len(row.get(key) or []) for key in MEDIA_KEYS}


def _part_item(part: Dict[str, Any], kind: str, where: str) -> Any:
    """The media item of one content part (a URL, path, data: URI, bytes or PIL image)."""
    value = part.get(kind)
    if kind == 'input_audio':  # OpenAI: {"data": <base64>, "format": "wav"}
        if not isinstance(value, dict) or 'data' not in value:
            raise RowError(f'{where}: input_audio needs {{"data": <base64>, "format": "wav"|"mp3"}}')
        return f'data:audio/{value.get("format", "wav")};base64,{value["data"]}'
    if isinstance(value, dict):  # {"url": ...} (OpenAI) or {"bytes"/"path"} (datasets)
        value = value.get('url', value)
    if value is None:
        raise RowError(f'{where}: a "{kind}" part has no "{kind}" value')
    return value


def _flatten_parts(content: List[Any], where: str, media: Dict[str, List[Any]]) -> str:
    """A list of content parts → text with tags; the media are appended to `media` in order."""
    text = []
    for j, part in enumerate(content):
        place = f'{where}.content[{j}]'
        if isinstance(part, str):
            text.append(part)
            continue
        if not isinstance(part, dict) or 'type' not in part:
            raise RowError(f'{place}: a content part must be an object with a "type"')
        kind = part['type']
        if kind == 'text':
            text.append(str(part.get('text', '')))
        elif kind in _PARTS:
            key = _PARTS[kind]
            media[key].append(_part_item(part, kind, place))
            text.append(TAGS[key])
        else:
            raise RowError(f'{place}: unknown content part type {kind!r}; expected text, '
                           f'{", ".join(sorted(_PARTS))}')
    return ''.join(text)


def _normalize_parts(row: Dict[str, Any]) -> None:
    """Replace content-part lists by tagged text, moving their media into the row's lists."""
    found: Dict[str, List[Any]] = {key: [] for key in MEDIA_KEYS}
    for field in _MESSAGE_FIELDS:
        part_media: Dict[str, List[Any]] = {key: [] for key in MEDIA_KEYS}
        for i, message in enumerate(row.get(field) or []):
            if isinstance(message.get('content'), list):
                message['content'] = _flatten_parts(message['content'], f'{field}[{i}]', part_media)
        if field == 'messages':
            found = part_media
        # rejected_messages repeat the prompt's media: they are the same items, counted once from messages
    if any(found.values()):
        for key, items in found.items():
            if items and row.get(key):
                raise RowError(f"both content parts and a '{key}' column carry media; use one of the two")
            if items:
                row[key] = items


def _tag_count(messages: List[Dict[str, Any]], tag: str) -> int:
    return sum(m['content'].count(tag) for m in messages if isinstance(m.get('content'), str))


def _add_missing_tags(row: Dict[str, Any]) -> None:
    for key, tag in TAGS.items():
        items = row.get(key) or []
        for field in _MESSAGE_FIELDS:
            messages = row.get(field)
            if not messages:
                continue
            tags = _tag_count(messages, tag)
            if tags == 0 and items:
                first_user = next((m for m in messages if m.get('role') == 'user'), None)
                if first_user is None:
                    raise RowError(f"'{key}' has {len(items)} item(s) but '{field}' has no user turn to put them in")
                first_user['content'] = tag * len(items) + first_user['content']
            elif tags != len(items):
                raise RowError(f"'{field}' has {tags} {tag} tag(s) but the row has {len(items)} {key}; "
                               f'give one {key[:-1]} per tag (or no tags at all: they are then added in front of '
                               'the first user turn)')


def _resolve_path(value: str, key: str, index: int, base_dir: Optional[Path], image_folder: Optional[str]) -> str:
    path = Path(os.path.expanduser(value))
    folders = dict.fromkeys(str(f) for f in (image_folder, base_dir, Path.cwd()) if f is not None)
    candidates = [path] if path.is_absolute() else [Path(folder) / path for folder in folders]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate.resolve())
    looked = ', '.join(str(c) for c in candidates)
    raise RowError(f"{key}[{index}]: file not found: {value} (looked at {looked}; relative paths are resolved "
                   'against --image_folder, else the dataset file\'s folder)')


def _check_item(value: Any, key: str, index: int, base_dir: Optional[Path], image_folder: Optional[str],
                sizes: Optional[List[Any]] = None) -> Any:
    """The item with a local path made absolute; RowError when it is missing or (an image) does not decode.
    An image's (width, height) is appended to `sizes` (None for a URL, which is not read here)."""
    if isinstance(value, dict) and value.get('bytes') is None and isinstance(value.get('path'), str):
        value = value['path']  # a datasets Image column row without embedded bytes
    if isinstance(value, str):
        if not value.strip():
            raise RowError(f'{key}[{index}]: empty path')
        if is_url(value):
            if sizes is not None:
                sizes.append(None)
            return value
        if is_data_uri(value):
            try:
                decode_data_uri(value)
            except MediaError as e:
                raise RowError(f'{key}[{index}]: {e}') from None
        else:
            value = _resolve_path(value, key, index, base_dir, image_folder)
    if key != 'images' and not isinstance(value, (str, bytes, bytearray, dict)):
        raise RowError(f'{key}[{index}]: expected a path, URL, data: URI or bytes, got {describe(value)}')
    try:  # decoded (a video: opened and its first frame decoded) now, so a broken file never fails mid-epoch
        decoded = _CHECKS[key](value)
    except MediaError as e:
        raise RowError(f'{key}[{index}]: {e}') from None
    if key == 'images' and sizes is not None:
        sizes.append(decoded.size)
    return value


_CHECKS = {'images': load_image, 'videos': check_video, 'audios': load_audio}


def normalize_media(row: Dict[str, Any], base_dir: Optional[Path] = None,
                    image_folder: Optional[str] = None) -> Dict[str, Any]:
    """The standard row with its media normalized (see the module docstring); RowError when they do not fit."""
    for key in MEDIA_KEYS:
        if key in row and not isinstance(row[key], list):
            row[key] = [row[key]]
    if not has_media(row) and row.get('objects') is None:
        return row
    _normalize_parts(row)
    _add_missing_tags(row)
    sizes: List[Any] = []
    for key in MEDIA_KEYS:
        if row.get(key):
            row[key] = [_check_item(v, key, i, base_dir, image_folder, sizes if key == 'images' else None)
                        for i, v in enumerate(row[key])]
    if row.get('objects') is not None:
        _check_grounding(row, sizes)
    return row


def _check_grounding(row: Dict[str, Any], sizes: List[Any]) -> None:
    """`objects` checked against the images (swift/utils/grounding.py): boxes inside, one per `<bbox>` tag."""
    try:
        objects = check_objects(row['objects'], sizes)
        texts = [m.get('content') or '' for f in ('messages', ) for m in row.get(f) or []]
        check_tag_counts([t for t in texts if isinstance(t, str)], objects)
    except GroundingError as e:
        raise RowError(str(e)) from None
    row['objects'] = objects


def base_dir_of(location: str) -> Optional[Path]:
    """The folder of the file a record came from ('data/train.jsonl:12' → data/), None when not a local file."""
    path = location.rsplit(':', 1)[0] if ':' in location else location
    candidate = Path(path)
    return candidate.parent.resolve() if candidate.is_file() else None
