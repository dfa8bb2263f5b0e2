"""The built-in model registry: size, consistency, lookups, plugins and the generated docs page."""
import json
import re

import pytest

from swift.model.registry import builtin_metas, find_model, get_model_meta, lookup_model
from swift.model.resolve import resolve_model
from swift.utils import SwiftError
from swift.utils.plugins import load_plugins


# The template names the template package implements (agreed with the template engineer).
ALLOWED_TEMPLATES = {
    'chatml', 'smollm2', 'qwen', 'qwen2_5', 'qwen3', 'qwen3_thinking', 'qwq', 'llama', 'llama3', 'llama3_2', 'mistral',
    'mistral_v3', 'mistral_nemo', 'gemma', 'gemma3', 'phi3', 'phi3_small', 'phi4', 'phi4_mini', 'phi4_reasoning',
    'deepseek', 'deepseek_v3', 'deepseek_r1', 'deepseek_r1_distill', 'deepseek_v3_1', 'chatglm3', 'glm4', 'internlm2',
    'internlm3', 'yi', 'baichuan2', 'falcon3', 'granite', 'granite3_2', 'olmo', 'olmo2', 'minicpm', 'minicpm3',
    'command_r', 'command_r7b',
    # added by the template package where a release's format differs from its family's
    'granite3_1', 'granite3_3', 'phi3_medium', 'llama3_1',
    # multimodal (swift/template/media.py)
    'smolvlm',
}
# multimodal families (tests/template/test_multimodal_families.py)
ALLOWED_TEMPLATES |= {'smolvlm', 'qwen2_vl', 'qwen2_5_vl', 'qwen3_vl', 'qwen2_audio', 'qwen2_5_omni', 'llava1_5', 'llava_next_mistral',
                      'llava_onevision', 'pixtral', 'internvl_hf', 'gemma3_vl', 'llama3_2_vision', 'idefics2', 'idefics3',
                      'minicpmv2_6', 'minicpmv4_6', 'minicpmv4_7', 'phi3_vision',
                      'glm4v'}
ALLOWED_TEMPLATES |= {'phi4_multimodal'}  # tests/template/test_phi_vision_templates.py
DTYPES = {'bfloat16', 'float16', 'float32'}


def all_templates(meta):
    return {meta.template} | {g.template for g in meta.model_groups if g.template}


def test_registry_is_large_enough():
    metas = builtin_metas()
    assert len(metas) >= 25
    assert sum(len(meta.models) for meta in metas) >= 150


def test_every_template_is_one_the_template_package_implements():
    for meta in builtin_metas():
        assert all_templates(meta) <= ALLOWED_TEMPLATES, meta.model_type


def test_every_template_is_registered_in_swift_template():
    from swift.template import list_templates
    registered = set(list_templates())
    for meta in builtin_metas():
        assert all_templates(meta) <= registered, meta.model_type


def test_no_model_id_is_registered_twice():
    owner = {}
    for meta in builtin_metas():
        for model in meta.models:
            assert model.ids, f'{meta.model_type}: a model without any hub ID'
            for model_id in model.ids + model.aliases:
                key = model_id.lower()
                assert owner.get(key, model) is model, f'{model_id} is registered twice'
                owner[key] = model


def test_names_without_organisation_are_unambiguous():
    """'qwen2.5-7b-instruct' must find one checkpoint: no two models share a name across organisations."""
    owner = {}
    for meta in builtin_metas():
        for model in meta.models:
            for model_id in model.ids + model.aliases:
                name = model_id.split('/', 1)[-1].lower()
                assert owner.setdefault(name, model) is model, f'{name} names two different models'


def test_metadata_is_well_formed():
    from packaging.requirements import Requirement
    for meta in builtin_metas():
        assert re.fullmatch(r'[a-z][a-z0-9_]*', meta.model_type)
        assert meta.architectures and all(re.fullmatch(r'[A-Z]\w+', a) for a in meta.architectures), meta.model_type
        assert meta.lora_target_modules, meta.model_type
        assert meta.torch_dtype in DTYPES, meta.model_type
        if meta.is_multimodal:  # a multimodal family names its parts (--freeze_vit / --freeze_aligner)
            assert meta.model_arch.vision_tower and meta.model_arch.language_model, meta.model_type
        assert meta.description, meta.model_type
        for requirement in meta.requires:
            Requirement(requirement)  # raises on a malformed requirement
        for model in meta.models:
            for model_id in model.ids:
                assert re.fullmatch(r'[\w.-]+/[\w.-]+', model_id), model_id


def test_base_models_are_tagged():
    bases = [m for meta in builtin_metas() for g in meta.model_groups if 'base' in g.tags for m in g.models]
    assert len(bases) >= 30
    assert lookup_model('Qwen/Qwen3-8B-Base')[1] in bases
    assert lookup_model('Qwen/Qwen3-8B')[1] not in bases


def test_lookup_is_case_insensitive_and_accepts_either_hub():
    meta, model = lookup_model('qwen/QWEN2.5-7b-instruct')
    assert (meta.model_type, model.hf_model_id) == ('qwen2_5', 'Qwen/Qwen2.5-7B-Instruct')
    ms = lookup_model('LLM-Research/Meta-Llama-3-8B-Instruct')
    hf = lookup_model('meta-llama/meta-llama-3-8b-instruct')
    assert ms == hf and ms[0].model_type == 'llama3'
    assert ms[1].hub_id(use_hf=False) == 'LLM-Research/Meta-Llama-3-8B-Instruct'
    assert ms[1].hub_id(use_hf=True) == 'meta-llama/Meta-Llama-3-8B-Instruct'


def test_lookup_by_name_alias_and_model_type():
    assert lookup_model('qwen2.5-7b-instruct')[1].hf_model_id == 'Qwen/Qwen2.5-7B-Instruct'
    assert lookup_model('smollm2-135m-instruct')[1].hf_model_id == 'HuggingFaceTB/SmolLM2-135M-Instruct'
    # Renamed repositories keep their old names as aliases.
    assert lookup_model('meta-llama/Meta-Llama-3.1-8B-Instruct')[1].hf_model_id == 'meta-llama/Llama-3.1-8B-Instruct'
    assert lookup_model('CohereForAI/c4ai-command-r-v01')[1].hf_model_id == 'CohereLabs/c4ai-command-r-v01'
    assert lookup_model('GLM4')[0].model_type == 'glm4' and lookup_model('glm4')[1] is None
    assert lookup_model('llama2')[0].model_type == 'llama'  # a model-type alias
    assert lookup_model('no-such-model') is None


def test_group_template_overrides_the_type_template():
    meta = get_model_meta('qwen3')
    templates = {m: meta.template_for(lookup_model(m)[1]) for m in ['Qwen/Qwen3-4B', 'Qwen/Qwen3-4B-Thinking-2507',
                                                                      'Qwen/Qwen3-4B-Instruct-2507']}
    assert templates == {
        'Qwen/Qwen3-4B': 'qwen3',
        'Qwen/Qwen3-4B-Thinking-2507': 'qwen3_thinking',
        'Qwen/Qwen3-4B-Instruct-2507': 'chatml'
    }
    assert get_model_meta('qwen3_moe').template_for(lookup_model('Qwen/Qwen3-235B-A22B-Thinking-2507')[1]) == \
        'qwen3_thinking'


def test_typo_is_an_error_that_suggests_the_id():
    with pytest.raises(SwiftError, match=r'Did you mean: Qwen/Qwen2\.5-7B-Instruct'):
        find_model('Qwen/Qwen2.5-7B-Instruc')


# Every text model with an official reference template in ../shared must be registered with the
# template family it belongs to. A new reference file makes this test ask for its entry.
VISION_FAMILIES = {'cogvlm2', 'llama3.2-vision', 'qwen2-vl', 'phi3-vision'}
REFERENCE_TEMPLATES = {
    'Qwen/Qwen2-7B-Instruct': 'qwen',
    'Qwen/Qwen2.5-7B-Instruct': 'qwen2_5',
    'Qwen/QwQ-32B': 'qwq',
    'Qwen/Qwen3-0.6B': 'qwen3',
    'Qwen/Qwen3-1.7B': 'qwen3',
    'meta-llama/Llama-2-7b-chat-hf': 'llama',
    'meta-llama/Meta-Llama-3-8B-Instruct': 'llama3',
    'meta-llama/Llama-3.1-8B-Instruct': 'llama3_1',
    'meta-llama/Llama-3.2-3B-Instruct': 'llama3_2',
    'meta-llama/Llama-3.3-70B-Instruct': 'llama3_1',
    'mistralai/Mistral-7B-Instruct-v0.1': 'mistral',
    'mistralai/Mistral-7B-Instruct-v0.3': 'mistral_v3',
    'mistralai/Mixtral-8x7B-Instruct-v0.1': 'mistral',
    'mistralai/Mistral-Nemo-Instruct-2407': 'mistral_nemo',
    'google/gemma-7b-it': 'gemma',
    'google/gemma-2-2b-it': 'gemma',
    'google/gemma-3-1b-it': 'gemma3',
    'microsoft/Phi-3-mini-4k-instruct': 'phi3',
    'microsoft/Phi-3-medium-128k-instruct': 'phi3_medium',
    'microsoft/Phi-3.5-mini-instruct': 'phi3',
    'microsoft/Phi-3-small-8k-instruct': 'phi3_small',
    'microsoft/phi-4': 'phi4',
    'microsoft/Phi-4-mini-instruct': 'phi4_mini',
    'microsoft/Phi-4-reasoning': 'phi4_reasoning',
    'deepseek-ai/DeepSeek-V2-Lite-Chat': 'deepseek',
    'deepseek-ai/DeepSeek-V3-Base': 'deepseek_v3',
    'deepseek-ai/DeepSeek-V3.1': 'deepseek_v3_1',
    'deepseek-ai/DeepSeek-R1': 'deepseek_r1',
    'deepseek-ai/DeepSeek-R1-Distill-Llama-8B': 'deepseek_r1_distill',
    'deepseek-ai/DeepSeek-R1-Distill-Qwen-32B': 'deepseek_r1_distill',
    'THUDM/chatglm3-6b': 'chatglm3',
    'THUDM/glm-4-9b-chat': 'glm4',
    'internlm/internlm2-chat-7b': 'internlm2',
    '01-ai/Yi-1.5-34B-Chat': 'yi',
    'openbmb/MiniCPM-2B-sft-fp32': 'minicpm',
    'openbmb/MiniCPM3-4B': 'minicpm3',
    'tiiuae/Falcon3-3B-Instruct': 'falcon3',
    'ibm-granite/granite-3.0-1b-a400m-instruct': 'granite',
    'ibm-granite/granite-3.1-3b-a800m-instruct': 'granite3_1',
    'ibm-granite/granite-3.2-2b-instruct': 'granite3_2',
    'ibm-granite/granite-3.3-2b-instruct': 'granite3_3',
    'allenai/OLMo-7B-0724-Instruct-hf': 'olmo',
    'CohereLabs/c4ai-command-r-v01': 'command_r',
    'CohereLabs/c4ai-command-r7b-12-2024': 'command_r7b',
}


def test_models_with_official_reference_templates_are_registered(shared_data):
    index_path = shared_data / 'chat_templates' / 'index.json'
    records = [r for r in json.loads(index_path.read_text()) if r['family'] not in VISION_FAMILIES]
    assert len({r['model_id'] for r in records}) == len(REFERENCE_TEMPLATES)
    for record in records:
        found = lookup_model(record['model_id'])
        assert found is not None, f'{record["model_id"]} ({record["file"]}) is not registered'
        meta, model = found
        assert meta.template_for(model) == REFERENCE_TEMPLATES[record['model_id']], record['model_id']


PLUGIN = '''
from swift.model.registry import Model, ModelGroup, ModelMeta, register_model

register_model(
    ModelMeta(
        model_type='plugin_lm',
        model_groups=[ModelGroup([Model('plugin-org/Plugin-LM-1B', 'plugin-org/Plugin-LM-1B', aliases=['plugin-lm'])])],
        template='chatml',
        architectures=['PluginLMForCausalLM'],
    ))
'''


def test_a_plugin_file_makes_its_model_resolvable(isolated_registry, tmp_path):
    plugin = tmp_path / 'my_plugin.py'
    plugin.write_text(PLUGIN)
    with pytest.raises(SwiftError):
        resolve_model('plugin-lm')
    load_plugins([str(plugin)])

    for name in ['plugin-lm', 'PLUGIN-ORG/plugin-lm-1b', 'plugin_lm']:
        resolved = resolve_model(name)
        assert (resolved.source, resolved.model_type, resolved.template) == ('registry', 'plugin_lm', 'chatml')
    assert resolve_model('plugin-lm').model_id == 'plugin-org/Plugin-LM-1B'

    local = tmp_path / 'finetuned'
    local.mkdir()
    (local / 'config.json').write_text(json.dumps({'architectures': ['PluginLMForCausalLM']}))
    resolved = resolve_model(str(local))
    assert (resolved.source, resolved.model_type, resolved.template) == ('local', 'plugin_lm', 'chatml')


def test_plugin_models_are_gone_after_the_isolated_test():
    assert lookup_model('plugin-lm') is None


# One real checkpoint of every family the foundation issue names (hub IDs as published).
REQUIRED_FAMILIES = {
    'Qwen1.5': 'Qwen/Qwen1.5-7B-Chat', 'Qwen2': 'Qwen/Qwen2-7B-Instruct', 'Qwen2.5': 'Qwen/Qwen2.5-7B-Instruct',
    'Qwen3': 'Qwen/Qwen3-8B', 'Qwen3 thinking': 'Qwen/Qwen3-4B-Thinking-2507', 'QwQ': 'Qwen/QwQ-32B',
    'Llama 2': 'meta-llama/Llama-2-7b-chat-hf', 'Llama 3': 'meta-llama/Meta-Llama-3-8B-Instruct',
    'Llama 3.1': 'meta-llama/Llama-3.1-8B-Instruct', 'Llama 3.2': 'meta-llama/Llama-3.2-1B-Instruct',
    'Llama 3.3': 'meta-llama/Llama-3.3-70B-Instruct', 'Mistral': 'mistralai/Mistral-7B-Instruct-v0.3',
    'Mixtral': 'mistralai/Mixtral-8x7B-Instruct-v0.1', 'Gemma': 'google/gemma-7b-it', 'Gemma 2': 'google/gemma-2-9b-it',
    'Gemma 3': 'google/gemma-3-1b-it', 'Phi-3': 'microsoft/Phi-3-mini-4k-instruct',
    'Phi-3.5': 'microsoft/Phi-3.5-mini-instruct', 'Phi-4': 'microsoft/phi-4',
    'DeepSeek V2': 'deepseek-ai/DeepSeek-V2-Lite-Chat', 'DeepSeek V3': 'deepseek-ai/DeepSeek-V3',
    'DeepSeek R1': 'deepseek-ai/DeepSeek-R1', 'R1-Distill': 'deepseek-ai/DeepSeek-R1-Distill-Qwen-7B',
    'GLM-4': 'THUDM/glm-4-9b-chat', 'ChatGLM3': 'THUDM/chatglm3-6b', 'InternLM2': 'internlm/internlm2-chat-7b',
    'InternLM2.5': 'internlm/internlm2_5-7b-chat', 'InternLM3': 'internlm/internlm3-8b-instruct',
    'Yi': '01-ai/Yi-1.5-9B-Chat', 'Baichuan2': 'baichuan-inc/Baichuan2-7B-Chat',
    'SmolLM2': 'HuggingFaceTB/SmolLM2-135M-Instruct', 'Falcon3': 'tiiuae/Falcon3-7B-Instruct',
    'Granite': 'ibm-granite/granite-3.3-8b-instruct', 'OLMo2': 'allenai/OLMo-2-1124-7B-Instruct',
    'MiniCPM': 'openbmb/MiniCPM-2B-sft-fp32',
}


@pytest.mark.parametrize('family', sorted(REQUIRED_FAMILIES))
def test_every_required_family_is_registered(family):
    found = lookup_model(REQUIRED_FAMILIES[family])
    assert found is not None, f'{family}: {REQUIRED_FAMILIES[family]} is not registered'
    meta, model = found
    assert model is not None and meta.template, family
