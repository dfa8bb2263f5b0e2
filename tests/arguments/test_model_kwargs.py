"""--model_kwargs: ms-swift's media size controls as JSON (or a dict), the same controls as the environment variables."""
from types import SimpleNamespace

import pytest

from swift.arguments import InferArguments, SftArguments
from swift.template import get_template
from swift.utils import SwiftError
from swift.utils.args import parse_args


def test_json_string_and_dict_give_the_same_controls():
    from_cli = parse_args(InferArguments, ['--model', 'm', '--model_kwargs', '{"max_pixels": 602112, "FPS": 2}'])
    from_dict = parse_args(InferArguments, {'model': 'm', 'model_kwargs': {'max_pixels': '602112', 'fps': 2}})
    assert from_cli.model_kwargs == from_dict.model_kwargs == {'max_pixels': 602112, 'fps': 2.0}
    assert from_cli.load_kwargs()['media_kwargs'] == {'max_pixels': 602112, 'fps': 2.0}
    assert 'media_kwargs' not in parse_args(InferArguments, ['--model', 'm']).load_kwargs()


@pytest.mark.parametrize('value, message', [
    ('{"max_pixel": 100}', "unknown key 'max_pixel'; the keys are the media controls max_pixels, min_pixels"),
    ('{"max_pixel": 100}', 'Did you mean: max_pixels'),
    ('{"max_pixels": "many"}', 'max_pixels must be an integer'),
    ('{"max_pixels": 1.5}', 'max_pixels must be an integer'),
    ('[1, 2]', 'expected a JSON object'),
    ('{max_pixels: 1}', 'expected JSON'),
])
def test_bad_model_kwargs_are_refused_at_parse_time(value, message):
    with pytest.raises(SwiftError) as info:
        parse_args(SftArguments, ['--model', 'm', '--dataset', 'd.jsonl', '--model_kwargs', value])
    assert message in str(info.value)


def test_environment_variables_and_model_kwargs_agree(monkeypatch):
    tokenizer = SimpleNamespace(model_info=SimpleNamespace(media_kwargs={'max_pixels': 28 * 28 * 4}, processor=None))
    from_model_kwargs = get_template('qwen2_5_vl', tokenizer=tokenizer).media_kwargs
    monkeypatch.setenv('MAX_PIXELS', str(28 * 28 * 4))
    assert get_template('qwen2_5_vl').media_kwargs == from_model_kwargs == {'max_pixels': 3136}
    monkeypatch.setenv('MAX_PIXELS', '999999')  # an explicit --model_kwargs value wins over the variable
    assert get_template('qwen2_5_vl', tokenizer=tokenizer).media_kwargs == {'max_pixels': 3136}


def test_a_control_the_models_processor_lacks_is_a_clear_error(tiny_vlm_dir, tiny_model_dir):
    from swift.infer.main import infer_main
    with pytest.raises(SwiftError, match=r"template 'smolvlm' cannot use the media control\(s\) MAX_PIXELS"):
        infer_main(['--model', str(tiny_vlm_dir), '--model_kwargs', '{"max_pixels": 100000}'])
    from swift.model.loader import get_model_tokenizer
    with pytest.raises(SwiftError, match='is a text-only model; media size controls apply to multimodal models'):
        get_model_tokenizer(str(tiny_model_dir), load_model=False, media_kwargs={'max_pixels': 100000})
