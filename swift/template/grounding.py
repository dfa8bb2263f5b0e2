"""Each family's grounding convention: `<ref-object>` / `<bbox>` tags of a row → the text its model was trained on,
and that text back to boxes in the original image's pixels (for eval: IoU against the row's boxes).

| format | families (templates) | ref | box | grid |
|---|---|---|---|---|
| qwen2_vl | qwen2_vl, qwen3_vl | `<|object_ref_start|>ref<|object_ref_end|>` | `<|box_start|>(x1,y1),(x2,y2)<|box_end|>` | 0..1000 |
| qwen2_5_vl | qwen2_5_vl | as qwen2_vl | as qwen2_vl | pixels of the image after the processor's resize |
| internvl | internvl_hf | `<ref>ref</ref>` | `<box>[[x1, y1, x2, y2]]</box>` | 0..1000 |
| plain | every other (SmolVLM, Idefics, LLaVA, Gemma 3, ...) | the words | `[(x1,y1),(x2,y2)]` | 0..1000 |

These are ms-swift's: its Qwen2-VL template (norm1000), Qwen2.5-VL (absolute coordinates of the resized image,
QWENVL_BBOX_FORMAT=legacy, its default), InternVL (`<box>[[...]]</box>`, norm1000) and its base Template for
families without a convention of their own (plain words, `[(x1,y1),(x2,y2)]` on 0..1000). Coordinates are
rounded to integers (ms-swift: int(round(x / width * 1000))). A point [x, y] is written as one pair.
"""
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from swift.utils.grounding import BBOX_TAG, REF_TAG, Box, GroundingError, check_inside

# Qwen2-VL/2.5-VL image processor defaults (transformers' Qwen2VLImageProcessor: size shortest/longest edge,
# patch_size 14, merge_size 2): used when the template has no processor (rendering without a model)
QWEN_DEFAULTS = {'min_pixels': 56 * 56, 'max_pixels': 28 * 28 * 1280, 'patch_size': 14, 'merge_size': 2}
_NUM = r'(-?\d+(?:\.\d+)?)'


@dataclass(frozen=True)
class BoxFormat:
    name: str
    ref: str  # '{}' is the object's words
    box_open: str
    box_close: str
    pairs: bool  # True: (x1,y1),(x2,y2); False: [x1, y1, x2, y2]
    grid: str = 'norm1000'  # or 'resized': pixels of the processor's resized image

    def ref_text(self, ref: str) -> str:
        return self.ref.format(ref)

    def box_text(self, coords: Sequence[int]) -> str:
        if self.pairs:
            body = ','.join(f'({x},{y})' for x, y in zip(coords[0::2], coords[1::2]))
        else:
            body = '[' + ', '.join(str(c) for c in coords) + ']'
        return f'{self.box_open}{body}{self.box_close}'

    def parse(self, text: str) -> List[List[float]]:
        """The boxes (4 numbers) and points (2) written in `text`, in the format's grid, in order."""
        if self.pairs:
            inner = rf'\(\s*{_NUM}\s*,\s*{_NUM}\s*\)(?:\s*,\s*\(\s*{_NUM}\s*,\s*{_NUM}\s*\))?'
        else:
            inner = rf'\[\s*{_NUM}\s*,\s*{_NUM}(?:\s*,\s*{_NUM}\s*,\s*{_NUM})?\s*\]'
        pattern = re.escape(self.box_open) + r'\s*' + inner + r'\s*' + re.escape(self.box_close)
        return [[float(g) for g in m.groups() if g is not None] for m in re.finditer(pattern, text)]


QWEN2_VL = BoxFormat('qwen2_vl', '<|object_ref_start|>{}<|object_ref_end|>', '<|box_start|>', '<|box_end|>', True)
QWEN2_5_VL = BoxFormat('qwen2_5_vl', QWEN2_VL.ref, QWEN2_VL.box_open, QWEN2_VL.box_close, True, grid='resized')
INTERNVL = BoxFormat('internvl', '<ref>{}</ref>', '<box>[', ']</box>', False)
PLAIN = BoxFormat('plain', '{}', '[', ']', True)


def qwen_resized_size(size: Tuple[int, int], processor: Any = None,
                      media_kwargs: Optional[Mapping[str, Any]] = None) -> Tuple[int, int]:
    """(width, height) the Qwen2-VL image processor resizes an image of `size` to: its smart_resize with the
    processor's pixel bounds (or the media controls MAX_PIXELS / MIN_PIXELS when set)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
    settings = dict(QWEN_DEFAULTS)
    image_processor = getattr(processor, 'image_processor', None)
    if image_processor is not None:
        bounds = getattr(image_processor, 'size', None) or {}
        get = bounds.get if isinstance(bounds, dict) else lambda key: getattr(bounds, key, None)
        settings['min_pixels'] = get('shortest_edge') or settings['min_pixels']
        settings['max_pixels'] = get('longest_edge') or settings['max_pixels']
        for key in ('patch_size', 'merge_size'):
            settings[key] = getattr(image_processor, key, None) or settings[key]
    for key in ('min_pixels', 'max_pixels'):
        if (media_kwargs or {}).get(key) is not None:
            settings[key] = media_kwargs[key]
    width, height = size
    factor = settings['patch_size'] * settings['merge_size']
    if (media_kwargs or {}).get('image_max_token_num') is not None:  # as templates/qwen_vl.py pixel_bounds
        by_tokens = media_kwargs['image_max_token_num'] * factor**2
        explicit = media_kwargs.get('max_pixels')
        settings['max_pixels'] = min(by_tokens, explicit) if explicit else by_tokens
    new_height, new_width = smart_resize(height, width, factor, settings['min_pixels'], settings['max_pixels'])
    return new_width, new_height


class Grounder:
    """Writes one row's objects in a family's format. image_sizes: (width, height) of the row's images (needed for
    real boxes); resized: the same after the processor's resize (needed for the 'resized' grid)."""

    def __init__(self, fmt: BoxFormat, objects: Dict[str, Any], image_sizes: Sequence[Tuple[int, int]],
                 resized: Sequence[Tuple[int, int]] = ()):
        self.fmt, self.objects, self.image_sizes, self.resized = fmt, objects, image_sizes, resized
        self.refs = iter(objects['ref'])
        self.boxes = iter(zip(objects['bbox'], objects['image_id']))
        self.index = 0

    def grid_coords(self, box: Box, image_id: int) -> List[int]:
        """The box in the format's grid, rounded to integers."""
        if self.objects['bbox_type'] == 'norm1':
            unit = (1, 1)
        else:
            unit = self.image_sizes[image_id]
            check_inside(box, unit, f'objects.bbox[{self.index}]')
        scale = (1000, 1000) if self.fmt.grid == 'norm1000' else self.resized[image_id]
        return [int(round(v / unit[i % 2] * scale[i % 2])) for i, v in enumerate(box)]

    def _replace(self, match: 're.Match') -> str:
        if match.group(0) == REF_TAG:
            return self.fmt.ref_text(next(self.refs))
        box, image_id = next(self.boxes)
        text = self.fmt.box_text(self.grid_coords(box, image_id))
        self.index += 1
        return text

    def text(self, content: str) -> str:
        return re.sub(f'{re.escape(REF_TAG)}|{re.escape(BBOX_TAG)}', self._replace, content)


def ground_messages(fmt: BoxFormat, messages: List[Dict[str, Any]], objects: Dict[str, Any],
                    image_sizes: Sequence[Tuple[int, int]], resized: Sequence[Tuple[int, int]] = ()):
    """The messages with their `<ref-object>` / `<bbox>` tags written in `fmt` (objects already checked)."""
    grounder = Grounder(fmt, objects, image_sizes, resized)
    out = []
    for message in messages:
        content = message.get('content')
        if isinstance(content, str) and (REF_TAG in content or BBOX_TAG in content):
            message = {**message, 'content': grounder.text(content)}
        out.append(message)
    return out


def format_of(template) -> BoxFormat:
    """The grounding format of a template (object or name)."""
    if isinstance(template, str):
        from .registry import get_template
        template = get_template(template)
    fmt = getattr(template, 'grounding', None)
    if fmt is None:
        raise GroundingError(f'template {getattr(template, "name", template)!r} is text only: it has no grounding '
                             'format (use a multimodal model)')
    return fmt


def parse_boxes(template, text: str, image_size: Tuple[int, int], processor: Any = None,
                media_kwargs: Optional[Mapping[str, Any]] = None) -> List[List[float]]:
    """The boxes a model of this template wrote in `text`, in pixels of the original image (width, height)
    `image_size`: the inverse of what rendering does, so eval can compute IoU against the row's real boxes.
    template: a template object or name; processor / media_kwargs: as the model's (only Qwen2.5-VL's resized
    grid depends on them)."""
    fmt = format_of(template)
    if fmt.grid == 'norm1000':
        scale = (1000, 1000)
    else:
        scale = qwen_resized_size(image_size, processor or getattr(template, 'processor', None),
                                  media_kwargs if media_kwargs is not None else getattr(template, 'media_kwargs', None))
    return [[v / scale[i % 2] * image_size[i % 2] for i, v in enumerate(box)] for box in fmt.parse(text)]
