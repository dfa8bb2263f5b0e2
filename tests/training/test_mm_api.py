"""The multimodal Python API on the tiny VLM: train(task=..., data_args=...), MultiModalDatasetBuilder,
MultiModalTrainer(model, dataset, processor).train() / .evaluate(rows) — all `swift sft` underneath."""
import json
from pathlib import Path

import pytest
from PIL import Image

from swift import MultiModalDatasetBuilder, MultiModalTrainer, train
from swift.training.mm_tasks import score
from swift.utils import SwiftError

FAST = dict(tuner_type='full', max_steps=2, per_device_train_batch_size=2, save_steps=1000, logging_steps=1,
            report_to=[], seed=0)


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp('mm-api')
    for colour in ('red', 'blue'):
        image = Image.new('RGB', (64, 32), 'white')
        image.paste(Image.new('RGB', (16, 16), colour), (8, 4))  # the square at [8, 4, 24, 20]
        image.save(folder / f'{colour}.png')
    return folder


def test_the_builder_writes_each_tasks_prompt_and_answer(folder):
    rows = {task: MultiModalDatasetBuilder(task, image_folder=str(folder)).row(row) for task, row in {
        'vqa': {'image': 'red.png', 'question': 'What colour?', 'answer': 'red'},
        'caption': {'image': 'red.png', 'caption': 'A red square.'},
        'ocr': {'image': 'red.png', 'text': 'A1'},
        'grounding': {'image': 'red.png', 'ref': 'red square', 'bbox': [8, 4, 24, 20]},
    }.items()}
    assert rows['vqa'] == {'images': ['red.png'], 'messages': [{'role': 'user', 'content': '<image>What colour?'},
                                                               {'role': 'assistant', 'content': 'red'}]}
    assert rows['caption']['messages'][0]['content'] == '<image>Describe the image.'
    assert rows['ocr']['messages'][0]['content'] == '<image>Read the text in the image.'
    assert rows['grounding'] == {
        'images': ['red.png'], 'objects': {'ref': ['red square'], 'bbox': [[8, 4, 24, 20]], 'bbox_type': 'real'},
        'messages': [{'role': 'user', 'content': '<image>Find the <ref-object> in the image.'},
                     {'role': 'assistant', 'content': '<bbox>'}]}
    with pytest.raises(SwiftError, match=r'vqa row 0: needs a "answer" column \(or response\)'):
        MultiModalDatasetBuilder('vqa').row({'image': 'a.png', 'question': 'q'})
    with pytest.raises(SwiftError, match="task 'qva': choose one of vqa, caption, ocr, grounding. Did you mean: vqa"):
        MultiModalDatasetBuilder('qva')


def test_scores_per_task():
    vqa = [{'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': 'Red'}]}] * 2
    assert score('vqa', ['red.', 'blue'], vqa) == {'accuracy': 0.5}
    ocr = [{'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': 'ABCD'}]}]
    assert score('ocr', ['ABCE'], ocr) == {'exact_match': 0.0, 'edit_similarity': 0.75}


def test_train_with_a_task_and_data_args(tiny_vlm_dir, folder, tmp_path):
    (folder / 'vqa.jsonl').write_text(''.join(json.dumps({'image': f'{c}.png', 'question': 'What colour?',
                                                          'answer': c}) + '\n' for c in ('red', 'blue')))
    result = train(model=str(tiny_vlm_dir), task='vqa', data_args={'image_folder': str(folder),
                                                                    'dataset': str(folder / 'vqa.jsonl')},
                   output_dir=str(tmp_path / 'run'), **FAST)
    steps = [h['step'] for h in result.log_history if 'loss' in h]
    assert steps == [1, 2] and result.last_checkpoint
    saved = json.loads((Path(result.output_dir) / 'args.json').read_text())
    assert saved['image_folder'] == str(folder)


def test_multimodal_trainer_grounding_trains_and_scores_iou(tiny_vlm_dir, folder, tmp_path):
    from swift.api import prepare_model
    model, tokenizer = prepare_model(str(tiny_vlm_dir))
    processor = tokenizer.model_info.processor
    rows = [{'image': f'{c}.png', 'ref': f'{c} square', 'bbox': [8, 4, 24, 20]} for c in ('red', 'blue')]
    trainer = MultiModalTrainer(model, rows, processor, task='grounding', data_args={'image_folder': str(folder)},
                                output_dir=str(tmp_path / 'run'), **FAST)
    result = trainer.train()
    assert result.last_checkpoint
    scores = trainer.evaluate(rows, max_tokens=8)
    assert 0.0 <= scores['iou@0.5'] <= 1.0 and len(scores['answers']) == 2
    # the metric reads the family's box text back: the exact answer scores 1, a box elsewhere 0
    built = [MultiModalDatasetBuilder('grounding', str(folder)).row(dict(r)) for r in rows]
    for row in built:
        row['images'] = [str(folder / row['images'][0])]
    from swift.template import get_template
    smolvlm = get_template('smolvlm')
    assert score('grounding', ['[(125,125),(375,625)]', '[(600,600),(900,900)]'], built, smolvlm) == {'iou@0.5': 0.5}
