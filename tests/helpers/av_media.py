"""Synthetic audio and video for the tests, generated on the fly (never shipped as binaries).

    tone_rows(folder, n, seed)      sine tones, high (1.2-3 kHz) or low (120-400 Hz) pitch, as wav files + rows
    colour_video(path, colours)     a short mpeg4 video whose frames show one colour after another
    colour_rows(folder, n, seed)    2-second videos of two colours in a row + rows asking which came first
"""
import json
import random
from pathlib import Path
from typing import List, Sequence, Tuple

TONE_QUESTION = 'High or low?'
VIDEO_QUESTION = 'Which colour comes first?'
COLOURS = {'red': (230, 30, 30), 'green': (30, 200, 30), 'blue': (30, 30, 230)}


def tone(freq: float, seconds: float, rate: int = 16000, amplitude: float = 0.5):
    import numpy as np
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def tone_rows(folder: Path, n: int, seed: int, rate: int = 8000) -> List[dict]:
    """n wav files (at `rate`: the template resamples them to the model's 16 kHz) and their chat rows."""
    import soundfile as sf
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = 'high' if i % 2 == 0 else 'low'
        freq = rng.uniform(1200, 3000) if label == 'high' else rng.uniform(120, 400)
        name = f'tone-{seed}-{i:03d}.wav'
        sf.write(str(folder / name), tone(freq, rng.uniform(0.5, 1.2), rate, rng.uniform(0.2, 0.8)), rate)
        rows.append({'messages': [{'role': 'user', 'content': f'<audio>{TONE_QUESTION}'},
                                  {'role': 'assistant', 'content': label}], 'audios': [name]})
    return rows


def colour_video(path: Path, colours: Sequence[Tuple[int, int, int]], fps: int = 4, frames_each: int = 4,
                 size: int = 32) -> Path:
    import av
    import numpy as np
    with av.open(str(path), 'w') as container:
        stream = container.add_stream('mpeg4', rate=fps)
        stream.width, stream.height, stream.pix_fmt = size, size, 'yuv420p'
        for colour in colours:
            image = np.zeros((size, size, 3), np.uint8)
            image[:] = colour
            for _ in range(frames_each):
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format='rgb24')):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def colour_rows(folder: Path, n: int, seed: int) -> List[dict]:
    """n two-second videos: one colour for a second, then another; the answer is the first colour's name."""
    rng = random.Random(seed)
    names = sorted(COLOURS)
    rows = []
    for i in range(n):
        first, second = rng.sample(names, 2)
        name = f'video-{seed}-{i:03d}.mp4'
        colour_video(folder / name, [COLOURS[first], COLOURS[second]], fps=4, frames_each=4)
        rows.append({'messages': [{'role': 'user', 'content': f'<video>{VIDEO_QUESTION}'},
                                  {'role': 'assistant', 'content': first}], 'videos': [name]})
    return rows


def write_jsonl(path: Path, rows: List[dict]) -> Path:
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return path
