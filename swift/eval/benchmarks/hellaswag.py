"""HellaSwag (Zellers et al. 2019): pick the ending of a short scene, each ending scored as a continuation.

Prompt (the reference harness's): "<activity label>: <ctx_a> <Ctx_b>" with WikiHow bracket
artifacts removed, continued by " <ending>"; zero-shot by default.

Local layout under --eval_dataset_dir/hellaswag: the original rowanz/hellaswag line files
`hellaswag_{train,val,test}.jsonl` (a sample such as `hellaswag_val_sample.jsonl` is read when
the full file is not there).
"""
import re
from pathlib import Path
from typing import Any, Dict, List

from ..data import read_jsonl_rows, require_file
from ..registry import Benchmark, Doc, register_benchmark

_FILE_SPLITS = {'train': 'train', 'validation': 'val', 'test': 'test'}
_FIELDS = ('activity_label', 'ctx_a', 'ctx_b', 'endings', 'label')


def preprocess(text: str) -> str:
    text = text.strip()
    text = text.replace(' [title]', '. ')  # bracketed tags are artifacts of the WikiHow half of the data
    text = re.sub('\\[.*?\\]', '', text)
    return text.replace('  ', ' ')


class HellaSwag(Benchmark):
    name = 'hellaswag'
    kind = 'multiple_choice'
    metrics = ('acc', 'acc_norm')
    hub_id = 'Rowan/hellaswag'
    local_dir = 'hellaswag'
    eval_split = 'validation'
    fewshot_split = 'train'
    few_shot_num = 0

    def read_local(self, root: Path, subset: str, split: str) -> List[Dict[str, Any]]:
        stem = f'hellaswag_{_FILE_SPLITS.get(split, split)}'
        path = root / f'{stem}.jsonl'
        if not path.is_file():
            samples = sorted(root.glob(f'{stem}_*.jsonl'))
            path = samples[0] if samples else path
        return read_jsonl_rows(require_file(path, self.name), required=_FIELDS)

    def to_doc(self, row: Dict[str, Any], subset: str, index: int) -> Doc:
        ctx = row['ctx_a'] + ' ' + row['ctx_b'].capitalize()
        choices = [preprocess(ending) for ending in row['endings']]
        gold = int(row['label'])
        return Doc(id=f'{subset}/{index}', subset=subset, query=preprocess(row['activity_label'] + ': ' + ctx),
                   choices=choices, gold=gold, target=choices[gold], row=dict(row))


register_benchmark(HellaSwag())
