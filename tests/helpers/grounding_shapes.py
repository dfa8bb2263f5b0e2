"""Synthetic grounding rows: one coloured square on a white background, the answer its box.

The square (side SIDE of a SIZE-pixel image) sits in one of 3 x 3 cells, moved by up to `jitter` pixels, in one of
four colours; the row asks "Find the <colour> square in the image." (mm_tasks' grounding task) and the answer is
its box, written by the model's template in its family's convention. Always-the-middle-cell scores 1/9 at IoU 0.5
(a box one cell off overlaps less than 0.5: 24 x 56 / (2 x 56² - 24 x 56) = 0.27), so the score can only come from
the pixels. Generated from a seed with PIL, never shipped.
"""
import random
from pathlib import Path
from typing import Dict, List

from tests.helpers.shapes import COLOURS

SIZE, SIDE = 128, 56
CELLS = (4, 36, 68)  # top-left corners of the 3 cells along each axis


def make_grounding_rows(folder: Path, count: int, seed: int, jitter: int = 0) -> List[Dict]:
    """`count` rows for MultiModalDatasetBuilder('grounding'): image (PNG under folder), ref, bbox in pixels."""
    from PIL import Image, ImageDraw
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        colour = rng.choice(sorted(COLOURS))
        x, y = (min(max(rng.choice(CELLS) + rng.randint(-jitter, jitter), 0), SIZE - SIDE) for _ in range(2))
        image = Image.new('RGB', (SIZE, SIZE), (255, 255, 255))
        ImageDraw.Draw(image).rectangle((x, y, x + SIDE - 1, y + SIDE - 1), fill=COLOURS[colour])
        name = f'g{seed}_{i}.png'
        image.save(folder / name)
        rows.append({'image': name, 'ref': f'{colour} square', 'bbox': [x, y, x + SIDE, y + SIDE]})
    return rows
