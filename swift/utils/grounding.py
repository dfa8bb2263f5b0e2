"""Grounding rows: ms-swift's `objects` field, checked, and the box geometry the template and eval layers share.

A row names its objects in the text with `<ref-object>` (the object's words) and `<bbox>` (its box) tags and lists
them under `objects`, as ms-swift's custom dataset format does:

    {"messages": [{"role": "user", "content": "<image>Find the <ref-object>."},
                  {"role": "assistant", "content": "<bbox>"}],
     "images": ["shapes/0001.png"],
     "objects": {"ref": ["red circle"], "bbox": [[12, 30, 58, 76]], "bbox_type": "real"}}

- `ref` replaces the `<ref-object>` tags in order, `bbox` the `<bbox>` tags in order (one box per tag; a ref
  may have several boxes, as in ms-swift's "<bbox><bbox>" example).
- A box is [x1, y1, x2, y2] or a point [x, y]. `bbox_type` "real" (default): pixels of the original image;
  "norm1": fractions 0..1 of its width and height. `image_id` (an int for all boxes or one per box, default 0):
  the image a real box belongs to.
- Each template writes them in its family's convention (swift/template/grounding.py); a box that does not fit
  (wrong length, x2 < x1, outside the image, tags and objects of different counts) is a row error.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

REF_TAG = '<ref-object>'
BBOX_TAG = '<bbox>'
BBOX_TYPES = ('real', 'norm1')
Box = List[float]


class GroundingError(ValueError):
    """`objects` that cannot be used; the message names the field."""


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise GroundingError(f'{where}: a coordinate must be a number, got {value!r:.40}')
    return float(value) if isinstance(value, float) else value


def _boxes(value: Any) -> List[Box]:
    if not isinstance(value, list):
        raise GroundingError(f'objects.bbox must be a list of boxes [x1, y1, x2, y2] (or points [x, y]), '
                             f'got {type(value).__name__}')
    if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        value = [value]  # one box written flat
    boxes = []
    for i, box in enumerate(value):
        where = f'objects.bbox[{i}]'
        if not isinstance(box, list) or len(box) not in (2, 4):
            size = len(box) if isinstance(box, list) else type(box).__name__
            raise GroundingError(f'{where}: a box is [x1, y1, x2, y2] or a point [x, y], got {size} value(s): '
                                 f'{box!r:.60}')
        box = [_number(v, where) for v in box]
        if len(box) == 4 and (box[2] < box[0] or box[3] < box[1]):
            raise GroundingError(f'{where}: {box} has x2 < x1 or y2 < y1; write [x1, y1, x2, y2] with the '
                                 'top-left corner first')
        boxes.append(box)
    return boxes


def _image_ids(value: Any, count: int, images: int) -> List[int]:
    ids = [value] * count if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(ids, list) or len(ids) != count or not all(isinstance(i, int) for i in ids):
        raise GroundingError(f'objects.image_id must be an int or one int per box ({count}), got {value!r:.60}')
    for i, image_id in enumerate(ids):
        if not 0 <= image_id < max(images, 1):
            raise GroundingError(f'objects.image_id[{i}] = {image_id}: the row has {images} image(s)')
    return ids


def check_objects(objects: Any, image_sizes: Sequence[Optional[Tuple[int, int]]] = ()) -> Dict[str, Any]:
    """The row's `objects` in the standard form {'ref': [...], 'bbox': [[...]], 'bbox_type', 'image_id': [...]};
    GroundingError when they do not fit. image_sizes: (width, height) of each of the row's images, None where not
    known yet (a URL: checked when the row is encoded)."""
    if not isinstance(objects, dict):
        raise GroundingError(f'objects must be an object {{"ref": [...], "bbox": [[x1, y1, x2, y2], ...], '
                             f'"bbox_type": "real"|"norm1"}}, got {type(objects).__name__}')
    unknown = sorted(set(objects) - {'ref', 'bbox', 'bbox_type', 'image_id', 'width', 'height'})
    if unknown:
        raise GroundingError(f'objects: unknown key(s) {unknown}; expected ref, bbox, bbox_type, image_id')
    refs = objects.get('ref', [])
    refs = [refs] if isinstance(refs, str) else refs
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise GroundingError(f'objects.ref must be a list of strings, got {refs!r:.60}')
    bbox_type = objects.get('bbox_type') or 'real'
    if bbox_type not in BBOX_TYPES:
        raise GroundingError(f'objects.bbox_type must be one of {", ".join(BBOX_TYPES)}, got {bbox_type!r}')
    boxes = _boxes(objects.get('bbox', []))
    image_ids = _image_ids(objects.get('image_id', 0), len(boxes), len(image_sizes))
    for i, (box, image_id) in enumerate(zip(boxes, image_ids)):
        size = (1, 1) if bbox_type == 'norm1' else (image_sizes[image_id] if image_sizes else None)
        if size is not None:
            check_inside(box, size, f'objects.bbox[{i}]', bbox_type)
    if boxes and bbox_type == 'real' and not image_sizes:
        raise GroundingError('objects: real (pixel) boxes need the row\'s image; add it to "images" or give '
                             'bbox_type "norm1"')
    return {'ref': refs, 'bbox': boxes, 'bbox_type': bbox_type, 'image_id': image_ids}


def check_inside(box: Box, size: Tuple[float, float], where: str, bbox_type: str = 'real') -> None:
    width, height = size
    xs, ys = box[0::2], box[1::2]
    if min(xs + ys) < 0 or max(xs) > width or max(ys) > height:
        bounds = '0..1' if bbox_type == 'norm1' else f'the image ({width}x{height} pixels)'
        raise GroundingError(f'{where}: {box} lies outside {bounds}')


def tag_counts(texts: Sequence[str]) -> Tuple[int, int]:
    return sum(t.count(REF_TAG) for t in texts), sum(t.count(BBOX_TAG) for t in texts)


def check_tag_counts(texts: Sequence[str], objects: Dict[str, Any], at_most: bool = False) -> None:
    """One object per tag; at_most: tags may use only the first objects (a prompt without its answer)."""
    refs, boxes = tag_counts(texts)
    if at_most and refs <= len(objects['ref']) and boxes <= len(objects['bbox']):
        return
    if refs != len(objects['ref']) or boxes != len(objects['bbox']):
        raise GroundingError(f'the text has {refs} {REF_TAG} and {boxes} {BBOX_TAG} tag(s) but objects has '
                             f'{len(objects["ref"])} ref(s) and {len(objects["bbox"])} bbox(es): give one per tag')


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes [x1, y1, x2, y2] (0.0 when either is empty or they do not meet)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
