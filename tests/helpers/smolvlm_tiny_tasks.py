"""Issue 12's three image tasks as one training mix, for the proof on `smolvlm-tiny`
(tests/training/test_smolvlm_tiny_proof.py, scripts/smolvlm_tiny_proof.py).

    vqa        "What colour is the shape?" / "What shape is it?" about one coloured shape (shapes.py)
    colour     the colour question alone (the make-test proof: tests/training/test_smolvlm_tiny_proof.py)
    ocr        "Read the text in the image." -> one rendered digit (digits.py)
    grounding  "Find the <colour> square in the image." -> its box in the model's convention (grounding_shapes.py)

Each task gives (training rows, held-out rows) of its simple form (mm_tasks' task rows; VQA rows are already
messages), images saved under one folder; training_rows() turns them into one list of standard rows, and
evaluate_tasks() scores a model on every task's held-out rows with one model load.
"""
import random
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from tests.helpers.digits import make_digit_rows
from tests.helpers.grounding_shapes import make_grounding_rows
from tests.helpers.shapes import QUESTIONS, make_rows

# held-out images are drawn from other seeds than the training ones: new pictures
DEFAULT_TRAIN = {'vqa': 240, 'colour': 120, 'ocr': 200, 'grounding': 160}
HELD_OUT = {'vqa': 60, 'colour': 30, 'ocr': 40, 'grounding': 40}
MAX_TOKENS = {'vqa': 4, 'colour': 4, 'ocr': 4, 'grounding': 20}  # ' [(150,150),(450,450)]' + end of utterance: 18
TASK_OF = {'vqa': 'vqa', 'colour': 'vqa', 'ocr': 'ocr', 'grounding': 'grounding'}  # the mm_tasks task that scores it


def vqa_rows(folder: Path, train: Optional[int] = None) -> Tuple[List[Dict], List[Dict]]:
    return (make_rows(folder, train or DEFAULT_TRAIN['vqa'], seed=1),
            make_rows(folder, HELD_OUT['vqa'], seed=2))


def colour_rows(folder: Path, train: Optional[int] = None) -> Tuple[List[Dict], List[Dict]]:
    """VQA about the colour only (the question the vqa task asks every other row)."""
    return (make_rows(folder, train or DEFAULT_TRAIN['colour'], seed=1, kinds=('colour', )),
            make_rows(folder, HELD_OUT['colour'], seed=2, kinds=('colour', )))


def ocr_rows(folder: Path, train: Optional[int] = None) -> Tuple[List[Dict], List[Dict]]:
    return (make_digit_rows(folder, train or DEFAULT_TRAIN['ocr'], seed=11),
            make_digit_rows(folder, HELD_OUT['ocr'], seed=12))


def grounding_rows(folder: Path, train: Optional[int] = None) -> Tuple[List[Dict], List[Dict]]:
    return (make_grounding_rows(folder, train or DEFAULT_TRAIN['grounding'], seed=11),
            make_grounding_rows(folder, HELD_OUT['grounding'], seed=12))


TASK_ROWS = {'vqa': vqa_rows, 'colour': colour_rows, 'ocr': ocr_rows, 'grounding': grounding_rows}


def training_rows(data: Dict[str, Tuple[List[Dict], List[Dict]]], folder: Path, seed: int = 0) -> List[Dict]:
    """Every task's training rows as standard rows, shuffled together."""
    rows = [row for task, (train, _) in data.items() for row in standard_rows(task, train, folder)]
    random.Random(seed).shuffle(rows)
    return rows


def standard_rows(task: str, rows: List[Dict], folder: Path) -> List[Dict]:
    """A task's simple rows as standard rows (messages, images with absolute paths, objects for grounding): what
    `swift sft` and `swift infer --val_dataset` read."""
    from swift.training.mm_tasks import MultiModalDatasetBuilder
    builder = MultiModalDatasetBuilder(TASK_OF[task], str(folder))
    out = []
    for i, row in enumerate(rows):
        row = builder.row(dict(row), i)
        row['images'] = [str(folder / name) for name in row['images']]
        out.append(row)
    return out


def held_out_groups(data: Dict[str, Tuple[List[Dict], List[Dict]]]) -> Dict[str, Tuple[str, List[Dict]]]:
    """{score name: (task, held-out rows)}: VQA scored per question ('vqa colour', 'vqa shape': the colour alone is
    not the proof), 'ocr', 'grounding'."""
    groups = {}
    for task, (_, held_out) in data.items():
        if task == 'vqa':
            groups.update({f'vqa {kind}': (task, [r for r in held_out if r['messages'][0]['content'] == question])
                           for kind, question in QUESTIONS.items()})
        elif task == 'colour':
            groups['vqa colour'] = (task, held_out)
        else:
            groups[task] = (task, held_out)
    return groups


def evaluate_tasks(engine, data: Dict[str, Tuple[List[Dict], List[Dict]]], folder: Path) -> Dict[str, Dict]:
    """{score name: {metric: value, 'answers': greedy replies}} on the held-out rows of held_out_groups(), with one
    loaded engine: VQA accuracy, OCR exact match, grounding IoU >= 0.5 rate."""
    from swift.training.mm_tasks import evaluate_engine
    return {name: evaluate_engine(engine, TASK_OF[task], rows, str(folder), MAX_TOKENS[task])
            for name, (task, rows) in held_out_groups(data).items()}


def headline(scores: Dict[str, Dict]) -> Dict[str, float]:
    """{score name: the task's metric} without the answers."""
    return {name: next(v for k, v in result.items() if k not in ('answers', 'edit_similarity'))
            for name, result in scores.items()}
