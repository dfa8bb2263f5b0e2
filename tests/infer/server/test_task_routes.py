"""Task checkpoints behind `swift deploy`: /v1/embeddings, /v1/rerank, /v1/classify, and chat answers (tiny model;
a checkpoint here is the tiny model's files plus the args.json a --task_type run writes)."""
import json

import pytest
import torch

from swift.arguments import DeployArguments
from swift.infer.checks import check_infer_args
from swift.infer.main import build_engine
from swift.utils.args import parse_args

from .conftest import httpx, running_server


def _checkpoint(tiny_model_dir, tmp_path, **saved):
    folder = tmp_path / saved['task_type']
    folder.mkdir()
    for item in tiny_model_dir.iterdir():
        (folder / item.name).symlink_to(item)
    (folder / 'args.json').write_text(json.dumps({'template': 'smollm2', **saved}))
    return folder


@pytest.fixture()
def serve(tiny_model_dir, tmp_path):
    engines = []

    def start(**saved):
        args = check_infer_args(parse_args(DeployArguments, None, model=str(_checkpoint(tiny_model_dir, tmp_path,
                                                                                        **saved))))
        engines.append(build_engine(args))
        return running_server(engines[-1])

    yield start
    for engine in engines:
        engine.close()


def test_embedding_checkpoint_serves_its_vectors(serve):
    with serve(task_type='embedding') as server:
        client = server.client()
        name = client.models.list().data[0].id
        vectors = [d.embedding for d in client.embeddings.create(model=name, input=['a cat', 'a car']).data]
        assert len(vectors) == 2 and len(vectors[0]) == 64
        assert torch.tensor(vectors).norm(dim=-1).tolist() == pytest.approx([1.0, 1.0], abs=1e-5)
        served = server.state.engine.task_model
        assert vectors[0] == pytest.approx(served.embed(['a cat'])[0], abs=1e-6)
        response = httpx.post(server.url + '/v1/chat/completions', json={'messages': [{'role': 'user', 'content': 'x'}]})
        assert response.status_code == 400 and '/v1/embeddings' in response.json()['error']['message']
        response = httpx.post(server.url + '/v1/rerank', json={'query': 'q', 'documents': ['d']})
        assert response.status_code == 400 and 'embedding' in response.json()['error']['message']


@pytest.mark.parametrize('task_type', ['reranker', 'generative_reranker'])
def test_reranker_checkpoint_ranks_documents(serve, task_type):
    with serve(task_type=task_type, num_labels=1 if task_type == 'reranker' else None) as server:
        body = {'query': 'pets', 'documents': ['a cat', {'text': 'a car'}, 'a dog'], 'top_n': 2}
        results = httpx.post(server.url + '/v1/rerank', json=body).json()['results']
        scores = server.state.engine.task_model.rerank('pets', ['a cat', 'a car', 'a dog'])
        order = sorted(range(3), key=lambda i: -scores[i])[:2]
        assert [r['index'] for r in results] == order
        assert [r['relevance_score'] for r in results] == pytest.approx([scores[i] for i in order])
        assert results[0]['document']['text'] == ['a cat', 'a car', 'a dog'][order[0]]
        assert httpx.post(server.url + '/rerank', json=body).status_code == 200
        name = server.client().models.list().data[0].id
        chat = server.client().chat.completions.create(model=name, messages=[{'role': 'user', 'content': 'x'}])
        assert float(chat.choices[0].message.content) == pytest.approx(
            server.state.engine.task_model.score_ids([server.state.engine.task_model.encode(
                [{'role': 'user', 'content': 'x'}])])[0], abs=1e-5)


def test_classifier_checkpoint_classifies(serve):
    with serve(task_type='seq_cls', num_labels=3, problem_type='single_label_classification') as server:
        data = httpx.post(server.url + '/v1/classify', json={'input': ['good', 'bad']}).json()['data']
        assert [d['num_classes'] for d in data] == [3, 3] and sum(data[0]['probs']) == pytest.approx(1.0)
        assert data[0]['label'] == max(range(3), key=data[0]['probs'].__getitem__)
        name = server.client().models.list().data[0].id
        chat = server.client().chat.completions.create(model=name, messages=[{'role': 'user', 'content': 'good'}])
        assert chat.choices[0].message.content == str(data[0]['label'])
        assert httpx.post(server.url + '/v1/classify', json={'input': []}).status_code == 400
        assert httpx.post(server.url + '/v1/classify', json={'input': 'x', 'model': 'other'}).status_code == 404
