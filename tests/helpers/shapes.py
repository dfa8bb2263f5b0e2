"""Synthetic images for multimodal tests and scripts/demo_vlm.py: one coloured shape on a white background.

Generated on the fly with PIL from a seed (never shipped as binaries). Each row asks one question about the
picture, its colour or its kind, so the answer can only come from the image.
"""
import json
import random
from pathlib import Path
from typing import Dict, List

COLOURS = {'red': (220, 30, 30), 'green': (30, 170, 60), 'blue': (40, 70, 220), 'yellow': (235, 200, 20)}
SHAPES = ('circle', 'square', 'triangle')
QUESTIONS = {'colour': 'What colour is the shape?', 'shape': 'What shape is it?'}
SIZE = 128


def noise_image(seed: int, size=(24, 24)):
    """Random pixels from a seed: each image gives a model different features (the packing and collate tests)."""
    from PIL import Image
    rng = random.Random(seed)
    return Image.frombytes('RGB', size, bytes(rng.randrange(256) for _ in range(size[0] * size[1] * 3)))


def draw(colour: str, shape: str, rng: random.Random, min_side: int = 44):
    from PIL import Image, ImageDraw
    image = Image.new('RGB', (SIZE, SIZE), (255, 255, 255))
    pen = ImageDraw.Draw(image)
    side = rng.randint(min_side, max(min_side, 70))
    x, y = rng.randint(4, SIZE - side - 4), rng.randint(4, SIZE - side - 4)
    box = (x, y, x + side, y + side)
    fill = COLOURS[colour]
    if shape == 'circle':
        pen.ellipse(box, fill=fill)
    elif shape == 'square':
        pen.rectangle(box, fill=fill)
    else:
        pen.polygon([(x + side // 2, y), (x, y + side), (x + side, y + side)], fill=fill)
    return image


def make_rows(folder: Path, count: int, seed: int, kinds=('colour', 'shape'), min_side: int = 44) -> List[Dict]:
    """`count` rows (images saved as PNG under folder, referenced by relative path); questions cycle over `kinds`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        colour, shape = rng.choice(sorted(COLOURS)), rng.choice(SHAPES)
        name = f'{seed}_{i}.png'
        draw(colour, shape, rng, min_side).save(folder / name)
        kind = kinds[i % len(kinds)]
        answer = colour if kind == 'colour' else shape
        rows.append({'messages': [{'role': 'user', 'content': QUESTIONS[kind]},
                                  {'role': 'assistant', 'content': answer}],
                     'images': [name]})
    return rows


def write_jsonl(path: Path, rows: List[Dict]) -> Path:
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return path


def colour_sets(folder: Path, train: int, held_out: int, min_side: int):
    """(folder, train.jsonl, val.jsonl, held-out rows) of colour questions: training rows from seed 1, held-out
    rows from seed 2 (other images)."""
    train_rows = make_rows(folder, train, seed=1, kinds=('colour', ), min_side=min_side)
    held_out_rows = make_rows(folder, held_out, seed=2, kinds=('colour', ), min_side=min_side)
    return (folder, write_jsonl(folder / 'train.jsonl', train_rows), write_jsonl(folder / 'val.jsonl', held_out_rows),
            held_out_rows)
