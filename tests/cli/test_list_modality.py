"""`swift list models --modality image|video|audio`: the multimodal families, by the media they take."""
import json

import pytest

from swift.cli import list_cmd
from swift.model.registry import builtin_metas
from swift.utils import SwiftError


def rows(capsys, *argv):
    assert list_cmd.main(['models', '--json', *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_registry_holds_the_multimodal_families_the_issue_names():
    metas = [m for m in builtin_metas() if m.is_multimodal]
    assert len(metas) >= 15
    assert sum(len(m.models) for m in metas) >= 100
    assert {'qwen2_vl', 'qwen2_5_vl', 'qwen3_vl', 'qwen2_audio', 'qwen2_5_omni', 'llava1_5_hf', 'llava_next_hf',
            'llava_onevision_hf', 'internvl_hf', 'idefics3', 'smolvlm2', 'minicpmv2_6', 'minicpmv4_6', 'minicpmv4_7',
            'gemma3_vl', 'llama3_2_vision', 'phi3_vision', 'glm4v', 'pixtral', 'mistral3'} <= {m.model_type for m in metas}


def test_modality_filters_by_the_media_a_family_takes(capsys):
    image = rows(capsys, '--modality', 'image')
    video = rows(capsys, '--modality=video')
    audio = rows(capsys, '--modality', 'audio', '--filter', 'qwen')
    assert len(image) >= 90 and all('vision' in r['tags'] for r in image)
    assert {r['model_type'] for r in video} >= {'qwen2_vl', 'llava_onevision_hf', 'internvl_hf'}
    assert 'llava1_5_hf' not in {r['model_type'] for r in video}
    assert {r['model_type'] for r in audio} == {'qwen2_audio', 'qwen2_5_omni'}
    assert not any(r['model_type'] == 'qwen3' for r in image)  # text models are never listed


def test_unknown_modality_is_an_error():
    with pytest.raises(SwiftError, match='--modality takes one of image, video, audio'):
        list_cmd.main(['models', '--modality', 'smell'])
    with pytest.raises(SwiftError, match='applies to `swift list models`'):
        list_cmd.main(['templates', '--modality', 'image'])
