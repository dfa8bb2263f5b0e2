"""ModelMeta.requires: checked against the installed packages, and enforced before a model is downloaded or read."""
import json
from importlib import metadata

import pytest

from swift.model import loader
from swift.model.loader import get_model_tokenizer, load_tokenizer
from swift.model.registry import Model, ModelGroup, ModelMeta, get_model_meta, register_model
from swift.model.requirements import check_requirements, unmet_requirements
from swift.model.resolve import resolve_model
from swift.utils import SwiftError

TRANSFORMERS = metadata.version('transformers')
MET = f'transformers>={TRANSFORMERS}'
UNMET = f'transformers<{TRANSFORMERS}'
MISSING = 'swift-test-no-such-package>=1.0'
TINY_ID = 'req-org/Req-Tiny-LM'


def meta(*requires: str) -> ModelMeta:
    """A model type registered by no family file, with one checkpoint and an architecture of its own."""
    return ModelMeta(model_type='req_tiny', model_groups=[ModelGroup([Model(TINY_ID, TINY_ID)])], template='chatml',
                     architectures=['ReqTinyForCausalLM'], requires=list(requires))


def test_met_requirements_pass():
    requires = [MET, 'packaging', 'pytest>=1', 'transformers[torch]>=1']
    assert unmet_requirements(requires) == []
    check_requirements(meta(*requires))  # no error


def test_unmet_version_names_the_type_requirement_installed_version_and_fix():
    with pytest.raises(SwiftError) as error:
        check_requirements(meta(MET, UNMET))
    message = str(error.value)
    assert message == (f"model type 'req_tiny' requires {UNMET} (installed: {TRANSFORMERS}): "
                       f'run `pip install "{UNMET}"` to load it')
    assert '\n' not in message


def test_missing_package_is_reported_as_not_installed():
    with pytest.raises(SwiftError, match=r"'req_tiny' requires swift-test-no-such-package>=1\.0 \(not installed\): "
                       r'run `pip install "swift-test-no-such-package>=1\.0"`'):
        check_requirements(meta(MISSING))
    # A bare package name is a requirement too.
    assert unmet_requirements(['swift-test-no-such-package']) == [('swift-test-no-such-package', None)]


def test_every_unmet_requirement_is_named_in_one_line():
    with pytest.raises(SwiftError) as error:
        check_requirements(meta(UNMET, 'packaging', MISSING))
    assert str(error.value) == (f"model type 'req_tiny' requires {UNMET} (installed: {TRANSFORMERS}); {MISSING} "
                                f'(not installed): run `pip install "{UNMET}" "{MISSING}"` to load it')


def test_requirement_for_another_environment_is_skipped():
    assert unmet_requirements([f'{MISSING}; python_version < "3"']) == []
    assert unmet_requirements([f'{MISSING}; python_version >= "3"']) == [(f'{MISSING}; python_version >= "3"', None)]


def test_builtin_chatglm3_is_refused_with_the_transformers_this_project_needs():
    """ChatGLM3's remote code needs transformers<4.42; pyproject.toml asks for transformers>=5."""
    with pytest.raises(SwiftError, match=r"'chatglm3' requires transformers<4\.42 \(installed: 5\."):
        check_requirements(get_model_meta('chatglm3'))


# ---------------------------------------------------------------- enforced by the loader


class Reached(Exception):
    """Raised by a spy: loading got as far as the download or the tokenizer files."""


@pytest.fixture
def spies(monkeypatch):
    """Calls to the hub download and to transformers' from_pretrained; each call stops the load with Reached."""
    import transformers
    calls = []

    def spy(name):
        def record(*args, **kwargs):
            calls.append(name)
            raise Reached(name)
        return record

    monkeypatch.setattr(loader, 'hub_model_dir', spy('download'))  # the hub download, as the loader calls it
    monkeypatch.setattr(transformers.AutoTokenizer, 'from_pretrained', spy('tokenizer'))
    monkeypatch.setattr(transformers.AutoModelForCausalLM, 'from_pretrained', spy('weights'))
    return calls


@pytest.fixture
def local_dir(tmp_path):
    """A directory that resolves to req_tiny by its config.json architecture (it holds no weights)."""
    path = tmp_path / 'my-finetune'
    path.mkdir()
    (path / 'config.json').write_text(json.dumps({'architectures': ['ReqTinyForCausalLM']}))
    return path


@pytest.mark.parametrize('load', [get_model_tokenizer, load_tokenizer])
def test_a_registered_id_with_unmet_requirements_is_refused_before_the_download(load, isolated_registry, spies):
    register_model(meta(UNMET))
    with pytest.raises(SwiftError, match=rf"'req_tiny' requires {UNMET} \(installed: "):
        load(TINY_ID)
    assert spies == []


def test_a_registered_id_with_met_requirements_is_downloaded(isolated_registry, spies):
    register_model(meta(MET))
    with pytest.raises(Reached):
        get_model_tokenizer(TINY_ID)
    assert spies == ['download']


def test_a_local_directory_is_checked_for_the_type_its_config_resolves_to(isolated_registry, spies, local_dir):
    register_model(meta(UNMET))
    assert resolve_model(str(local_dir)).model_type == 'req_tiny'
    with pytest.raises(SwiftError, match=rf"'req_tiny' requires {UNMET} "):
        get_model_tokenizer(str(local_dir))
    assert spies == []  # neither the tokenizer nor the weights were read

    isolated_registry.MODEL_REGISTRY['req_tiny'].requires = [MET]
    with pytest.raises(Reached):
        get_model_tokenizer(str(local_dir))
    assert spies == ['tokenizer']


def test_an_explicit_model_type_is_checked(isolated_registry, spies, tmp_path):
    register_model(meta(UNMET))
    llama = tmp_path / 'my-llama'
    llama.mkdir()
    (llama / 'config.json').write_text(json.dumps({'architectures': ['LlamaForCausalLM']}))
    with pytest.raises(SwiftError, match=r"'req_tiny' requires "):
        get_model_tokenizer(str(llama), model_type='req_tiny')
    assert spies == []
    with pytest.raises(Reached):  # without model_type the directory is a Llama, whose requirements are met
        get_model_tokenizer(str(llama))
    assert spies == ['tokenizer']
