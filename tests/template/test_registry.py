"""get_template by name, model ID, alias or directory; errors; plugins registering their own templates."""
import json
import shutil
import subprocess
import sys

import pytest

from swift.template import (TEMPLATE_REGISTRY, JinjaChatTemplate, Template, TemplateMeta, get_template,
                            list_templates, register_template)
from swift.utils import SwiftError
from swift.utils.plugins import load_plugins

from tests.conftest import REPO

REQUIRED_NAMES = (
    'chatml smollm2 qwen qwen2_5 qwen3 qwen3_thinking qwq llama llama3 llama3_2 mistral mistral_v3 mistral_nemo gemma '
    'gemma3 phi3 phi3_small phi4 phi4_mini phi4_reasoning deepseek deepseek_v3 deepseek_r1 deepseek_r1_distill '
    'deepseek_v3_1 chatglm3 glm4 internlm2 internlm3 yi baichuan2 falcon3 granite granite3_2 olmo olmo2 minicpm '
    'minicpm3 command_r command_r7b llama3_1').split()
HI = [{'role': 'user', 'content': 'Hi'}]


def test_all_required_template_names_exist():
    assert set(REQUIRED_NAMES) <= set(list_templates())
    assert list_templates() == sorted(TEMPLATE_REGISTRY)


def test_get_by_name():
    template = get_template('qwen2_5')
    assert isinstance(template, Template) and template.name == 'qwen2_5'
    assert template.stop_words == ['<|im_end|>', '<|endoftext|>']


def test_get_by_model_id_and_alias():
    assert get_template('HuggingFaceTB/SmolLM2-135M-Instruct').name == 'smollm2'
    assert get_template('huggingfacetb/smollm2-135m-instruct').name == 'smollm2'
    assert get_template('smollm2-135m-instruct').name == 'smollm2'


def test_every_registered_model_resolves_to_its_template():
    from swift.model.registry import MODEL_REGISTRY, all_model_ids
    for model_id in all_model_ids():
        assert get_template(model_id).name in TEMPLATE_REGISTRY, model_id
    qwen = [m for m in MODEL_REGISTRY.values() if 'Qwen/Qwen2.5-7B-Instruct' in [i for x in m.models for i in x.ids]]
    if qwen:  # the registry of this checkout has it
        assert get_template('Qwen/Qwen2.5-7B-Instruct').name == 'qwen2_5'


def test_unknown_name_suggests():
    with pytest.raises(SwiftError) as error:
        get_template('qwen2.5')
    assert 'qwen2_5' in str(error.value) and 'Did you mean' in str(error.value)
    with pytest.raises(SwiftError, match='needs a template name'):
        get_template(None)


def test_registered_model_with_missing_template_is_a_clear_error(monkeypatch):
    from swift.model import registry
    meta = registry.ModelMeta('test_missing_template', [registry.ModelGroup([registry.Model('org/Test-1B')])],
                              template='qwen9')
    monkeypatch.setattr('swift.template.registry.lookup_model',
                        lambda model_id: (meta, None) if model_id == 'org/Test-1B' else None)
    with pytest.raises(SwiftError, match="template 'qwen9', which does not exist"):
        get_template('org/Test-1B')


@pytest.mark.slow
def test_get_by_model_directory(smollm_dir, tmp_path, caplog):
    assert get_template(str(smollm_dir)).name == 'smollm2'  # swift's embedded-model marker names the model
    # Hub cache layouts name the model in the path.
    for path in (tmp_path / 'SmolLM2-135M-Instruct',
                 tmp_path / 'models--HuggingFaceTB--SmolLM2-135M-Instruct' / 'snapshots' / 'abc123'):
        path.mkdir(parents=True)
        assert get_template(str(path)).name == 'smollm2'


@pytest.mark.slow
def test_unknown_model_directory_falls_back_to_its_jinja(smollm_dir, tmp_path):
    mystery = tmp_path / 'mystery-model'
    mystery.mkdir()
    for name in ('tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'):
        shutil.copy(smollm_dir / name, mystery / name)
    template = get_template(str(mystery))
    assert isinstance(template, JinjaChatTemplate)
    assert template.render(HI, add_generation_prompt=True) == get_template('smollm2').render(HI, True)
    (mystery / 'chat_template.jinja').unlink()
    with pytest.raises(SwiftError, match='no chat template'):
        get_template(str(mystery))


@pytest.fixture
def forget_plugin_template():
    yield
    TEMPLATE_REGISTRY.pop('my_plugin_tpl', None)  # keep the registry to the built-ins for other tests


def test_register_template_from_a_plugin(tmp_path, forget_plugin_template):
    plugin = tmp_path / 'my_plugin.py'
    plugin.write_text(
        'from swift.template import TemplateMeta, register_template\n'
        "register_template(TemplateMeta(name='my_plugin_tpl', prefix='<bos>', prompt='Q: {{QUERY}}\\n',\n"
        "                               response='A: {{RESPONSE}}<end>', chat_sep='\\n', stop_words=['<end>']))\n")
    load_plugins([str(plugin)])
    template = get_template('my_plugin_tpl')
    messages = HI + [{'role': 'assistant', 'content': 'Hello'}]
    assert template.render(messages) == '<bos>Q: Hi\nA: Hello<end>\n'
    assert template.render(HI, add_generation_prompt=True) == '<bos>Q: Hi\nA: '
    with pytest.raises(SwiftError, match='already registered'):
        register_template(TemplateMeta(name='my_plugin_tpl'))
    register_template(TemplateMeta(name='my_plugin_tpl', response='{{RESPONSE}}'), exist_ok=True)
    assert get_template('my_plugin_tpl').render(HI) == 'Hi'


def test_template_meta_needs_one_response_slot():
    with pytest.raises(SwiftError, match='RESPONSE'):
        TemplateMeta(name='broken', response='no slot')


def test_bad_messages_are_clear_errors():
    template = get_template('qwen2_5')
    with pytest.raises(SwiftError, match="unknown role 'usr'.*Did you mean: user"):
        template.render([{'role': 'usr', 'content': 'Hi'}])
    with pytest.raises(SwiftError, match='message 0 .*must be a string'):
        template.render([{'role': 'user', 'content': ['not', 'text']}])
    with pytest.raises(SwiftError, match='non-empty list'):
        template.render([])
    with pytest.raises(SwiftError, match='has no tool format'):
        get_template('llama3').render(HI, tools=[{'type': 'function', 'function': {'name': 'f'}}])
    with pytest.raises(SwiftError, match='not valid JSON'):
        template.render(HI, tools='[{')


def test_importing_templates_does_not_import_torch_or_transformers():
    code = ('import sys; import swift.template as t; t.get_template("qwen3").render([{"role": "user", "content": "x"}]);'
            'bad = [m for m in ("torch", "transformers") if m in sys.modules]; assert not bad, bad')
    done = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_reference_status_is_json_friendly():
    from swift.template import official_reference_status
    status = official_reference_status()
    assert json.loads(json.dumps(status)) == status
    assert status['qwen2_5'].startswith('verified against Qwen__Qwen2.5-7B-Instruct.jinja')
    assert status['baichuan2'].startswith('unverified')
