"""Synthetic OCR rows: one digit 0-9 rendered in black on a white SIZE-pixel image, the answer the digit.

The glyph is Pillow's own embedded font (ImageFont.load_default(size=...), FreeType, no system font needed) at
FONT_SIZE, placed in the middle of the image and moved by up to `jitter` pixels each way, so held-out pictures are new
pictures; ten classes, so always answering one digit scores about 10%. Generated from a seed, never shipped.
"""
import random
from pathlib import Path
from typing import Dict, List

SIZE, FONT_SIZE, JITTER, STROKE = 48, 36, 2, 2


def make_digit_rows(folder: Path, count: int, seed: int, jitter: int = JITTER) -> List[Dict]:
    """`count` rows for MultiModalDatasetBuilder('ocr'): image (PNG under folder) and its text, each digit about
    count / 10 times."""
    from PIL import Image, ImageDraw, ImageFont
    folder.mkdir(parents=True, exist_ok=True)
    font = ImageFont.load_default(size=FONT_SIZE)
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        digit = str(i % 10) if i < count - count % 10 else str(rng.randrange(10))
        image = Image.new('RGB', (SIZE, SIZE), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        left, top, right, bottom = draw.textbbox((0, 0), digit, font=font)
        x = (SIZE - (right - left)) // 2 - left + rng.randint(-jitter, jitter)
        y = (SIZE - (bottom - top)) // 2 - top + rng.randint(-jitter, jitter)
        draw.text((x, y), digit, fill=(0, 0, 0), font=font, stroke_width=STROKE, stroke_fill=(0, 0, 0))
        name = f'd{seed}_{i}.png'
        image.save(folder / name)
        rows.append({'image': name, 'text': digit})
    rng.shuffle(rows)
    return rows
