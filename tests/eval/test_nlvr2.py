"""NLVR as the `nlvr2` benchmark: rows with images from ../shared/data/nlvr, asked through a VLM, scored True/False;
the same rows train a few steps with `swift sft`."""
import json

import pytest

from swift.eval.benchmarks.nlvr2 import ENV_DIR, extract_answer, training_rows
from swift.eval.registry import get_benchmark
from swift.eval.server_lm import openai_image_messages
from swift.eval.tasks import load_task, resolve_settings
from swift.utils import SwiftError


def _task(limit, dataset_dir=None):
    benchmark = get_benchmark('nlvr')  # the alias
    return load_task(benchmark, resolve_settings(benchmark, None, limit), dataset_dir)


def test_rows_load_with_their_images_and_the_limit(shared_data):
    task = _task(5, str(shared_data))
    docs = task.subsets[0].docs
    assert task.benchmark.name == 'nlvr2' and len(docs) == 5
    first = json.loads((shared_data / 'nlvr' / 'dev.json').read_text().splitlines()[0])
    assert docs[0].gold == first['label'].capitalize()
    assert docs[0].images == [str(shared_data / 'nlvr' / 'images' / first['directory'] /
                                  f'dev-{first["identifier"]}-0.png')]
    assert docs[0].query.startswith('<image>' + first['sentence'])
    assert {d.gold for d in _task(None, str(shared_data)).subsets[0].docs} == {'True', 'False'}


def test_data_comes_from_the_environment_or_a_clear_error(shared_data, monkeypatch):
    monkeypatch.setenv(ENV_DIR, str(shared_data / 'nlvr'))
    assert _task(2).n_docs == 2
    monkeypatch.delenv(ENV_DIR)
    with pytest.raises(SwiftError, match=r'no data\. NLVR .*github.com/lil-lab/nlvr.*SWIFT_NLVR_DIR'):
        _task(2)
    from swift.arguments import EvalArguments
    from swift.eval.checks import check_eval_args
    from swift.utils.args import parse_args
    with pytest.raises(SwiftError, match='no data'):  # before any model is loaded
        check_eval_args(parse_args(EvalArguments, ['--model', 'smolvlm-tiny', '--eval_dataset', 'nlvr2']))


def test_a_missing_image_names_the_file_and_line(tmp_path):
    (tmp_path / 'nlvr').mkdir()
    (tmp_path / 'nlvr' / 'dev.json').write_text(
        json.dumps({'sentence': 's', 'label': 'true', 'identifier': '1-0', 'directory': '0'}) + '\n')
    with pytest.raises(SwiftError, match=r'dev\.json:1: image .*dev-1-0-0\.png not found'):
        _task(None, str(tmp_path))


@pytest.mark.parametrize('reply, answer', [('True', 'True'), (' false.', 'False'), ('Yes, it is', 'True'),
                                           ('The statement is FALSE', 'False'), ('maybe', None), ('', None)])
def test_the_first_true_false_word_is_the_answer(reply, answer):
    assert extract_answer(reply) == answer


def test_server_requests_carry_the_images_as_data_uris(shared_data):
    doc = _task(1, str(shared_data)).subsets[0].docs[0]
    messages = openai_image_messages([{'role': 'user', 'content': doc.query}], doc.images)
    parts = messages[0]['content']
    assert parts[0]['type'] == 'image_url' and parts[0]['image_url']['url'].startswith('data:image/png;base64,')
    assert parts[1] == {'type': 'text', 'text': doc.query[len('<image>'):]}


def test_swift_eval_scores_nlvr2_with_images_on_a_vlm(tiny_vlm_dir, shared_data, tmp_path):
    from swift.eval.main import eval_main
    result = eval_main(['--model', str(tiny_vlm_dir), '--eval_dataset', 'nlvr2', '--eval_limit', '3',
                        '--eval_dataset_dir', str(shared_data), '--eval_output_dir', str(tmp_path)])
    assert result.scores['nlvr2']['n'] == 3
    samples = [json.loads(line) for line in (tmp_path.glob('*/samples/nlvr2.jsonl').__next__()).read_text().splitlines()]
    assert len(samples) == 3
    for sample in samples:
        assert sample['prompt']['images'][0].endswith('-0.png')  # the image went with the question
        assert sample['correct'] == (extract_answer(sample['output']) == sample['gold'])
    assert result.scores['nlvr2']['acc'] == pytest.approx(sum(s['correct'] for s in samples) / 3)


def test_nlvr_rows_train_a_few_steps(tiny_vlm_dir, shared_data, nlvr2_dir, tmp_path):
    """NLVR rows (one image) and NLVR2 pairs (two) together: batches mix one- and two-image rows."""
    from swift.training.sft import sft_main
    benchmark = get_benchmark('nlvr2')
    rows = training_rows(benchmark.read_local(shared_data / 'nlvr', 'default', 'dev')[:6]
                         + benchmark.read_local(nlvr2_dir / 'nlvr', 'default', 'dev')[:2])
    data = tmp_path / 'nlvr_train.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    result = sft_main(model=str(tiny_vlm_dir), dataset=[str(data)], tuner_type='full', max_steps=2,
                      per_device_train_batch_size=4, learning_rate=1e-3, output_dir=str(tmp_path / 'run'),
                      save_steps=10000, logging_steps=1, report_to=[], seed=0, eval_benchmarks=['nlvr2'],
                      eval_benchmark_limit=1, eval_dataset_dir=str(shared_data), eval_steps=2,
                      eval_dataset_args={'nlvr2': {'max_new_tokens': 2}})
    losses = [entry['loss'] for entry in result.log_history if 'loss' in entry]
    assert len(losses) == 2 and all(loss == loss and loss > 0 for loss in losses)
    # the benchmark is scored during training too (--eval_benchmarks), with the images
    assert [e['eval_nlvr2_acc'] for e in result.log_history if 'eval_nlvr2_acc' in e] != []
    assert result.last_checkpoint is not None


def test_a_served_vlm_gets_the_images_and_answers_as_in_process(tiny_vlm_dir, shared_data, tmp_path):
    from swift.eval import evaluate
    from swift.infer.transformers_engine import TransformersEngine
    from tests.infer.server.conftest import running_server
    with TransformersEngine(str(tiny_vlm_dir)) as engine:
        evaluate(engine, 'nlvr2', limit=2, dataset_dir=str(shared_data), output_dir=str(tmp_path / 'local'))
        with running_server(engine) as server:
            evaluate(None, 'nlvr2', limit=2, dataset_dir=str(shared_data), eval_url=server.url + '/v1',
                     output_dir=str(tmp_path / 'served'))
    outputs = {}
    for run in ('local', 'served'):
        lines = (tmp_path / run / 'samples' / 'nlvr2.jsonl').read_text().splitlines()
        outputs[run] = [json.loads(line)['output'] for line in lines]
    assert len(outputs['local']) == 2 and outputs['served'] == outputs['local']


@pytest.fixture(scope='module')
def nlvr2_dir(shared_data, tmp_path_factory):
    """An NLVR2-layout folder (dev.json lines with left/right pairs, images/<split>-<set>-<pair>-img{0,1}.png) built
    from NLVR's images: the layout and the two-image path are what is tested, not the pairs' labels."""
    import shutil
    root = tmp_path_factory.mktemp('nlvr2') / 'nlvr'
    (root / 'images').mkdir(parents=True)
    v1 = get_benchmark('nlvr2').read_local(shared_data / 'nlvr', 'default', 'dev')[:8]
    lines = []
    for k in range(4):
        left, right = v1[2 * k], v1[2 * k + 1]
        for side, row in enumerate((left, right)):
            shutil.copy(row['images'][0], root / 'images' / f'dev-{k}-0-img{side}.png')
        lines.append({'sentence': left['sentence'], 'label': left['label'], 'identifier': f'dev-{k}-0-0',
                      'left_url': 'http://example.invalid/l.png', 'right_url': 'http://example.invalid/r.png'})
    (root / 'dev.json').write_text(''.join(json.dumps(line) + '\n' for line in lines))
    return root.parent


def test_nlvr2_pairs_load_left_then_right_and_ask_about_both(nlvr2_dir):
    doc = _task(2, str(nlvr2_dir)).subsets[0].docs[1]
    assert doc.images == [str(nlvr2_dir / 'nlvr' / 'images' / f'dev-1-0-img{side}.png') for side in (0, 1)]
    assert doc.query.startswith('<image><image>') and doc.query.endswith('about the left and right images? '
                                                                           'Answer True or False.')
    parts = openai_image_messages([{'role': 'user', 'content': doc.query}], doc.images)[0]['content']
    assert [p['type'] for p in parts] == ['image_url', 'image_url', 'text']


def test_nlvr2_pairs_reach_the_model_in_order_and_evaluate(tiny_vlm_dir, nlvr2_dir, tmp_path):
    import torch
    from swift.eval.main import eval_main
    from swift.model.loader import load_tokenizer
    from swift.template import get_template
    rows = get_benchmark('nlvr2').read_local(nlvr2_dir / 'nlvr', 'default', 'dev')
    tokenizer = load_tokenizer(str(tiny_vlm_dir))
    template = get_template(tokenizer.model_info.template, tokenizer=tokenizer)
    pair = template.encode(training_rows(rows[:1])[0])
    alone = [template.encode({'messages': [{'role': 'user', 'content': '<image>?'}, {'role': 'assistant',
                                                                                    'content': 'x'}],
                              'images': [image]})['pixel_values'][0, 0] for image in rows[0]['images']]
    assert len(pair['media_spans']) == 2 and pair['pixel_values'].shape[1] == 2
    assert all(torch.equal(pair['pixel_values'][0, side], alone[side]) for side in (0, 1))  # left, then right

    result = eval_main(['--model', str(tiny_vlm_dir), '--eval_dataset', 'nlvr2', '--eval_limit', '2',
                        '--eval_dataset_dir', str(nlvr2_dir), '--eval_output_dir', str(tmp_path / 'eval'),
                        '--eval_dataset_args', json.dumps({'nlvr2': {'max_new_tokens': 2}})])
    samples = [json.loads(line) for line in next((tmp_path / 'eval').glob('*/samples/nlvr2.jsonl')).read_text()
               .splitlines()]
    assert result.scores['nlvr2']['n'] == 2 and [len(s['prompt']['images']) for s in samples] == [2, 2]
