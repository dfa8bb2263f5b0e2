"""Audio and video in templates: Qwen2-Audio renders its official template and expands `<|AUDIO|>` as its processor
counts; SmolVLM writes a video as SmolVLM2's processor does (intro, timestamped frames); the decoder controls
(FPS, FPS_MAX_FRAMES, SAMPLING_RATE) are taken by the families that decode that kind of media."""
import re

import jinja2
import pytest

from swift.model.loader import get_model_tokenizer
from swift.template import get_template
from swift.template.templates.smolvlm import number_words
from swift.utils import SwiftError

from tests.helpers.av_media import colour_video, tone

AUDIO = {'type': 'audio', 'audio_url': 'a.wav'}


def _t(text):
    return {'type': 'text', 'text': text}


AUDIO_CONVERSATIONS = [
    [{'role': 'user', 'content': [AUDIO, _t('High or low?')]}, {'role': 'assistant', 'content': 'high'}],
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': [_t('Listen: '), AUDIO, AUDIO,
                                                                              _t('same?')]},
     {'role': 'assistant', 'content': 'no'}, {'role': 'user', 'content': [AUDIO, _t('and this?')]}],
    [{'role': 'user', 'content': 'No audio here.'}, {'role': 'assistant', 'content': 'Fine.'}],
]


def _tagged(messages):
    return [{'role': m['role'], 'content': m['content'] if isinstance(m['content'], str) else ''.join(
        p['text'] if p['type'] == 'text' else '<audio>' for p in m['content'])} for m in messages]


@pytest.mark.parametrize('index', range(len(AUDIO_CONVERSATIONS)))
@pytest.mark.parametrize('generation', [False, True])
def test_qwen2_audio_equals_the_official_template(index, generation):
    from transformers.models.qwen2_audio.processing_qwen2_audio import Qwen2AudioProcessor
    official = Qwen2AudioProcessor.default_chat_template.fget(None)  # Qwen2-Audio-Instruct's template
    messages = AUDIO_CONVERSATIONS[index]
    if generation and messages[-1]['role'] == 'assistant':
        messages = messages[:-1]
    expected = jinja2.Environment().from_string(official).render(messages=messages,
                                                                 add_generation_prompt=generation)
    template = get_template('qwen2_audio')
    for given in (messages, _tagged(messages)):
        rendered = ''.join(s.text for s in template.render_segments(given, add_generation_prompt=generation))
        assert rendered == expected


@pytest.fixture(scope='module')
def audio_tokenizer():
    from swift.model.tiny_audio import ensure_qwen2_audio_tiny
    return get_model_tokenizer(str(ensure_qwen2_audio_tiny()), load_model=False)[1]


def test_audio_expands_to_the_processors_token_count(audio_tokenizer, tmp_path):
    import soundfile as sf
    sf.write(str(tmp_path / 'a.wav'), tone(440, 1.0, rate=8000), 8000)  # resampled to 16 kHz: 100 mel frames
    template = get_template('qwen2_audio', audio_tokenizer)
    row = {'messages': [{'role': 'user', 'content': '<audio>High or low?'}, {'role': 'assistant', 'content': 'low'}],
           'audios': [str(tmp_path / 'a.wav')]}
    encoded = template.encode(row)
    audio_id = audio_tokenizer.convert_tokens_to_ids('<|AUDIO|>')
    positions = [i for i, t in enumerate(encoded['input_ids']) if t == audio_id]
    assert len(positions) == 25  # 100 frames → 50 after conv2 (stride 2) → 25 after the pooling (stride 2)
    assert encoded['media_spans'] == [[positions[0], positions[-1] + 1]]
    assert all(encoded['labels'][i] == -100 for i in positions)
    assert tuple(encoded['input_features'].shape) == (1, 128, 200)  # padded to the 2-second window
    assert int(encoded['feature_attention_mask'].sum()) == 100
    assert 'num_audio_tokens' not in encoded
    sf.write(str(tmp_path / 'long.wav'), tone(440, 3.0), 16000)
    with pytest.raises(SwiftError, match='longer than the model'):
        template.encode({**row, 'audios': [str(tmp_path / 'long.wav')]})


def test_sampling_rate_is_a_decoder_control(audio_tokenizer, monkeypatch):
    monkeypatch.setenv('SAMPLING_RATE', '16000')
    assert get_template('qwen2_audio', audio_tokenizer).decode_kwargs == {'sampling_rate': 16000}
    monkeypatch.setenv('MAX_PIXELS', '1000')
    with pytest.raises(SwiftError, match='MAX_PIXELS'):
        get_template('qwen2_audio', audio_tokenizer)


def test_number_words_as_num2words_writes_them():
    assert [number_words(n) for n in (2, 13, 20, 21, 100, 105, 768)] == [
        'two', 'thirteen', 'twenty', 'twenty-one', 'one hundred', 'one hundred and five',
        'seven hundred and sixty-eight']


def test_smolvlm_writes_a_video_as_timestamped_frames(tiny_vlm_dir, tmp_path, monkeypatch):
    tokenizer = get_model_tokenizer(str(tiny_vlm_dir), load_model=False)[1]
    path = colour_video(tmp_path / 'v.mp4', [(255, 0, 0), (0, 0, 255)], fps=4, frames_each=4)  # 2 s
    row = {'messages': [{'role': 'user', 'content': '<video>Which colour comes first?'},
                        {'role': 'assistant', 'content': 'red'}], 'videos': [str(path)]}
    monkeypatch.setenv('FPS', '1')  # → 2 frames
    encoded = get_template('smolvlm', tokenizer).encode(row)
    text = tokenizer.decode(encoded['input_ids'])
    frame = '<fake_token_around_image><global-img>' + '<image>' * 4 + '<fake_token_around_image>'
    assert text.startswith('<|im_start|>User: You are provided the following series of two frames from a 0:00:02 '
                           f'[H:MM:SS] video.\n\nFrame from 00:00:{frame}\nFrame from 00:01:{frame}\n\nWhich colour')
    assert tuple(encoded['pixel_values'].shape)[:2] == (1, 2)
    image_id = tokenizer.convert_tokens_to_ids('<image>')
    assert all(label == -100 for token, label in zip(encoded['input_ids'], encoded['labels']) if token == image_id)
    monkeypatch.setenv('FPS_MAX_FRAMES', '1')
    assert get_template('smolvlm', tokenizer).encode(row)['pixel_values'].shape[1] == 1
    both = {**row, 'images': [row['videos'][0]]}
    both['messages'] = [{'role': 'user', 'content': '<image><video>?'}, {'role': 'assistant', 'content': 'x'}]
    with pytest.raises(SwiftError, match='both images and videos'):
        get_template('smolvlm', tokenizer).encode({**both, 'images': [_png(tmp_path)]})
    assert re.search('Frame from', text)


def _png(folder):
    from PIL import Image
    Image.new('RGB', (8, 8), 'red').save(folder / 'a.png')
    return str(folder / 'a.png')
