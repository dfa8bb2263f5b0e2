"""ARC-Challenge and ARC-Easy (Clark et al. 2018): science questions, each choice scored as an answer.

Prompt (the reference harness's): "Question: <question>\\nAnswer:" continued by " <choice text>";
zero-shot by default, few-shot examples from the train split.

Local layouts under --eval_dataset_dir/arc (either works):
- llm-foundry's in-context-learning files `arc_challenge.jsonl` / `arc_easy.jsonl` (test split only):
  {"query": "Question: ...", "choices": [...], "gold": <index>};
- the original AI2 release `ARC-Challenge/ARC-Challenge-{Train,Dev,Test}.jsonl`:
  {"question": {"stem": ..., "choices": [{"text", "label"}, ...]}, "answerKey": ...}.
"""
from pathlib import Path
from typing import Any, Dict, List

from swift.utils import SwiftError

from ..data import read_jsonl_rows, require_file
from ..registry import Benchmark, Doc, register_benchmark

_AI2_SPLITS = {'train': 'Train', 'validation': 'Dev', 'test': 'Test'}
_QUERY_PREFIX = 'Question: '


def _answer_index(labels: List[str], key: str, where: str) -> int:
    if key not in labels:
        raise SwiftError(f'{where}: answerKey {key!r} is not one of the choice labels {labels}')
    return labels.index(key)


class ARC(Benchmark):
    kind = 'multiple_choice'
    metrics = ('acc', 'acc_norm')
    hub_id = 'allenai/ai2_arc'
    local_dir = 'arc'
    eval_split = 'test'
    fewshot_split = 'train'
    few_shot_num = 0
    ai2_name = ''  # ARC-Challenge | ARC-Easy
    foundry_file = ''  # arc_challenge.jsonl | arc_easy.jsonl

    def hub_config(self, subset: str) -> str:
        return self.ai2_name

    def convert_hub_row(self, row: Dict[str, Any], subset: str) -> Dict[str, Any]:
        labels = list(row['choices']['label'])
        return {'question': row['question'], 'choices': list(row['choices']['text']),
                'gold': _answer_index(labels, row['answerKey'], f'{self.hub_id} row {row.get("id")}')}

    def read_local(self, root: Path, subset: str, split: str) -> List[Dict[str, Any]]:
        ai2 = root / self.ai2_name / f'{self.ai2_name}-{_AI2_SPLITS.get(split, split)}.jsonl'
        if ai2.is_file():
            return [self._from_ai2(row, f'{ai2}:{i + 1}') for i, row in enumerate(read_jsonl_rows(ai2))]
        foundry = root / self.foundry_file
        if split != 'test' or not foundry.is_file():
            require_file(ai2, self.name)  # names the file the user should provide
        rows = read_jsonl_rows(foundry, required=('query', 'choices', 'gold'))
        return [self._from_foundry(row, f'{foundry}:{i + 1}') for i, row in enumerate(rows)]

    @staticmethod
    def _from_ai2(row: Dict[str, Any], where: str) -> Dict[str, Any]:
        choices = row['question']['choices']
        labels = [c['label'] for c in choices]
        return {'question': row['question']['stem'], 'choices': [c['text'] for c in choices],
                'gold': _answer_index(labels, row['answerKey'], where)}

    @staticmethod
    def _from_foundry(row: Dict[str, Any], where: str) -> Dict[str, Any]:
        if not row['query'].startswith(_QUERY_PREFIX):
            raise SwiftError(f'{where}: expected the query to start with {_QUERY_PREFIX!r}')
        return {'question': row['query'][len(_QUERY_PREFIX):], 'choices': list(row['choices']),
                'gold': int(row['gold'])}

    def to_doc(self, row: Dict[str, Any], subset: str, index: int) -> Doc:
        gold = int(row['gold'])
        return Doc(id=f'{subset}/{index}', subset=subset, query=f'Question: {row["question"]}\nAnswer:',
                   choices=list(row['choices']), gold=gold, target=row['choices'][gold], row=dict(row))


class ARCChallenge(ARC):
    name = 'arc_c'
    aliases = ('arc_challenge', 'arc-challenge')
    ai2_name = 'ARC-Challenge'
    foundry_file = 'arc_challenge.jsonl'


class ARCEasy(ARC):
    name = 'arc_e'
    aliases = ('arc_easy', 'arc-easy')
    ai2_name = 'ARC-Easy'
    foundry_file = 'arc_easy.jsonl'


register_benchmark(ARCChallenge())
register_benchmark(ARCEasy())
