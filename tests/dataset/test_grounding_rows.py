"""Grounding rows (`objects`) at load time: checked against the image, bad ones refused naming file:line."""
import json

import pytest
from PIL import Image

from swift.dataset import load_datasets


def _write(path, rows):
    path.write_text('\n'.join(json.dumps(r) for r in rows) + '\n')


def _row(objects, answer='<bbox>'):
    return {'messages': [{'role': 'user', 'content': '<image>Where is the <ref-object>?'},
                         {'role': 'assistant', 'content': answer}], 'images': ['a.png'], 'objects': objects}


@pytest.fixture
def folder(tmp_path):
    Image.new('RGB', (200, 100)).save(tmp_path / 'a.png')
    return tmp_path


def test_a_good_row_keeps_its_objects_in_the_standard_form(folder):
    _write(folder / 'd.jsonl', [_row({'ref': 'cat', 'bbox': [10, 20, 30, 40]})])
    row = load_datasets(str(folder / 'd.jsonl'), log=False).train.rows[0]
    assert row['objects'] == {'ref': ['cat'], 'bbox': [[10, 20, 30, 40]], 'bbox_type': 'real', 'image_id': [0]}


def test_objects_as_a_json_string_column(folder):
    (folder / 'd.csv').write_text('query,response,images,objects\n"<image>Where is the <ref-object>?",<bbox>,a.png,'
                                  '"{""ref"": [""cat""], ""bbox"": [[0.1, 0.2, 0.3, 0.4]], ""bbox_type"": ""norm1""}"\n')
    row = load_datasets(str(folder / 'd.csv'), log=False).train.rows[0]
    assert row['objects']['bbox'] == [[0.1, 0.2, 0.3, 0.4]] and row['objects']['bbox_type'] == 'norm1'


@pytest.mark.parametrize('objects, answer, message', [
    ({'ref': ['cat'], 'bbox': [[10, 20, 30]]}, '<bbox>', 'objects.bbox[0]: a box is [x1, y1, x2, y2] or a point'),
    ({'ref': ['cat'], 'bbox': [[10, 20, 300, 40]]}, '<bbox>', 'lies outside the image (200x100 pixels)'),
    ({'ref': ['cat'], 'bbox': [[30, 20, 10, 40]]}, '<bbox>', 'x2 < x1'),
    ({'ref': ['cat'], 'bbox': [[1, 2, 3, 4]]}, '<bbox><bbox>', '2 <bbox> tag(s) but objects has 1 ref(s) and 1 bbox'),
])
def test_bad_boxes_are_row_errors_with_file_and_line(folder, objects, answer, message):
    _write(folder / 'd.jsonl', [_row({'ref': ['cat'], 'bbox': [[1, 2, 3, 4]]}), _row(objects, answer)])
    result = load_datasets(str(folder / 'd.jsonl'), log=False)
    assert len(result.train) == 1
    bad = str(result.report.bad_rows[0])
    assert f'{folder / "d.jsonl"}:2' in bad and message in bad
