import json

import pytest

from swift.utils import atomic_dir, atomic_write_json, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / 'a' / 'f.json'
    atomic_write_json(path, {'x': 1})
    atomic_write_json(path, {'x': 2})
    assert json.loads(path.read_text()) == {'x': 2}
    assert [p.name for p in path.parent.iterdir()] == ['f.json']  # no temporary files left


def test_failed_atomic_dir_leaves_previous_content(tmp_path):
    target = tmp_path / 'checkpoint-1'
    with atomic_dir(target) as tmp:
        (tmp / 'weights').write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / 'weights').write_text('half')
            raise RuntimeError('killed while saving')
    assert (target / 'weights').read_text() == 'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['checkpoint-1']


def test_atomic_write_text_keeps_old_file_on_error(tmp_path):
    path = tmp_path / 'f.txt'
    atomic_write_text(path, 'old')

    with pytest.raises(TypeError):
        atomic_write_text(path, 123)  # not text: fails before replacing
    assert path.read_text() == 'old'
