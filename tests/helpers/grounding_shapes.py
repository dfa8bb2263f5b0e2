"""Synthetic grounding rows: one coloured square on a white background, the answer its box.

The square (side SIDE of a SIZE-pixel image) sits in one of 3 x 3 cells, moved by up to `jitter` pixels, in one of
four colours; the row asks "Find the <colour> square in the image." (mm_tasks' grounding task) and the answer is
its box, written by the model's template in its family's convention (SmolVLM's and Qwen2-VL's: the 0..1000 grid).

The geometry is chosen for that grid: a 120-pixel image is 1000 units, so the cells' corners are at 150, 350, 550
(x1, y1) and 450, 650, 850 (x2, y2) and a jitter of 3 pixels (25 units) never changes a number's hundreds digit
or its length (always 3 digits). The cell is then the leading digit of each number, and the last two digits carry
the jitter (which the IoU threshold forgives: the cell's box overlaps the jittered one by IoU >= 0.72). A box one
cell off overlaps less than 0.5 (12 x 36 / (2 x 36² - 12 x 36) = 0.2, at most 0.33 with the jitter), so
always-the-middle-cell scores about 1/9: the score can only come from the pixels. Generated from a seed with PIL,
never shipped.
"""
import random
from pathlib import Path
from typing import Dict, List

from tests.helpers.shapes import COLOURS

SIZE, SIDE = 120, 36
CELLS = (18, 42, 66)  # top-left corners of the 3 cells along each axis (150, 350, 550 on the 0..1000 grid)
JITTER = 3


def make_grounding_rows(folder: Path, count: int, seed: int, jitter: int = JITTER) -> List[Dict]:
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


def cell_boxes() -> List[List[int]]:
    """The 9 cells' boxes without jitter (pixels): the answers a model that ignores the jitter gives."""
    return [[x, y, x + SIDE, y + SIDE] for y in CELLS for x in CELLS]
