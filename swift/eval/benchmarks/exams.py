"""Four-choice exam benchmarks: MMLU, CMMLU and C-Eval.

Prompt (the reference harness's, after the original papers), for a 1-shot MMLU question:

    The following are multiple choice questions (with answers) about anatomy.

    <dev question>
    A. ...
    B. ...
    C. ...
    D. ...
    Answer: B

    <test question>
    A. ...
    ...
    Answer:

and the choices " A", " B", " C", " D" are scored by log-likelihood. CMMLU and C-Eval end the
question with "答案：" and use their own Chinese instruction line. Few-shot examples are the first
k rows of the dev split, in file order.
"""
import csv
from pathlib import Path
from typing import Any, Dict, List, Optional

from swift.utils import SwiftError

from ..data import read_csv_rows, require_file
from ..registry import Benchmark, Doc, register_benchmark
from .subjects import CEVAL_SUBJECTS, CMMLU_SUBJECTS, MMLU_SUBJECTS

LETTERS = ('A', 'B', 'C', 'D')
_COLUMNS = ('question', 'A', 'B', 'C', 'D', 'answer')


class ExamBenchmark(Benchmark):
    kind = 'multiple_choice'
    metrics = ('acc', 'acc_norm')
    few_shot_num = 5
    fewshot_split = 'dev'
    answer_cue = 'Answer:'

    def to_doc(self, row: Dict[str, Any], subset: str, index: int) -> Doc:
        answer = str(row.get('answer', '')).strip()
        if answer not in LETTERS:
            raise SwiftError(f'{self.name}/{subset} row {index}: answer {answer!r} is not one of A, B, C, D '
                             '(C-Eval test answers are not public: its scored split is val)')
        options = ''.join(f'\n{letter}. {row[letter]}' for letter in LETTERS)
        query = f'{row["question"].strip()}{options}\n{self.answer_cue}'
        return Doc(id=f'{subset}/{index}', subset=subset, query=query, choices=list(LETTERS),
                   gold=LETTERS.index(answer), target=answer, row=dict(row))


class MMLU(ExamBenchmark):
    name = 'mmlu'
    hub_id = 'cais/mmlu'
    local_dir = 'mmlu'
    subsets = tuple(MMLU_SUBJECTS)
    eval_split = 'test'

    def description(self, subset: str) -> str:
        return f'The following are multiple choice questions (with answers) about {subset.replace("_", " ")}.\n\n'

    def category(self, subset: str) -> Optional[str]:
        return MMLU_SUBJECTS.get(subset)

    def hub_split(self, split: str) -> str:
        return {'val': 'validation'}.get(split, split)

    def convert_hub_row(self, row: Dict[str, Any], subset: str) -> Dict[str, Any]:
        choices = list(row['choices'])
        return {'question': row['question'], **dict(zip(LETTERS, choices)), 'answer': LETTERS[int(row['answer'])]}

    def local_subsets(self, root: Path) -> List[str]:
        return sorted(p.name[:-len('_test.csv')] for p in (root / 'test').glob('*_test.csv'))

    def read_local(self, root: Path, subset: str, split: str) -> List[Dict[str, Any]]:
        # The original data.tar layout: <split>/<subject>_<split>.csv, no header.
        path = require_file(root / split / f'{subset}_{split}.csv', self.name)
        return read_csv_rows(path, _COLUMNS, header=False)


class CMMLU(ExamBenchmark):
    name = 'cmmlu'
    hub_id = 'haonan-li/cmmlu'
    local_dir = 'cmmlu'
    subsets = tuple(CMMLU_SUBJECTS)
    eval_split = 'test'
    answer_cue = '答案：'

    def description(self, subset: str) -> str:
        return f'以下是关于{CMMLU_SUBJECTS.get(subset, subset)}的单项选择题，请直接给出正确答案的选项。\n\n'

    def convert_hub_row(self, row: Dict[str, Any], subset: str) -> Dict[str, Any]:
        return {'question': row['Question'], **{k: row[k] for k in LETTERS}, 'answer': row['Answer']}

    def local_subsets(self, root: Path) -> List[str]:
        return sorted(p.stem for p in (root / 'test').glob('*.csv'))

    def read_local(self, root: Path, subset: str, split: str) -> List[Dict[str, Any]]:
        # The CMMLU repo layout: <split>/<subject>.csv with header ",Question,A,B,C,D,Answer".
        path = require_file(root / split / f'{subset}.csv', self.name)
        return read_csv_rows(path, _COLUMNS, header=True)


class CEval(ExamBenchmark):
    name = 'ceval'
    aliases = ('c-eval', 'ceval-exam')
    hub_id = 'ceval/ceval-exam'
    local_dir = 'ceval'
    subsets = tuple(CEVAL_SUBJECTS)
    eval_split = 'val'  # test answers are not public
    answer_cue = '答案：'

    def description(self, subset: str) -> str:
        return f'以下是中国关于{CEVAL_SUBJECTS.get(subset, subset)}的单项选择题，请选出其中的正确答案。\n\n'

    def convert_hub_row(self, row: Dict[str, Any], subset: str) -> Dict[str, Any]:
        return {'question': row['question'], **{k: row[k] for k in LETTERS}, 'answer': row.get('answer', '')}

    def local_subsets(self, root: Path) -> List[str]:
        return sorted(p.name[:-len('_val.csv')] for p in (root / 'val').glob('*_val.csv'))

    def read_local(self, root: Path, subset: str, split: str) -> List[Dict[str, Any]]:
        # The ceval-exam release: <split>/<subject>_<split>.csv, header id,question,A,B,C,D[,answer[,explanation]].
        path = require_file(root / split / f'{subset}_{split}.csv', self.name)
        with open(path, encoding='utf-8-sig', newline='') as f:
            columns = tuple(h.strip() for h in next(csv.reader(f), []))
        if not {'question', 'A', 'B', 'C', 'D'} <= set(columns):
            raise SwiftError(f'{path}:1: expected a header with question,A,B,C,D, found {",".join(columns)}')
        return read_csv_rows(path, columns, header=True)


register_benchmark(MMLU())
register_benchmark(CMMLU())
register_benchmark(CEval())
