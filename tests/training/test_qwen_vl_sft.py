"""A Qwen2-VL-architecture model learns from pixels through swift sft (M-RoPE: the model's 3-D rotary positions for
image tokens, from input_ids, mm_token_type_ids and image_grid_thw), and the trained checkpoint answers through
TransformersEngine (continuous batching: its own KV cache and positions, Qwen's rope delta per row) exactly as
`model.generate` does, through `swift infer --val_dataset` and through `swift deploy` with the openai client.

`qwen2-vl-tiny` (swift/model/tiny_qwen_vl.py: random 2-layer vision tower and LM, built once into the cache) sees
shapes of four colours (tests/helpers/shapes.py, 128 px, resized by the image processor to 112 px: 16 image tokens).
Untrained it answers at chance; after a short full fine-tune it must name the colour of >= 80% of held-out images.
The answer can only come from the pixels: the text is the same for every row.
"""
import base64

import pytest

from swift.infer.protocol import InferRequest, RequestConfig
from swift.infer.transformers_engine import TransformersEngine

from tests.helpers.media_proof import GREEDY, answer_accuracy, infer_val_records, media_requests


@pytest.fixture(scope='module')
def shapes(qwen_vl_shapes):
    return qwen_vl_shapes  # session-wide (tests/training/conftest.py): the video proof starts from this training


@pytest.fixture(scope='module')
def qwen_vl_model():
    from swift.model.tiny_qwen_vl import ensure_qwen2_vl_tiny
    return ensure_qwen2_vl_tiny()


@pytest.fixture(scope='module')
def trained(qwen_vl_trained):
    return qwen_vl_trained


@pytest.fixture(scope='module')
def engine(trained):
    engine = TransformersEngine(trained, max_batch_size=8)
    yield engine
    engine.close()


def test_untrained_model_is_at_chance(qwen_vl_model, shapes):
    folder, _, _, held_out = shapes
    with TransformersEngine(str(qwen_vl_model)) as untrained:
        accuracy, _ = answer_accuracy(untrained, held_out, folder, 'images')
    assert accuracy < 0.5


def test_sft_learns_the_colour_from_pixels(engine, shapes):
    folder, _, _, held_out = shapes
    accuracy, answers = answer_accuracy(engine, held_out, folder, 'images')
    assert accuracy >= 0.8, answers


def _generate_reference(engine, request: InferRequest, max_new_tokens: int):
    """model.generate's greedy tokens and their log-probabilities for the request (the processor's inputs, as
    transformers' Qwen2VLProcessor would give them: ids, pixel_values, image_grid_thw, mm_token_type_ids)."""
    import copy

    import torch
    row = {'messages': request.messages, 'images': request.images}
    config = copy.deepcopy(engine.model.generation_config)
    # as the engine's ignore_eos: every step decodes (a stop id the model never writes; None would fall back to the
    # model's own eos)
    config.eos_token_id = engine.tokenizer.convert_tokens_to_ids('<|video_pad|>')
    encoded = engine.template.encode(row, for_inference=True)
    ids = torch.tensor([encoded['input_ids']])
    out = engine.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                pixel_values=encoded['pixel_values'], image_grid_thw=encoded['image_grid_thw'],
                                **engine.template.token_inputs(ids), generation_config=config,
                                max_new_tokens=max_new_tokens, do_sample=False, output_scores=True,
                                return_dict_in_generate=True)
    tokens = out.sequences[0, ids.shape[1]:].tolist()
    logprobs = [torch.log_softmax(s[0].float(), -1)[t].item() for s, t in zip(out.scores, tokens)]
    return tokens, logprobs


def _engine_vs_generate(engine, shapes):
    """[(engine's log-probabilities, generate's, tokens equal)] for image rows of different grids decoded in one
    batch with a text row."""
    folder, _, _, held_out = shapes
    from PIL import Image
    wide = folder / 'wide.png'
    Image.open(folder / held_out[0]['images'][0]).resize((200, 90)).save(wide)
    requests = media_requests(held_out[1:3], folder, 'images') + [
        InferRequest(messages=[{'role': 'user', 'content': 'What colour is the shape?'}], images=[str(wide)])]
    config = RequestConfig(max_tokens=6, temperature=0, ignore_eos=True, logprobs=True)
    outputs = engine.infer([InferRequest(messages=[{'role': 'user', 'content': 'Hello'}])] + requests, config)
    compared = []
    for request, output in zip(requests, outputs[1:]):
        tokens, logprobs = _generate_reference(engine, request, 6)
        assert len(tokens) == 6
        got = [entry.logprob for entry in output.choices[0].logprobs.content]
        same_text = output.choices[0].message.content == engine.tokenizer.decode(tokens, skip_special_tokens=True)
        compared.append((got, logprobs, same_text))
    return compared


def test_engine_decodes_with_qwen_rope_deltas_like_generate(engine, shapes):
    """Prefill computes the 3-D positions; every decoding step must add the row's rope delta (image tokens take
    fewer positions than tokens), in a batch that mixes text and image rows of different grids."""
    for got, expected, same_text in _engine_vs_generate(engine, shapes):
        assert same_text and got == pytest.approx(expected, abs=1e-3)


def test_the_comparison_fails_without_the_rope_delta(engine, shapes, monkeypatch):
    """The check above can fail: decoding at plain positions (no delta) gives other log-probabilities."""
    monkeypatch.setattr(TransformersEngine, '_rope_state', lambda self: None)
    results = _engine_vs_generate(engine, shapes)
    assert any(got != pytest.approx(expected, abs=1e-3) for got, expected, _ in results)


def test_swift_infer_answers_val_dataset_rows_with_images(trained, shapes, engine, tmp_path):
    folder, _, val, held_out = shapes
    records = infer_val_records(trained, val, tmp_path / 'answers.jsonl')
    in_process = [o.choices[0].message.content for o in engine.infer(media_requests(held_out, folder, 'images'),
                                                                      GREEDY)]
    assert [r['response'] for r in records] == in_process


def test_deploy_takes_openai_image_url_parts(engine, shapes):
    from tests.infer.server.conftest import running_server
    folder, _, _, held_out = shapes
    expected = [o.choices[0].message.content for o in engine.infer(media_requests(held_out[:3], folder, 'images'),
                                                                    GREEDY)]
    with running_server(engine) as server:
        client = server.client()
        served = client.models.list().data[0].id
        for row, answer in zip(held_out[:3], expected):
            data_uri = 'data:image/png;base64,' + base64.b64encode((folder / row['images'][0]).read_bytes()).decode()
            response = client.chat.completions.create(
                model=served, max_tokens=4, temperature=0,
                messages=[{'role': 'user', 'content': [{'type': 'image_url', 'image_url': {'url': data_uri}},
                                                       {'type': 'text', 'text': row['messages'][0]['content']}]}])
            assert response.choices[0].message.content == answer
