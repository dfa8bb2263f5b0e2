"""The multimodal Python API: a task (vqa, caption, ocr, grounding) picks the rows' preprocessing, the prompt and the
metric; training is `swift sft` (sft_main) on the rows it builds, nothing else.

    from swift import train, MultiModalDatasetBuilder, MultiModalTrainer
    train(model='smolvlm-tiny', task='vqa', dataset='vqa.jsonl', data_args={'image_folder': 'images/'}, max_steps=50)
    rows = MultiModalDatasetBuilder('grounding', image_folder='images/').build('boxes.jsonl')
    trainer = MultiModalTrainer(model, rows, processor, task='grounding')  # swift/api.py
    trainer.train(); trainer.evaluate(held_out)

Simple rows per task (a row that already has `messages` is kept as it is; `image` or `images` name the pictures,
relative to image_folder, else the file's folder):

| task | row | prompt (user turn, after the image) | answer | metric |
|---|---|---|---|---|
| vqa | image, question, answer | the question | answer | accuracy (normalised exact match) |
| caption | image, caption | "Describe the image." | caption | BLEU/ROUGE/CIDEr: swift eval (not here) |
| ocr | image, text | "Read the text in the image." | text | exact match, 1 - normalised edit distance |
| grounding | image, ref, bbox (bbox_type) | "Find the <ref-object> in the image." | `<bbox>` | IoU >= 0.5 rate |

A grounding row becomes ms-swift's `objects` row, so each model writes the box in its family's convention
(swift/template/grounding.py) and the metric parses it back with that convention.
"""
import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from swift.eval.mm_metrics import levenshtein
from swift.utils import SwiftError, did_you_mean


@dataclass(frozen=True)
class MultiModalTask:
    name: str
    prompt: str  # '{question}' is the row's question (vqa)
    answer_keys: Tuple[str, ...]  # the row's answer column, first found
    metric: str


TASKS = {
    'vqa': MultiModalTask('vqa', '{question}', ('answer', 'response'), 'accuracy'),
    'caption': MultiModalTask('caption', 'Describe the image.', ('caption', 'response', 'text'), 'bleu_rouge_cider'),
    'ocr': MultiModalTask('ocr', 'Read the text in the image.', ('text', 'answer', 'response'), 'exact_match'),
    'grounding': MultiModalTask('grounding', 'Find the <ref-object> in the image.', (), 'iou@0.5'),
}


def get_task(name: str) -> MultiModalTask:
    if name not in TASKS:
        raise SwiftError(f'task {name!r}: choose one of {", ".join(TASKS)}.{did_you_mean(str(name), TASKS)}')
    return TASKS[name]


class MultiModalDatasetBuilder:
    """Standard rows (messages + images [+ objects]) from a task's simple rows: a list of dicts or a JSON/JSONL
    file. Image paths stay relative when they are not found here: the loader resolves them against
    --image_folder (and reports a missing one with the row)."""

    def __init__(self, task: str = 'vqa', image_folder: Optional[str] = None, prompt: Optional[str] = None):
        self.task = get_task(task)
        self.image_folder = image_folder
        self.prompt = prompt or self.task.prompt

    def build(self, source: Union[str, Path, Sequence[Dict[str, Any]]]) -> List[Dict[str, Any]]:
        base = None
        if isinstance(source, (str, Path)):
            base = Path(source).resolve().parent
            source = _read_rows(Path(source))
        return [self.row(dict(row), i, base) for i, row in enumerate(source)]

    def row(self, row: Dict[str, Any], index: int = 0, base: Optional[Path] = None) -> Dict[str, Any]:
        """One standard row; SwiftError naming the row and the missing column."""
        images = row.pop('image', None) or row.pop('images', None)
        images = [images] if isinstance(images, str) or not isinstance(images, list) else images
        images = [self._path(i, base) for i in images if i is not None]
        if 'messages' in row:
            return {**row, **({'images': images} if images else {})}
        if not images:
            raise SwiftError(f'{self.task.name} row {index}: no "image" (or "images")')
        out = {'images': images}
        if self.task.name == 'grounding':
            ref, bbox = self._need(row, index, 'ref', 'object'), self._need(row, index, 'bbox')
            out['objects'] = {'ref': [ref], 'bbox': [bbox], 'bbox_type': row.get('bbox_type', 'real')}
            answer = '<bbox>'
        else:
            answer = self._need(row, index, *self.task.answer_keys)
        question = self._need(row, index, 'question', 'query') if '{question}' in self.prompt else ''
        out['messages'] = [{'role': 'user', 'content': '<image>' * len(images) + self.prompt.format(question=question)},
                           {'role': 'assistant', 'content': str(answer)}]
        return out

    def _need(self, row: Dict[str, Any], index: int, *keys: str) -> Any:
        for key in keys:
            if row.get(key) is not None:
                return row[key]
        raise SwiftError(f'{self.task.name} row {index}: needs a "{keys[0]}" column'
                         + (f' (or {", ".join(keys[1:])})' if keys[1:] else '') + f'; it has {sorted(row)}')

    def _path(self, item: Any, base: Optional[Path]) -> Any:
        """A relative path found next to the file (when image_folder does not hold it) becomes absolute."""
        if not isinstance(item, str) or Path(item).is_absolute() or base is None:
            return item
        if self.image_folder and (Path(self.image_folder) / item).is_file():
            return item
        return str(base / item) if (base / item).is_file() else item


def _read_rows(path: Path) -> List[Dict[str, Any]]:
    text = path.read_text(encoding='utf-8')
    if path.suffix == '.json':
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def task_inputs(task: Optional[str], dataset: Any, data_args: Optional[Dict[str, Any]],
                flags: Dict[str, Any]) -> Tuple[Any, Dict[str, Any]]:
    """(dataset, flags) for sft: data_args are `swift sft`'s data flags (image_folder, dataset, val_dataset,
    split_dataset_ratio, ...); with a task, local files and Python rows become that task's standard rows
    (dataset IDs of the registry are passed on as they are)."""
    flags = {**flags, **(data_args or {})}
    if dataset is None:
        dataset = flags.pop('dataset', None)
    if dataset is None:
        raise SwiftError('train(task=...) needs the rows: dataset=[...] or a file, or data_args={"dataset": ...}')
    if task is None:
        return dataset, flags
    builder = MultiModalDatasetBuilder(task, flags.get('image_folder'), flags.pop('prompt', None))
    if isinstance(dataset, list) and all(isinstance(r, dict) for r in dataset):
        return builder.build(dataset), flags
    sources = [dataset] if isinstance(dataset, (str, Path)) else list(dataset)
    if all(Path(s).is_file() for s in sources):
        return [row for s in sources for row in builder.build(s)], flags
    return [str(s) for s in sources], flags


# ---------------------------------------------------------------- metrics


def normalize_answer(text: str) -> str:
    """VQA-style normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().translate(str.maketrans('', '', string.punctuation))
    return ' '.join(w for w in text.split() if w not in ('a', 'an', 'the'))


def score(task: str, answers: Sequence[str], rows: Sequence[Dict[str, Any]], template=None) -> Dict[str, float]:
    """The task's metric for model answers against standard rows (as the builder makes them). Grounding needs
    the model's template (its box convention) and reads each row's image size."""
    task = get_task(task).name
    refs = [r['messages'][-1]['content'] for r in rows]
    if task == 'vqa':
        return {'accuracy': _mean(normalize_answer(a) == normalize_answer(r) for a, r in zip(answers, refs))}
    if task == 'ocr':
        return {'exact_match': _mean(a.strip() == r.strip() for a, r in zip(answers, refs)),
                'edit_similarity': _mean(1 - levenshtein(a.strip(), r.strip()) / max(len(a.strip()), len(r.strip()), 1)
                                         for a, r in zip(answers, refs))}
    if task == 'grounding':
        return {'iou@0.5': _mean(_box_hit(a, r, template) for a, r in zip(answers, rows))}
    raise SwiftError('caption metrics (BLEU/ROUGE/CIDEr) are computed by swift eval; score() covers vqa, ocr and '
                     'grounding')


def _box_hit(answer: str, row: Dict[str, Any], template) -> bool:
    from swift.template.grounding import parse_boxes
    from swift.utils.grounding import iou
    from swift.utils.media import load_image
    if template is None:
        raise SwiftError('grounding scores need the model\'s template (its box convention)')
    size = load_image(row['images'][0]).size
    objects = row['objects']
    truth = objects['bbox'][0]
    if objects.get('bbox_type') == 'norm1':
        truth = [v * size[i % 2] for i, v in enumerate(truth)]
    boxes = parse_boxes(template, answer, size)
    return bool(boxes) and len(boxes[0]) == 4 and iou(boxes[0], truth) >= 0.5


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def evaluate_checkpoint(checkpoint: str, task: str, rows: Sequence[Dict[str, Any]],
                        image_folder: Optional[str] = None, max_tokens: int = 32) -> Dict[str, Any]:
    """Greedy answers of a checkpoint to a task's rows (simple or standard), scored by the task's metric:
    {metric: value, ..., 'answers': [...]}."""
    from swift.infer.transformers_engine import TransformersEngine
    with TransformersEngine(checkpoint) as engine:
        return evaluate_engine(engine, task, rows, image_folder, max_tokens)


def evaluate_engine(engine, task: str, rows: Sequence[Dict[str, Any]], image_folder: Optional[str] = None,
                    max_tokens: int = 32) -> Dict[str, Any]:
    """evaluate_checkpoint with an engine already loaded (several tasks scored on one model load)."""
    from swift.infer.protocol import InferRequest, RequestConfig
    rows = [MultiModalDatasetBuilder(task, image_folder).row(dict(r), i) for i, r in enumerate(rows)]
    for row in rows:  # the engine reads the images from here: relative paths are image_folder's
        row['images'] = [str(Path(image_folder) / i) if image_folder and isinstance(i, str) and not Path(i).is_absolute()
                         and (Path(image_folder) / i).is_file() else i for i in row['images']]
    # a grounding prompt's <ref-object> is written in the model's own format from the row's objects (the engine's
    # template does it, as for training rows)
    requests = [InferRequest(messages=r['messages'][:-1], images=r['images'], objects=r.get('objects')) for r in rows]
    outputs = engine.infer(requests, RequestConfig(max_tokens=max_tokens, temperature=0))
    answers = [o.choices[0].message.content for o in outputs]
    return {**score(task, answers, rows, engine.template), 'answers': answers}
