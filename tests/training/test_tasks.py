"""`swift sft --task_type seq_cls | embedding | reranker | generative_reranker`: arguments, losses, a short run of
each task on the tiny model (checkpoint served by TaskModel), and the capability proofs on the embedded model."""
import json
import random

import pytest
import torch
import torch.nn.functional as F

from swift.arguments import SftArguments
from swift.infer.tasks import TaskModel, rerank_messages
from swift.training import task_losses
from swift.training.sft import sft_main
from swift.utils import SwiftError
from swift.utils.args import parse_args


def parse(**kwargs):
    return parse_args(SftArguments, None, model='m', dataset=['d'], **kwargs)


# ---------------------------------------------------------------- arguments


def test_task_arguments_defaults_and_refusals():
    assert parse(task_type='embedding').loss_type == 'infonce'
    assert parse(task_type='reranker').num_labels == 1
    assert parse(task_type='generative_reranker', loss_type='listwise_generative_reranker').loss_type == \
        'listwise_reranker'
    with pytest.raises(SwiftError, match='--num_labels'):
        parse(task_type='seq_cls')
    with pytest.raises(SwiftError, match='loss_type'):
        parse(task_type='embedding', loss_type='pointwise_reranker')
    with pytest.raises(SwiftError, match='causal_lm trains with its own loss'):
        parse(loss_type='infonce')
    with pytest.raises(SwiftError, match='task_type'):
        parse(task_type='embeding')


# ---------------------------------------------------------------- losses against their definitions


def test_infonce_is_cross_entropy_over_in_batch_and_hard_negatives(monkeypatch):
    monkeypatch.setenv('INFONCE_TEMPERATURE', '0.5')
    torch.manual_seed(0)
    a, p, n = (F.normalize(torch.randn(k, 8), dim=-1) for k in (3, 3, 2))
    loss, hits = task_losses.infonce_loss(a, p, n, torch.tensor([0, 2, 0]))
    expected = []
    for i in range(3):
        candidates = [p[i]] + [p[j] for j in range(3) if j != i] + ([n[0], n[1]] if i == 1 else [])
        logits = torch.stack([c @ a[i] for c in candidates]) / 0.5
        expected.append(-torch.log_softmax(logits, 0)[0])
    assert torch.allclose(loss, torch.stack(expected).mean(), atol=1e-6)
    assert hits.shape == (3, )


def test_pairwise_embedding_losses_and_rerankers():
    a = F.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), dim=-1)
    p = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), dim=-1)  # cos 1 and 0
    vectors, none = torch.cat([a, p]), torch.tensor([0, 0])
    loss, _ = task_losses.embedding_loss('cosine_similarity', vectors, none, torch.tensor([1.0, 0.0]))
    assert float(loss) == pytest.approx(0.0)
    loss, _ = task_losses.embedding_loss('contrastive', vectors, none, torch.tensor([1.0, 1.0]))
    assert float(loss) == pytest.approx(0.5 * (0 + 1) / 2)  # distances 0 and 1, both labelled similar
    scores, sizes = torch.tensor([2.0, -1.0, 0.5, 1.0, 3.0]), torch.tensor([3, 2])
    loss, hits = task_losses.reranker_loss('pointwise_reranker', scores, sizes)
    target = torch.tensor([1.0, 0, 0, 1, 0])
    assert torch.allclose(loss, F.binary_cross_entropy_with_logits(scores, target))
    assert hits.tolist() == [True, False]
    loss, _ = task_losses.reranker_loss('listwise_reranker', scores, sizes)
    expected = (F.cross_entropy(scores[None, :3], torch.tensor([0])) + F.cross_entropy(scores[None, 3:],
                                                                                     torch.tensor([0]))) / 2
    assert torch.allclose(loss, expected)


# ---------------------------------------------------------------- each task runs and serves (tiny model)


def _args(tiny_model_dir, tmp_path, **extra):
    return dict(model=str(tiny_model_dir), template='smollm2', output_dir=str(tmp_path / 'out'), max_steps=2,
                save_steps=2, logging_steps=1, per_device_train_batch_size=4, learning_rate=1e-3, lora_dropout=0.0,
                report_to=['none'], seed=1, **extra)


def _pairs(n=8):
    return [{'messages': [{'role': 'user', 'content': f'query {i}'}],
             'positive_messages': [[{'role': 'user', 'content': f'document {i}'}]],
             'negative_messages': [[{'role': 'user', 'content': f'other {i}'}]], 'label': float(i % 2)}
            for i in range(n)]


@pytest.mark.parametrize('task_type,loss_type', [('embedding', 'infonce'), ('embedding', 'online_contrastive'),
                                                 ('reranker', 'listwise_reranker'),
                                                 ('generative_reranker', 'pointwise_reranker')])
def test_pair_tasks_train_and_serve(tiny_model_dir, tmp_path, task_type, loss_type):
    result = sft_main(_args(tiny_model_dir, tmp_path, task_type=task_type, loss_type=loss_type), rows=_pairs())
    saved = json.loads((tmp_path / result.last_checkpoint / 'args.json').read_text())
    assert saved['task_type'] == task_type and saved['loss_type'] == loss_type
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in result.log_history if 'loss' in r)
    served = TaskModel.load(None, [result.last_checkpoint])
    if task_type == 'embedding':
        vectors = torch.tensor(served.embed(['query 1', 'document 1']))
        assert vectors.shape == (2, 64) and torch.allclose(vectors.norm(dim=-1), torch.ones(2), atol=1e-5)
    else:
        scores = served.rerank('query 1', ['document 1', 'other 1'])
        assert len(scores) == 2 and all(0 < s < 1 for s in scores)


def test_seq_cls_trains_a_head_that_serves_with_its_labels(tiny_model_dir, tmp_path):
    rows = [{'messages': [{'role': 'user', 'content': f'text {i}'}], 'label': i % 3} for i in range(8)]
    result = sft_main(_args(tiny_model_dir, tmp_path, task_type='seq_cls', num_labels=3), rows=rows)
    served = TaskModel.load(None, [result.last_checkpoint])
    assert served.problem_type == 'single_label_classification' and served.num_labels == 3
    probabilities = served.classify(['text 1', 'text 2'])
    assert len(probabilities[0]) == 3 and sum(probabilities[0]) == pytest.approx(1.0, abs=1e-5)


def test_bad_task_rows_name_the_field(tiny_model_dir, tmp_path):
    rows = [{'messages': [{'role': 'user', 'content': 'x'}], 'label': 5}]
    with pytest.raises(SwiftError, match=r'label 5 is not a class index in \[0, 2\)'):
        sft_main(_args(tiny_model_dir, tmp_path, task_type='seq_cls', num_labels=2, strict=True), rows=rows)
    with pytest.raises(SwiftError, match='positive_messages'):
        sft_main(_args(tiny_model_dir, tmp_path, task_type='embedding', strict=True),
                 rows=[{'messages': [{'role': 'user', 'content': 'x'}]}])


def test_rerank_input_follows_the_instruction_priority():
    text = rerank_messages('q', [{'role': 'system', 'content': 'find cats'}, {'role': 'user', 'content': 'd'}])
    assert text[1]['content'] == '<Instruct>: find cats\n<Query>: q\n<Document>: d'


# ---------------------------------------------------------------- capability proofs (embedded model)

ANIMALS = ['cat', 'dog', 'horse', 'cow', 'lion', 'tiger', 'sheep', 'goat', 'rabbit', 'mouse', 'wolf', 'bear', 'fox',
           'deer', 'duck', 'eagle']
VEHICLES = ['car', 'truck', 'bus', 'train', 'bicycle', 'plane', 'boat', 'ship', 'tractor', 'scooter', 'van', 'taxi',
            'tram', 'jeep', 'rocket', 'subway']
SENTENCES = ['I saw a {} today.', 'There is a {} near the house.', 'My friend talked about a {}.',
             'Look at that {}!', 'A {} appeared in the picture.']


def _classes(animals, vehicles, sentences, seed):
    rows = [{'messages': [{'role': 'user', 'content': s.format(w)}], 'label': label}
            for label, words in enumerate((animals, vehicles)) for w in words for s in sentences]
    random.Random(seed).shuffle(rows)
    return rows


@pytest.mark.slow
def test_seq_cls_learns_a_two_class_task(smollm_dir, tmp_path):
    """Animals vs vehicles; held out: other words in other sentences."""
    train = _classes(ANIMALS[:10], VEHICLES[:10], SENTENCES[:3], 0)
    test = _classes(ANIMALS[10:], VEHICLES[10:], SENTENCES[3:], 1)
    result = sft_main(model=str(smollm_dir), rows=train, task_type='seq_cls', num_labels=2, system='',
                      output_dir=str(tmp_path / 'out'), max_steps=8, per_device_train_batch_size=8,
                      learning_rate=1e-3, warmup_ratio=0.0, lora_dropout=0.0, save_steps=1000, report_to=['none'])
    served = TaskModel.load(None, [result.last_checkpoint])
    probabilities = served.classify([r['messages'] for r in test])
    accuracy = sum(int(p[1] > p[0]) == r['label'] for p, r in zip(probabilities, test)) / len(test)
    assert accuracy >= 0.9, accuracy


COLORS = ['red', 'blue', 'green', 'yellow', 'black', 'white', 'purple', 'orange', 'pink', 'brown', 'grey', 'gold']
OBJECTS = ['apple', 'house', 'kite', 'ball', 'hat', 'shoe', 'lamp', 'door', 'chair', 'boat', 'pen', 'cup', 'book',
           'bag', 'car', 'flag', 'rose', 'fish', 'bird', 'coat', 'ring', 'box', 'drum', 'bell']


@pytest.mark.slow
def test_infonce_embedding_ranks_the_positive_first(smollm_dir, tmp_path):
    """Query 'What color is the X?' ↔ 'The X is painted C.'; held out: other objects, ranked among each other."""
    rows = [{'messages': [{'role': 'user', 'content': f'What color is the {o}?'}],
             'positive_messages': [[{'role': 'user', 'content': f'The {o} is painted {COLORS[i % len(COLORS)]}.'}]]}
            for i, o in enumerate(OBJECTS)]
    train, test = rows[:16], rows[16:]
    result = sft_main(model=str(smollm_dir), rows=train, task_type='embedding', loss_type='infonce', system='',
                      output_dir=str(tmp_path / 'out'), max_steps=10, per_device_train_batch_size=8,
                      learning_rate=2e-3, warmup_ratio=0.0, lora_dropout=0.0, save_steps=1000, report_to=['none'])
    served = TaskModel.load(None, [result.last_checkpoint])
    queries = torch.tensor(served.embed([r['messages'] for r in test]))
    documents = torch.tensor(served.embed([r['positive_messages'][0] for r in test]))
    first = (queries @ documents.T).argmax(dim=1) == torch.arange(len(test))
    assert first.float().mean() >= 0.9, first.tolist()
