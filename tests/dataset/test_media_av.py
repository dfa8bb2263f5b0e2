"""Rows with videos and audios: decoded at load time, so a broken file is a bad row naming file:line."""
import json

from swift.dataset import load_datasets

from tests.helpers.av_media import colour_video, tone


def _qa(content, answer='ok'):
    return [{'role': 'user', 'content': content}, {'role': 'assistant', 'content': answer}]


def test_videos_and_audios_load_and_broken_ones_are_bad_rows(tmp_path):
    import soundfile as sf
    colour_video(tmp_path / 'v.mp4', [(255, 0, 0), (0, 0, 255)])
    sf.write(str(tmp_path / 'a.wav'), tone(440, 0.5), 16000)
    (tmp_path / 'broken.mp4').write_bytes(b'\x00' * 64)
    (tmp_path / 'broken.wav').write_bytes(b'RIFF' + b'\x00' * 40)
    rows = [{'messages': _qa('<video>What happens?'), 'videos': ['v.mp4']},
            {'messages': _qa('What is it?'), 'audios': ['a.wav']},
            {'messages': _qa('x'), 'videos': ['broken.mp4']},
            {'messages': _qa('x'), 'audios': ['broken.wav']}]
    (tmp_path / 'd.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    result = load_datasets(str(tmp_path / 'd.jsonl'), log=False)
    assert len(result.train) == 2
    assert result.train.rows[1]['messages'][0]['content'] == '<audio>What is it?'  # tag added
    assert result.report.sources[0].media == {'videos': 1, 'audios': 1}
    bad = [str(b) for b in result.report.bad_rows]
    assert len(bad) == 2
    assert f'{tmp_path / "d.jsonl"}:3' in bad[0] and 'videos[0]' in bad[0] and 'not a readable video' in bad[0]
    assert f'{tmp_path / "d.jsonl"}:4' in bad[1] and 'audios[0]' in bad[1] and 'not a readable audio' in bad[1]
