"""GSM8K (Cobbe et al. 2021) with chain-of-thought: generate a worked answer, compare the final number.

Prompt: the 8 chain-of-thought exemplars of Wei et al. 2022 ("Chain-of-Thought Prompting Elicits
Reasoning", the reference harness's gsm8k_cot), then "Q: <question>\\nA:". Greedy decoding stops at
"Q:" or after 256 tokens.

Scores (the reference harness's filters):
- exact_match: the number in "The answer is N." (strict; the exemplars teach this phrase);
- exact_match_flex: the last number anywhere in the reply.
Both compare with the number after "####" in the reference, ignoring commas, "$" and a final ".".

Local layout under --eval_dataset_dir/gsm8k: the original `train.jsonl` / `test.jsonl`
({"question", "answer"}, the answer ending in "#### <number>").
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..data import read_jsonl_rows, require_file
from ..metrics import exact_match, regex_extract
from ..registry import Benchmark, Doc, register_benchmark

STRICT_PATTERN = r'The answer is (\-?[0-9\.\,]+).'
FLEXIBLE_PATTERN = r'(-?[$0-9.,]{2,})|(-?[0-9]+)'
IGNORE = (',', '\\$', '(?s).*#### ', '\\.$')

# Wei et al. 2022, Table 20 (the GSM8K chain-of-thought exemplars).
COT_EXEMPLARS = [
    ('There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, '
     'there will be 21 trees. How many trees did the grove workers plant today?',
     'There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have '
     'been 21 - 15 = 6. The answer is 6.'),
    ('If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?',
     'There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.'),
    ('Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have left in total?',
     'Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. After eating 35, '
     'they had 74 - 35 = 39. The answer is 39.'),
    ('Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many lollipops did '
     'Jason give to Denny?',
     'Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny 20 - 12 = 8. '
     'The answer is 8.'),
    ('Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys does he have '
     'now?',
     'Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more toys. 5 + 4 = 9. '
     'The answer is 9.'),
    ('There were nine computers in the server room. Five more computers were installed each day, from monday to '
     'thursday. How many computers are now in the server room?',
     'There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4 = 20 computers '
     'were added. 9 + 20 is 29. The answer is 29.'),
    ('Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. How many golf '
     'balls did he have at the end of wednesday?',
     'Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After losing 2 more, '
     'he had 35 - 2 = 33 golf balls. The answer is 33.'),
    ('Olivia has $23. She bought five bagels for $3 each. How much money does she have left?',
     'Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 - 15 dollars '
     'left. 23 - 15 is 8. The answer is 8.'),
]


def final_number(answer: str) -> str:
    """The reference answer: what follows '####' in a GSM8K solution."""
    return answer.split('####')[-1].strip()


class GSM8K(Benchmark):
    name = 'gsm8k'
    kind = 'generation'
    metrics = ('exact_match', 'exact_match_flex')
    hub_id = 'openai/gsm8k'
    local_dir = 'gsm8k'
    eval_split = 'test'
    fewshot_split = None
    few_shot_num = 8
    until = ('Q:', '</s>', '<|im_end|>')
    max_new_tokens = 256

    def hub_config(self, subset: str) -> str:
        return 'main'

    def read_local(self, root: Path, subset: str, split: str) -> List[Dict[str, Any]]:
        return read_jsonl_rows(require_file(root / f'{split}.jsonl', self.name), required=('question', 'answer'))

    def fixed_fewshot(self) -> Optional[List[Dict[str, Any]]]:
        return [{'question': q, 'target': a} for q, a in COT_EXEMPLARS]

    def to_doc(self, row: Dict[str, Any], subset: str, index: int) -> Doc:
        target = row['target'] if 'target' in row else row['answer']
        gold = final_number(row['answer']) if 'answer' in row else ''
        return Doc(id=f'{subset}/{index}', subset=subset, query=f'Q: {row["question"]}\nA:', choices=[], gold=gold,
                   target=target, row=dict(row))

    def score_generation(self, text: str, doc: Doc) -> Tuple[Dict[str, float], Any]:
        strict = regex_extract(text, STRICT_PATTERN)
        flexible = regex_extract(text, FLEXIBLE_PATTERN, group_select=-1)
        scores = {'exact_match': exact_match(strict, doc.gold, IGNORE),
                  'exact_match_flex': exact_match(flexible, doc.gold, IGNORE)}
        return scores, {'strict': strict, 'flexible': flexible}


register_benchmark(GSM8K())
