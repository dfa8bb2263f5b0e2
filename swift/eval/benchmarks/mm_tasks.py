"""Your own multimodal test rows, scored with the metrics of their task: `mm_vqa`, `mm_caption`, `mm_ocr`,
`mm_grounding` (the tasks of ms-swift's multimodal training; metrics in swift/eval/mm_metrics.py).

    swift eval --model my-vlm --eval_dataset mm_vqa mm_caption --eval_dataset_dir my_eval/
    # reads my_eval/mm_vqa/test.jsonl and my_eval/mm_caption/test.jsonl

Rows are swift chat rows with media, one question each: `messages` = a user turn (with `<image>` tags, or
tags are added) and the reference answer as the assistant turn; `images` resolved like training rows (relative to
the file). More acceptable answers go in `"references": [...]` (VQA's 10 human answers, several captions). A
grounding reference is box text (`[x1, y1, x2, y2]`, `(x1,y1),(x2,y2)`) in the convention the model answers in.

Scores: vqa_acc; bleu_1..4, rouge_l, cider (corpus level, over all rows of the run); ocr_exact_match,
ocr_edit_sim; iou, iou@0.5. Greedy generation through the model's chat template with the images.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from swift.utils import SwiftError

from ..data import read_jsonl_rows
from ..mm_metrics import compute_metrics
from ..registry import GENERATION, Benchmark, Doc, register_benchmark

# task → (the metric values it reports, max_new_tokens)
TASKS = {
    'vqa': (('vqa_acc', ), 32),
    'caption': (('bleu_1', 'bleu_4', 'rouge_l', 'cider'), 64),
    'ocr': (('ocr_exact_match', 'ocr_edit_sim'), 64),
    'grounding': (('iou@0.5', 'iou'), 64),
}
CORPUS_LEVEL = ('caption', )  # BLEU's n-gram counts and CIDEr's document frequencies span the whole run


class MultimodalTask(Benchmark):
    kind = GENERATION
    multimodal = True
    hub_id = ''
    eval_split = 'test'
    few_shot_num = 0
    until = ()

    def __init__(self, task: str):
        self.task = task
        self.name = self.local_dir = f'mm_{task}'
        self.metrics, self.max_new_tokens = TASKS[task]

    def default_root(self) -> Optional[Path]:
        raise SwiftError(f'{self.name} reads your own rows: pass --eval_dataset_dir DIR with DIR/{self.name}/test.jsonl '
                         '(chat rows with images; see docs/eval.md#multimodal-benchmarks)')

    def read_local(self, root: Path, subset: str, split: str) -> List[Dict[str, Any]]:
        from swift.dataset.media import normalize_media
        path = root / f'{split}.jsonl'
        if not path.is_file():
            raise SwiftError(f'{self.name}: {path} not found (chat rows with images, one question each)')
        rows = read_jsonl_rows(path, required=('messages', ))
        for number, row in enumerate(rows, 1):
            where = f'{path}:{number}'
            roles = [m.get('role') for m in row['messages']]
            if roles != ['user', 'assistant']:
                raise SwiftError(f'{where}: a {self.name} row is one user turn and its reference answer, got roles '
                                 f'{roles}')
            try:
                normalize_media(row, base_dir=path.parent)
            except ValueError as e:  # the data layer's RowError: unreadable image, tag mismatch
                raise SwiftError(f'{where}: {e}') from None
            if not row.get('images'):
                raise SwiftError(f'{where}: no images: a {self.name} question is about an image')
            references = row.get('references') or [row['messages'][1]['content']]
            if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
                raise SwiftError(f'{where}: "references" must be a list of strings')
            row['references'] = references
        return rows

    def to_doc(self, row: Dict[str, Any], subset: str, index: int) -> Doc:
        images = [str(i) for i in row['images']]
        return Doc(id=f'{subset}/{index}', subset=subset, query=row['messages'][0]['content'], choices=[],
                   gold=row['references'], target=row['messages'][1]['content'], row=dict(row), images=images)

    def score_generation(self, text: str, doc: Doc) -> Tuple[Dict[str, float], Any]:
        scores = compute_metrics(self.task, [text.strip()], [doc.gold])
        return {name: scores[name] for name in self.metrics}, text.strip()

    def corpus_metrics(self, records: List[Dict[str, Any]]) -> Optional[Dict[str, float]]:
        if self.task not in CORPUS_LEVEL or not records:
            return None
        scores = compute_metrics(self.task, [r['prediction'] or '' for r in records], [r['gold'] for r in records])
        return {name: scores[name] for name in self.metrics}


for _task in TASKS:
    register_benchmark(MultimodalTask(_task))
