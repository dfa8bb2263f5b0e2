"""--eval_backend VLMEvalKit: the EvalScope task config swift hands over, checked up to the call (VLMEvalKit's data
lives on its hub, out of reach here), and the one-line errors."""
import importlib.util
import json

import pytest

from swift.arguments import EvalArguments
from swift.eval import vlmevalkit
from swift.eval.checks import check_eval_args
from swift.utils import SwiftError
from swift.utils.args import parse_args

URL = 'http://127.0.0.1:9/v1'


def _args(tmp_path, *extra):
    argv = ['--eval_backend', 'vlmevalkit', '--eval_url', URL, '--model', 'my-vlm', '--eval_dataset',
            'SEEDBench_IMG', 'ChartQA_TEST', '--eval_output_dir', str(tmp_path), *extra]
    return check_eval_args(parse_args(EvalArguments, argv))


def test_task_config_is_evalscopes_vlmevalkit_schema(tmp_path):
    args = _args(tmp_path, '--eval_limit', '20', '--eval_num_proc', '4')
    assert args.eval_backend == 'VLMEvalKit'  # any case, as ms-swift spells it
    config = vlmevalkit.task_config(args, 'my-vlm')
    assert config == {
        'eval_backend': 'VLMEvalKit', 'work_dir': str(tmp_path / 'my-vlm@127.0.0.1_9--v1' / 'vlmevalkit'),
        'eval_config': {'data': ['SEEDBench_IMG', 'ChartQA_TEST'], 'mode': 'all', 'nproc': 4, 'reuse': True,
                        'limit': 20,
                        'model': [{'type': 'my-vlm', 'name': 'CustomAPIModel', 'api_base': URL + '/chat/completions',
                                   'key': 'EMPTY', 'temperature': 0.0}]}}


def test_eval_main_hands_off_up_to_the_call(tmp_path, monkeypatch):
    from swift.eval.main import eval_main
    calls = []
    monkeypatch.setattr(vlmevalkit, 'require_installed', lambda: None)
    monkeypatch.setattr(vlmevalkit, '_supported_datasets', lambda: ['SEEDBench_IMG', 'ChartQA_TEST', 'MMMU_DEV_VAL'])
    monkeypatch.setattr(vlmevalkit, '_run', lambda config: calls.append(config) or {'SEEDBench_IMG': 'report'})
    result = eval_main(['--eval_backend', 'VLMEvalKit', '--eval_url', URL, '--model', 'my-vlm', '--eval_dataset',
                        'SEEDBench_IMG', '--eval_output_dir', str(tmp_path)])
    assert calls[0]['eval_config']['data'] == ['SEEDBench_IMG'] and 'limit' not in calls[0]['eval_config']
    written = json.loads((tmp_path / 'my-vlm@127.0.0.1_9--v1' / 'eval_result.json').read_text())
    assert written['backend'] == 'VLMEvalKit' and written['results'] == {'SEEDBench_IMG': 'report'}
    assert result.report['task_config'] == calls[0]
    with pytest.raises(SwiftError, match="'SEEDBench' is not a VLMEvalKit dataset. Did you mean: SEEDBench_IMG"):
        eval_main(['--eval_backend', 'VLMEvalKit', '--eval_url', URL, '--model', 'm', '--eval_dataset', 'SEEDBench',
                   '--eval_output_dir', str(tmp_path)])


def test_clear_errors(tmp_path, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'vlmeval' else real_find_spec(name, *a))
    with pytest.raises(SwiftError, match=r'needs .*vlmeval: pip install "evalscope\[vlmeval\]"'):
        vlmevalkit.run_vlmevalkit(_args(tmp_path))
    args = check_eval_args(parse_args(EvalArguments, ['--eval_backend', 'VLMEvalKit', '--model', 'm',
                                                      '--eval_dataset', 'MMBench_DEV_EN']))
    with pytest.raises(SwiftError, match='evaluates a running server: start one with `swift deploy`'):
        vlmevalkit.task_config(args, 'm')
    with pytest.raises(SwiftError, match='its own hub'):
        vlmevalkit.task_config(_args(tmp_path, '--eval_dataset_dir', str(tmp_path)), 'm')
