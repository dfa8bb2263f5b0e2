"""Multimodal metrics, by task: VQA accuracy, caption BLEU / ROUGE-L / CIDEr, OCR exact match and edit
distance, grounding IoU. Registered by name, grouped by task, so a benchmark, `train(task=...)` or a
plugin picks them the same way:

    from swift.eval.mm_metrics import compute_metrics, register_metric
    compute_metrics('caption', ['a red square'], [['a red square on white', 'red box']])
    # {'bleu_1': ..., 'bleu_4': ..., 'rouge_l': ..., 'cider': ...}

A metric is corpus level: fn(predictions, references) -> {name: value}; references are lists (several
acceptable answers / captions per prediction). Values are fractions, except CIDEr (its own 0-10 scale).

- vqa_acc: the official VQA accuracy. Answers are normalised as vqaEval.py does (vqa_normalize.py); with
  10 human answers an answer scores min(1, matches among the other 9 / 3), averaged over the 10 leave-one-out
  sets; with fewer references it is a normalised exact match against any of them. (The official script
  normalises only when the humans disagree; we always do, as lmms-eval does: an answer "Two." then matches "2".)
- bleu_1..bleu_4, rouge_l, cider: the COCO caption scorers of `pycocoevalcap` (pure Python parts only; the
  PTB tokenizer there needs Java, so captions are tokenized here: lower case, punctuation removed, split on
  spaces, which is what PTBTokenizer's output amounts to for plain captions). ROUGE-L is COCO's (F with beta 1.2),
  CIDEr is CIDEr-D with document frequencies from the evaluated references.
- ocr_exact_match (whitespace collapsed, case kept), ocr_edit_sim: 1 - Levenshtein distance / longer length
  (the normalised edit distance; ANLS without its 0.5 threshold), best over the references.
- iou, iou@0.5: the first box in the prediction against the reference box (both parsed from text with
  parse_boxes, same coordinate convention on both sides); no box in the prediction scores 0.
"""
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from swift.utils import SwiftError, did_you_mean
from swift.utils.grounding import iou

from .vqa_normalize import normalize_vqa_answer

Box = Tuple[float, float, float, float]
MetricFn = Callable[[Sequence[str], Sequence[Sequence[str]]], Dict[str, float]]


@dataclass
class Metric:
    name: str  # the registry key (one call may return several values: bleu → bleu_1..bleu_4)
    task: str  # vqa | caption | ocr | grounding | a plugin's own
    fn: MetricFn


METRICS: Dict[str, Metric] = {}


def register_metric(name: str, task: str, fn: MetricFn, exist_ok: bool = False) -> Metric:
    if name in METRICS and not exist_ok:
        raise SwiftError(f'metric {name!r} is already registered; pass exist_ok=True to replace it')
    METRICS[name] = Metric(name, task, fn)
    return METRICS[name]


def task_metrics(task: str) -> List[str]:
    names = [m.name for m in METRICS.values() if m.task == task]
    if not names:
        tasks = sorted({m.task for m in METRICS.values()})
        raise SwiftError(f'no metric for task {task!r}.{did_you_mean(task, tasks)} Tasks: {", ".join(tasks)}')
    return names


def compute_metrics(task_or_names, predictions: Sequence[str], references: Sequence) -> Dict[str, float]:
    """Every metric of a task ('vqa', 'caption', 'ocr', 'grounding'), or the named metrics.

    A reference may be one string or a list of acceptable ones.
    """
    names = task_metrics(task_or_names) if isinstance(task_or_names, str) else list(task_or_names)
    if len(predictions) != len(references):
        raise SwiftError(f'{len(predictions)} predictions but {len(references)} references')
    refs = [[r] if isinstance(r, str) or _is_box(r) else list(r) for r in references]
    empty = [i for i, r in enumerate(refs) if not r]
    if empty:
        raise SwiftError(f'reference {empty[0]} is empty: each prediction needs at least one reference')
    out: Dict[str, float] = {}
    for name in names:
        if name not in METRICS:
            raise SwiftError(f'unknown metric {name!r}.{did_you_mean(name, list(METRICS))} '
                             f'Metrics: {", ".join(sorted(METRICS))}')
        out.update(METRICS[name].fn(list(predictions), refs))
    return out


def _is_box(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 4 and all(isinstance(v, (int, float)) for v in value)


def _mean(values: List[float]) -> float:
    return sum(values) / len(values) if values else float('nan')


# ---- VQA ----

def vqa_accuracy(prediction: str, references: Sequence[str]) -> float:
    pred = normalize_vqa_answer(prediction)
    gts = [normalize_vqa_answer(r) for r in references]
    if len(gts) < 10:
        return float(pred in gts)
    per_left_out = [min(1.0, sum(g == pred for g in gts[:i] + gts[i + 1:]) / 3) for i in range(len(gts))]
    return _mean(per_left_out)


def _vqa(predictions, references):
    return {'vqa_acc': _mean([vqa_accuracy(p, r) for p, r in zip(predictions, references)])}


# ---- captions ----

_CAPTION_PUNCT = re.compile(r"[\"'`.,:;?!()\[\]{}\-_/\\|@#$%^&*+=<>~]")


def tokenize_caption(text: str) -> str:
    return ' '.join(_CAPTION_PUNCT.sub(' ', text.lower()).split())


def _coco_scorers():
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
    except ImportError:
        raise SwiftError('caption metrics (BLEU, ROUGE-L, CIDEr) need pycocoevalcap: pip install "swift[mm-eval]" '
                         '(or pip install pycocoevalcap)') from None
    return Bleu, Rouge, Cider


def _caption_inputs(predictions, references):
    res = {i: [tokenize_caption(p) or '<empty>'] for i, p in enumerate(predictions)}
    gts = {i: [tokenize_caption(r) for r in refs] for i, refs in enumerate(references)}
    return gts, res


def _bleu(predictions, references):
    Bleu, _, _ = _coco_scorers()
    gts, res = _caption_inputs(predictions, references)
    scores, _ = Bleu(4).compute_score(gts, res, verbose=0)
    return {f'bleu_{n + 1}': float(s) for n, s in enumerate(scores)}


def _rouge_l(predictions, references):
    _, Rouge, _ = _coco_scorers()
    score, _ = Rouge().compute_score(*_caption_inputs(predictions, references))
    return {'rouge_l': float(score)}


def _cider(predictions, references):
    _, _, Cider = _coco_scorers()
    score, _ = Cider().compute_score(*_caption_inputs(predictions, references))
    return {'cider': float(score)}


# ---- OCR ----

def _collapse(text: str) -> str:
    return ' '.join(text.split())


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def normalized_edit_distance(prediction: str, reference: str) -> float:
    a, b = _collapse(prediction), _collapse(reference)
    return levenshtein(a, b) / max(len(a), len(b)) if (a or b) else 0.0


def _ocr(predictions, references):
    exact = [float(any(_collapse(p) == _collapse(r) for r in refs)) for p, refs in zip(predictions, references)]
    sims = [max(1 - normalized_edit_distance(p, r) for r in refs) for p, refs in zip(predictions, references)]
    return {'ocr_exact_match': _mean(exact), 'ocr_edit_sim': _mean(sims)}


# ---- grounding ----

_NUM = r'\s*(-?\d+(?:\.\d+)?)\s*'
# Qwen2-VL's "(x1,y1),(x2,y2)" (inside <|box_start|>..<|box_end|> or not), and a bracketed list of four numbers:
# InternVL's "[[x1, y1, x2, y2]]" (inside <box>..</box> or not), Qwen2.5-VL's JSON "bbox_2d": [x1, y1, x2, y2].
BOX_PATTERNS = [
    re.compile(rf'\({_NUM},{_NUM}\)\s*,?\s*\({_NUM},{_NUM}\)'),
    re.compile(rf'\[{_NUM},{_NUM},{_NUM},{_NUM}\]'),
]


def parse_boxes(text: str, patterns: Optional[Sequence[re.Pattern]] = None) -> List[Box]:
    """The boxes written in a text, in order, as (x1, y1, x2, y2) with x1 <= x2, y1 <= y2.

    Coordinates are returned as written (pixels, a 0-1000 grid, 0-1): compare boxes of one convention.
    """
    found = []
    for pattern in patterns or BOX_PATTERNS:
        for match in pattern.finditer(text):
            x1, y1, x2, y2 = (float(v) for v in match.groups())
            found.append((match.start(), (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))))
    return [box for _, box in sorted(found, key=lambda f: f[0])]


def reference_box(reference) -> Box:
    if isinstance(reference, str):
        boxes = parse_boxes(reference)
        if not boxes:
            raise SwiftError(f'grounding reference {reference!r} holds no box: write "[x1, y1, x2, y2]" or '
                             '"(x1,y1),(x2,y2)"')
        return boxes[0]
    if len(reference) != 4:
        raise SwiftError(f'grounding reference {reference!r}: a box is four numbers x1, y1, x2, y2')
    return tuple(float(v) for v in reference)


def grounding_iou(prediction: str, reference) -> float:
    """IoU of the first box in the prediction with the reference box (text or four numbers); 0 without a box."""
    boxes = parse_boxes(prediction)
    return iou(boxes[0], reference_box(reference)) if boxes else 0.0


def _grounding(predictions, references):
    ious = [max(grounding_iou(p, r) for r in refs) for p, refs in zip(predictions, references)]
    return {'iou': _mean(ious), 'iou@0.5': _mean([float(v >= 0.5) for v in ious])}


register_metric('vqa_acc', 'vqa', _vqa)
register_metric('bleu', 'caption', _bleu)
register_metric('rouge_l', 'caption', _rouge_l)
register_metric('cider', 'caption', _cider)
register_metric('ocr', 'ocr', _ocr)
register_metric('iou', 'grounding', _grounding)
