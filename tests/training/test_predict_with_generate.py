"""--predict_with_generate (ms-swift's): evaluations also answer the validation rows and log ms-swift's NLG metrics
(rouge-1/-2/-l, bleu-4 over jieba words) of those answers against the rows' answers."""
import json
from pathlib import Path

import pytest

from swift.training.generate_eval import GenerationEval, compute_rouge_bleu, prompt_and_reference
from swift.training.sft import sft_main
from tests.training.test_sft import ROWS, common_args


def test_metrics_and_the_split_of_an_item():
    assert compute_rouge_bleu(['the cat sat on the mat'], ['the cat sat on the mat']) == {
        'rouge-1': 100.0, 'rouge-2': 100.0, 'rouge-l': 100.0, 'bleu-4': 100.0}
    low = compute_rouge_bleu(['a dog ran'], ['the cat sat on the mat'])
    assert low['rouge-1'] == 0.0 and low['bleu-4'] < 10
    item = {'input_ids': [1, 2, 3, 4, 5, 6, 7], 'labels': [-100, 2, -100, -100, 5, 6, -100]}
    assert prompt_and_reference(item) == ([1, 2, 3, 4], [5, 6])  # the last trained span is the answer


def test_evaluations_log_the_scores_of_generated_answers(tiny_model_dir, tmp_path, monkeypatch):
    data = tmp_path / 'rows.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in ROWS[:8]))
    scorers = []
    original = GenerationEval.score

    def score(self, model, items):
        scorers.append(self)
        return original(self, model, items)
    monkeypatch.setattr(GenerationEval, 'score', score)
    result = sft_main(common_args(tiny_model_dir, data, tmp_path / 'out', max_steps=2, save_steps=2, eval_steps=2,
                                  split_dataset_ratio=0.25, predict_with_generate=True, report_to=['none']))
    records = [json.loads(line) for line in (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()]
    evaluation = next(r for r in records if 'eval_loss' in r)
    pairs = scorers[-1].last
    assert len(pairs) == 2 and all(isinstance(answer, str) for answer, _ in pairs)
    answers = {row['messages'][-1]['content'] for row in ROWS[:8]}
    assert all(reference in answers for _, reference in pairs)  # the references are the rows' own answers
    expected = compute_rouge_bleu([a for a, _ in pairs], [r for _, r in pairs])
    assert {k: evaluation[f'eval_{k}'] for k in expected} == pytest.approx(expected)
