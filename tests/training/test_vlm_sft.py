"""A SmolVLM-architecture model learns from pixels through swift sft, and the trained checkpoint answers the same
through TransformersEngine (batched with text requests), `swift infer --val_dataset` and `swift deploy` with the
official openai client (an http URL from a local server, and a data: URI).

The proof runs on the tiny SmolVLM (tests/conftest.py tiny_vlm_dir: random 2-layer LM and vision tower) so that
it fits the suite's time on 2 CPU cores: the colour of a large shape, from chance (an untrained model answers one
word for every image) to >= 90% on held-out images. It fails if images do not reach the model (the answer can
only come from the pixels). On smolvlm-tiny (SmolLM2-135M) itself, with colour, shape, digit and grounding rows:
scripts/smolvlm_tiny_proof.py, not in the suite (docs/multimodal.md "smolvlm-tiny proof": 2.1 s of CPU a step,
thresholds not reached yet).
"""
import base64
import functools
import http.server
import threading

import pytest

from swift.infer.protocol import InferRequest
from swift.infer.transformers_engine import TransformersEngine

from tests.helpers.media_proof import GREEDY, answer_accuracy, full_fine_tune, infer_val_records, media_requests
from tests.helpers.shapes import colour_sets
from tests.infer.server.conftest import running_server


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    return colour_sets(tmp_path_factory.mktemp('shapes'), 192, 40, min_side=100)


@pytest.fixture(scope='module')
def trained(tiny_vlm_dir, shapes, tmp_path_factory):
    _, train, _, _ = shapes
    return full_fine_tune(str(tiny_vlm_dir), train, tmp_path_factory.mktemp('vlm-run'), 3e-3, 5)


@pytest.fixture(scope='module')
def engine(trained):
    engine = TransformersEngine(trained, max_batch_size=8)
    yield engine
    engine.close()


def test_untrained_model_is_at_chance(tiny_vlm_dir, shapes):
    folder, _, _, held_out = shapes
    with TransformersEngine(str(tiny_vlm_dir)) as untrained:
        accuracy, _ = answer_accuracy(untrained, held_out, folder, 'images')
    assert accuracy < 0.5


def test_sft_learns_the_colour_from_pixels(engine, shapes):
    folder, _, _, held_out = shapes
    accuracy, answers = answer_accuracy(engine, held_out, folder, 'images')
    assert accuracy >= 0.9, answers


def test_text_and_image_requests_batch_together(engine, shapes):
    folder, _, _, held_out = shapes
    single = engine.infer(media_requests(held_out[:2], folder, 'images'), GREEDY)
    mixed = engine.infer([InferRequest(messages=[{'role': 'user', 'content': 'Hello'}])] +
                         media_requests(held_out[:2], folder, 'images'), GREEDY)
    assert [o.choices[0].message.content for o in mixed[1:]] == [o.choices[0].message.content for o in single]
    assert mixed[0].choices[0].finish_reason in ('stop', 'length')


def test_swift_infer_answers_val_dataset_rows_with_images(trained, shapes, engine, tmp_path):
    folder, _, val, held_out = shapes
    records = infer_val_records(trained, val, tmp_path / 'answers.jsonl')
    requests = media_requests(held_out, folder, 'images')
    in_process = [o.choices[0].message.content for o in engine.infer(requests, GREEDY)]
    assert [r['response'] for r in records] == in_process
    assert records[0]['images'] == [str(folder / held_out[0]['images'][0])]


@pytest.fixture(scope='module')
def image_server(shapes):
    """A local HTTP server for the image files (what a client's image_url points at)."""
    folder = shapes[0]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()


def test_deploy_takes_openai_image_url_parts(engine, shapes, image_server):
    folder, _, _, held_out = shapes
    requests = media_requests(held_out[:3], folder, 'images')
    expected = [o.choices[0].message.content for o in engine.infer(requests, GREEDY)]
    with running_server(engine) as server:
        client = server.client()
        served = client.models.list().data[0].id
        for row, answer in zip(held_out[:3], expected):
            name = row['images'][0]
            data_uri = 'data:image/png;base64,' + base64.b64encode((folder / name).read_bytes()).decode()
            for url in (f'{image_server}/{name}', data_uri):
                response = client.chat.completions.create(
                    model=served, max_tokens=4, temperature=0,
                    messages=[{'role': 'user', 'content': [{'type': 'image_url', 'image_url': {'url': url}},
                                                           {'type': 'text', 'text': row['messages'][0]['content']}]}])
                assert response.choices[0].message.content == answer
        import openai
        with pytest.raises(openai.BadRequestError, match='http'):
            client.chat.completions.create(model=served, messages=[{'role': 'user', 'content': [
                {'type': 'image_url', 'image_url': {'url': str(folder / held_out[0]['images'][0])}}]}])
