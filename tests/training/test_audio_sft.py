"""A Qwen2-Audio-architecture model learns the pitch of a tone through swift sft, and the trained checkpoint answers
the same through TransformersEngine and `swift infer --val_dataset`.

`qwen2-audio-tiny` (swift/model/tiny_audio.py: random 2-layer audio tower and LM, built once into the cache) hears
synthetic sine tones (tests/helpers/av_media.py: high 1.2-3 kHz or low 120-400 Hz, written at 8 kHz so the
template resamples them to the processor's 16 kHz). Untrained it answers at chance; after a few steps it must name
high / low for >= 90% of held-out tones. The answer can only come from the audio: the text is the same for every row.
"""
import pytest

from swift.infer.transformers_engine import TransformersEngine

from tests.helpers.av_media import tone_rows, write_jsonl
from tests.helpers.media_proof import GREEDY, answer_accuracy, full_fine_tune, infer_val_records, media_requests


@pytest.fixture(scope='module')
def tones(tmp_path_factory):
    folder = tmp_path_factory.mktemp('tones')
    train, held_out = tone_rows(folder, 64, seed=1), tone_rows(folder, 30, seed=2)
    return folder, write_jsonl(folder / 'train.jsonl', train), write_jsonl(folder / 'val.jsonl', held_out), held_out


@pytest.fixture(scope='module')
def audio_model():
    from swift.model.tiny_audio import ensure_qwen2_audio_tiny
    return ensure_qwen2_audio_tiny()


@pytest.fixture(scope='module')
def trained(audio_model, tones, tmp_path_factory):
    _, train, _, _ = tones
    return full_fine_tune('qwen2-audio-tiny', train, tmp_path_factory.mktemp('audio-run'), 3e-3, 8)


@pytest.fixture(scope='module')
def engine(trained):
    engine = TransformersEngine(trained, max_batch_size=8)
    yield engine
    engine.close()


def test_the_tiny_model_loads_with_plain_transformers(audio_model):
    from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration
    processor = AutoProcessor.from_pretrained(str(audio_model))
    model = Qwen2AudioForConditionalGeneration.from_pretrained(str(audio_model))
    assert type(processor).__name__ == 'Qwen2AudioProcessor' and processor.feature_extractor.sampling_rate == 16000
    assert model.config.audio_token_id == processor.tokenizer.convert_tokens_to_ids('<|AUDIO|>')


def test_untrained_model_is_at_chance(audio_model, tones):
    folder, _, _, held_out = tones
    with TransformersEngine(str(audio_model)) as untrained:
        accuracy, _ = answer_accuracy(untrained, held_out, folder, 'audios')
    assert accuracy <= 0.6


def test_sft_learns_the_pitch_from_the_audio(engine, tones):
    folder, _, _, held_out = tones
    accuracy, answers = answer_accuracy(engine, held_out, folder, 'audios')
    assert accuracy >= 0.9, answers


def test_swift_infer_answers_val_dataset_rows_with_audio(trained, tones, engine, tmp_path):
    folder, _, val, held_out = tones
    records = infer_val_records(trained, val, tmp_path / 'answers.jsonl')
    requests = media_requests(held_out, folder, 'audios')
    in_process = [o.choices[0].message.content for o in engine.infer(requests, GREEDY)]
    assert [r['response'] for r in records] == in_process
    assert records[0]['audios'] == [str(folder / held_out[0]['audios'][0])]


def test_deploy_takes_openai_input_audio_parts(engine, tones):
    import base64

    from tests.infer.server.conftest import running_server
    folder, _, _, held_out = tones
    requests = media_requests(held_out[:3], folder, 'audios')
    expected = [o.choices[0].message.content for o in engine.infer(requests, GREEDY)]
    with running_server(engine) as server:
        client = server.client()
        served = client.models.list().data[0].id
        for row, answer in zip(held_out[:3], expected):
            data = base64.b64encode((folder / row['audios'][0]).read_bytes()).decode()
            response = client.chat.completions.create(
                model=served, max_tokens=4, temperature=0,
                messages=[{'role': 'user', 'content': [{'type': 'input_audio',
                                                        'input_audio': {'data': data, 'format': 'wav'}},
                                                       {'type': 'text', 'text': row['messages'][0]['content']
                                                        .replace('<audio>', '')}]}])
            assert response.choices[0].message.content == answer
