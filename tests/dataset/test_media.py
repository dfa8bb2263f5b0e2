"""Rows with images: tags, OpenAI content parts, paths, and the row errors that name file:line."""
import base64
import io
import json

import pytest
from PIL import Image

from swift.dataset import load_datasets
from swift.dataset.formats import RowError
from swift.dataset.media import normalize_media
from swift.utils.media import MediaError, load_image


def _wav_base64() -> str:
    import numpy as np
    import soundfile as sf
    buf = io.BytesIO()
    sf.write(buf, np.zeros(800, np.float32), 16000, format='WAV')
    return base64.b64encode(buf.getvalue()).decode()


_WAV = _wav_base64()


def _png(colour, size=(16, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new('RGB', size, colour).save(buf, 'PNG')
    return buf.getvalue()


def _data_uri(colour) -> str:
    return 'data:image/png;base64,' + base64.b64encode(_png(colour)).decode()


def _write(path, rows):
    path.write_text('\n'.join(json.dumps(r) for r in rows) + '\n')


def _qa(content, answer='red'):
    return [{'role': 'user', 'content': content}, {'role': 'assistant', 'content': answer}]


def test_paths_relative_to_the_dataset_file_and_missing_tags(tmp_path):
    (tmp_path / 'img').mkdir()
    (tmp_path / 'img' / 'a.png').write_bytes(_png('red'))
    _write(tmp_path / 'd.jsonl', [{'messages': _qa('What colour?'), 'images': ['img/a.png']},
                                  {'query': 'Colour?', 'response': 'red', 'images': 'img/a.png'}])
    result = load_datasets(str(tmp_path / 'd.jsonl'), log=False)
    assert len(result.train) == 2
    for row in result.train.rows:
        assert row['messages'][0]['content'].startswith('<image>')  # added in front of the first user turn
        assert row['images'] == [str((tmp_path / 'img' / 'a.png').resolve())]
    assert result.report.sources[0].media == {'images': 2}


def test_image_folder_is_looked_at_first(tmp_path):
    folder = tmp_path / 'pictures'
    folder.mkdir()
    (folder / 'a.png').write_bytes(_png('blue'))
    _write(tmp_path / 'd.jsonl', [{'messages': _qa('<image>Colour?', 'blue'), 'images': ['a.png']}])
    result = load_datasets(str(tmp_path / 'd.jsonl'), image_folder=str(folder), log=False)
    assert result.train.rows[0]['images'] == [str((folder / 'a.png').resolve())]


def test_openai_parts_become_tags_in_order():
    row = {'messages': [{'role': 'user', 'content': [
        {'type': 'text', 'text': 'Left: '}, {'type': 'image_url', 'image_url': {'url': _data_uri('red')}},
        {'type': 'text', 'text': ' right: '}, {'type': 'image_url', 'image_url': 'http://example.com/b.png'},
        {'type': 'input_audio', 'input_audio': {'data': _WAV, 'format': 'wav'}}]},
        {'role': 'assistant', 'content': 'ok'}]}
    out = normalize_media(row)
    assert out['messages'][0]['content'] == 'Left: <image> right: <image><audio>'
    assert out['images'][0].startswith('data:image/png') and out['images'][1] == 'http://example.com/b.png'
    assert out['audios'] == [f'data:audio/wav;base64,{_WAV}']  # decoded once to check it


def test_bytes_and_pil_items_from_python():
    row = {'messages': _qa('<image><image>Same?', 'yes'), 'images': [_png('red'), Image.new('RGB', (4, 4))]}
    out = normalize_media(row)
    assert len(out['images']) == 2 and load_image(out['images'][0]).size == (16, 16)


@pytest.mark.parametrize('row, message', [
    ({'messages': _qa('<image><image>x'), 'images': ['a.png']}, "2 <image> tag(s) but the row has 1 images"),
    ({'messages': _qa('x'), 'images': ['nowhere.png']}, 'images[0]: file not found: nowhere.png'),
    ({'messages': _qa('x'), 'images': ['broken.png']}, 'not a readable image'),
    ({'messages': _qa('x'), 'images': ['data:image/png;base64,@@@']}, 'base64 payload does not decode'),
    ({'messages': [{'role': 'user', 'content': [{'type': 'pdf'}]}, {'role': 'assistant', 'content': 'x'}]},
     "unknown content part type 'pdf'"),
])
def test_bad_rows_name_the_file_line_and_the_reason(tmp_path, row, message):
    (tmp_path / 'a.png').write_bytes(_png('red'))
    (tmp_path / 'broken.png').write_bytes(_png('red')[:40])  # a truncated PNG
    _write(tmp_path / 'd.jsonl', [{'messages': _qa('fine')}, row])
    result = load_datasets(str(tmp_path / 'd.jsonl'), log=False)
    assert len(result.train) == 1
    bad = str(result.report.bad_rows[0])
    assert f'{tmp_path / "d.jsonl"}:2' in bad and message in bad


def test_load_image_errors_name_the_item(tmp_path):
    with pytest.raises(MediaError, match='cannot read'):
        load_image(str(tmp_path / 'none.png'))
    with pytest.raises(MediaError, match='only base64'):
        load_image('data:image/png,abc')
    with pytest.raises(RowError):
        normalize_media({'messages': _qa('x'), 'images': [12]})
