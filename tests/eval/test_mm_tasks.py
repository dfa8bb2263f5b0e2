"""mm_vqa / mm_caption / mm_ocr / mm_grounding: your own rows with images, scored with their task's metrics."""
import json

import pytest

from swift.eval.mm_metrics import compute_metrics
from swift.eval.registry import get_benchmark
from swift.eval.tasks import load_task, resolve_settings
from swift.utils import SwiftError
from tests.helpers.shapes import make_rows, write_jsonl


def _task(name, root, limit=None):
    benchmark = get_benchmark(name)
    return load_task(benchmark, resolve_settings(benchmark, None, limit), str(root) if root else None)


def test_vqa_and_caption_rows_are_scored_with_their_metrics(tiny_vlm_dir, tmp_path):
    from swift.eval import evaluate
    vqa = make_rows(tmp_path / 'mm_vqa', 3, seed=1, kinds=('colour', ))
    vqa[0]['references'] = [vqa[0]['messages'][1]['content']] * 3 + ['purple'] * 7  # 10 human answers
    write_jsonl(tmp_path / 'mm_vqa' / 'test.jsonl', vqa)
    captions = make_rows(tmp_path / 'mm_caption', 3, seed=2, kinds=('colour', ))
    for row in captions:
        row['messages'][0]['content'] = 'Describe the picture.'
        row['references'] = [f'a {row["messages"][1]["content"]} shape', 'a shape on white']
    write_jsonl(tmp_path / 'mm_caption' / 'test.jsonl', captions)
    short = {'max_new_tokens': 8}
    scores = evaluate(str(tiny_vlm_dir), ['mm_vqa', 'mm_caption'], dataset_dir=str(tmp_path),
                      dataset_args={'mm_vqa': short, 'mm_caption': short}, output_dir=str(tmp_path / 'out'))
    samples = {name: [json.loads(line) for line in (tmp_path / 'out' / 'samples' / f'{name}.jsonl').open()]
               for name in ('mm_vqa', 'mm_caption')}
    assert samples['mm_vqa'][0]['prompt']['images'][0] == str(tmp_path / 'mm_vqa' / '1_0.png')
    assert samples['mm_vqa'][0]['gold'][3:] == ['purple'] * 7
    predictions = [s['prediction'] for s in samples['mm_vqa']]
    assert scores['mm_vqa']['vqa_acc'] == pytest.approx(
        compute_metrics('vqa', predictions, [s['gold'] for s in samples['mm_vqa']])['vqa_acc'], abs=1e-6)
    # caption scores are corpus level: the whole run's predictions against their references, not a mean per row
    captions_out = samples['mm_caption']
    corpus = compute_metrics('caption', [s['prediction'] for s in captions_out], [s['gold'] for s in captions_out])
    for name in ('bleu_1', 'bleu_4', 'rouge_l', 'cider'):
        assert scores['mm_caption'][name] == pytest.approx(corpus[name], abs=1e-6), name
    assert scores['mm_caption']['n'] == 3


def test_rows_are_checked_with_file_and_line(tmp_path):
    with pytest.raises(SwiftError, match=r'mm_ocr reads your own rows: pass --eval_dataset_dir DIR with DIR/mm_ocr/'):
        _task('mm_ocr', None)
    folder = tmp_path / 'mm_grounding'
    rows = make_rows(folder, 2, seed=3, kinds=('shape', ))
    rows[1]['images'] = ['missing.png']
    write_jsonl(folder / 'test.jsonl', rows)
    with pytest.raises(SwiftError, match=r'test\.jsonl:2: .*missing\.png'):
        _task('mm_grounding', tmp_path)
    rows[1] = {**rows[0], 'messages': rows[0]['messages'] * 2}
    write_jsonl(folder / 'test.jsonl', rows)
    with pytest.raises(SwiftError, match=r'test\.jsonl:2: a mm_grounding row is one user turn'):
        _task('mm_grounding', tmp_path)
    write_jsonl(folder / 'test.jsonl', rows[:1])
    doc = _task('mm_grounding', tmp_path).subsets[0].docs[0]
    assert doc.query.startswith('<image>') and doc.images == [str(folder / '3_0.png')]  # the tag was added
    scores, _ = get_benchmark('mm_grounding').score_generation('(0,0),(10,10)', doc.__class__(
        **{**doc.__dict__, 'gold': ['[0, 0, 10, 12]']}))
    assert scores == {'iou@0.5': 1.0, 'iou': pytest.approx(100 / 120)}
