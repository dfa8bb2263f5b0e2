"""Audio and video decoding (swift/utils/media.py): soundfile + polyphase resampling, PyAV frame sampling at
FPS / FPS_MAX_FRAMES, and errors that name the file."""
import base64

import numpy as np
import pytest

from swift.utils.media import MediaError, load_audio, load_video

from tests.helpers.av_media import colour_video, tone

RED, BLUE = (230, 30, 30), (30, 30, 230)


def _dominant_frequency(samples, rate):
    spectrum = np.abs(np.fft.rfft(samples))
    return np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))]


def test_audio_is_resampled_to_the_requested_rate_keeping_its_pitch(tmp_path):
    import soundfile as sf
    sf.write(str(tmp_path / 'a.wav'), tone(440, 1.0, rate=44100), 44100)
    stereo = np.stack([tone(440, 1.0), tone(440, 1.0)], axis=1)
    sf.write(str(tmp_path / 'b.flac'), stereo, 16000)
    samples, rate = load_audio(str(tmp_path / 'a.wav'), 16000)
    assert rate == 16000 and samples.dtype == np.float32 and len(samples) == 16000
    assert abs(_dominant_frequency(samples, 16000) - 440) < 2
    mono, rate = load_audio(str(tmp_path / 'b.flac'))  # no rate asked: the file's own; channels averaged
    assert rate == 16000 and mono.shape == (16000, )
    data_uri = 'data:audio/wav;base64,' + base64.b64encode((tmp_path / 'a.wav').read_bytes()).decode()
    assert np.allclose(load_audio(data_uri, 16000)[0], samples)


def test_video_frames_are_sampled_at_fps_and_capped(tmp_path):
    path = colour_video(tmp_path / 'v.mp4', [RED, BLUE], fps=4, frames_each=4)  # 2 s: 1 s red, 1 s blue
    frames, meta = load_video(str(path))  # FPS default 2 → 4 frames
    assert len(frames) == 4 and meta['duration'] == pytest.approx(2.0)
    assert meta['timestamps'] == sorted(meta['timestamps'])
    colours = [frame.getpixel((16, 16)) for frame in frames]
    assert [c[0] > c[2] for c in colours] == [True, True, False, False]  # red first, then blue
    assert len(load_video(str(path), fps=4)[0]) == 8
    assert len(load_video(str(path), fps=4, max_frames=3)[0]) == 3  # FPS_MAX_FRAMES caps it


def test_unreadable_audio_and_video_name_the_file(tmp_path):
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'not a media file' * 8)
    with pytest.raises(MediaError, match='broken.mp4: not a readable video'):
        load_video(str(bad))
    with pytest.raises(MediaError, match='broken.mp4: not a readable audio'):
        load_audio(str(bad))
    with pytest.raises(MediaError, match='cannot read'):
        load_audio(str(tmp_path / 'none.wav'))
