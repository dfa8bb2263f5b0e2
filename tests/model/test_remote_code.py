"""A model repository's own Python code runs only with --trust_remote_code (off by default, as in transformers and
ms-swift); without it such a model stops with one line that names the flag. No test here runs repository code: the
stand-in repository's module raises if anything ever imports it."""
import json
import shutil
import sys
import types

import pytest

from swift.utils import SwiftError

REMOTE_MODULE = 'raise RuntimeError("a test ran the repository\'s code")\n'


@pytest.fixture(scope='module')
def remote_code_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model's tokenizer with a config that needs the repository's code (auto_map, unknown model_type)."""
    path = tmp_path_factory.mktemp('needs-remote-code')
    for item in tiny_model_dir.iterdir():
        if item.name.startswith(('tokenizer', 'special_tokens')):
            shutil.copy(item, path / item.name)
    config = json.loads((tiny_model_dir / 'config.json').read_text())
    config.update(model_type='swift_test_remote', architectures=['RemoteForCausalLM'],
                  auto_map={'AutoConfig': 'configuration_remote.RemoteConfig',
                            'AutoModelForCausalLM': 'modeling_remote.RemoteForCausalLM'})
    (path / 'config.json').write_text(json.dumps(config))
    (path / 'configuration_remote.py').write_text(REMOTE_MODULE)
    (path / 'modeling_remote.py').write_text(REMOTE_MODULE)
    return path


def test_the_flag_is_off_by_default_and_reaches_the_loader_keywords():
    from swift.arguments import DeployArguments, SftArguments
    from swift.utils.args import parse_args
    assert parse_args(DeployArguments, ['--model', 'm']).load_kwargs()['trust_remote_code'] is False
    args = parse_args(SftArguments, ['--model', 'm', '--dataset', 'd.jsonl', '--trust_remote_code'])
    assert args.load_kwargs()['trust_remote_code'] is True


def test_a_model_that_needs_its_own_code_is_refused_naming_the_flag(remote_code_dir):
    from swift.model.loader import get_model_tokenizer
    with pytest.raises(SwiftError, match='--trust_remote_code true') as caught:
        get_model_tokenizer(str(remote_code_dir))
    assert str(remote_code_dir) in str(caught.value) and '\n' not in str(caught.value)


def test_the_loader_hands_the_flag_to_transformers(tiny_model_dir, monkeypatch):
    import transformers
    from swift.model.loader import get_model_tokenizer
    seen = []
    real = transformers.AutoTokenizer.from_pretrained

    def recording(path, **kwargs):
        seen.append(kwargs.get('trust_remote_code'))
        return real(path, **{**kwargs, 'trust_remote_code': False})  # never run anything here

    monkeypatch.setattr(transformers.AutoTokenizer, 'from_pretrained', recording)
    get_model_tokenizer(str(tiny_model_dir), load_model=False)
    get_model_tokenizer(str(tiny_model_dir), load_model=False, trust_remote_code=True)
    assert seen == [False, True]


@pytest.mark.parametrize('backend', ['vllm', 'sglang', 'lmdeploy'])
def test_external_engines_refuse_it_before_the_library_runs(backend, remote_code_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, backend, types.ModuleType(backend))  # a stand-in: nothing of it is called
    from swift.infer.backends import get_infer_engine
    with pytest.raises(SwiftError, match='--trust_remote_code true'):
        get_infer_engine(backend, str(remote_code_dir), template='smollm2')


def test_swift_infer_says_so_in_one_line(remote_code_dir, capsys):
    """`swift infer` as the command line calls it: main(argv) in this process (a subprocess would add ~4 s of
    imports); an exception other than the one-line error would reach pytest here and fail the test."""
    from swift.cli.main import main
    code = main(['infer', '--model', str(remote_code_dir), '--template', 'smollm2'])
    err = capsys.readouterr().err
    assert code == 1 and 'Traceback' not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith('swift infer: error: ') and '--trust_remote_code true' in last

