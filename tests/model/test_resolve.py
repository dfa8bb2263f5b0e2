"""resolve_model: registry IDs, local directories (args.json, config.json), unknown hub IDs, typos."""
import json
import logging
from pathlib import Path

import pytest

from swift.model.resolve import ResolvedModel, resolve_model
from swift.utils import SwiftError


@pytest.fixture
def warnings_logged():
    """Messages the swift logger warns about during the test (it does not propagate to caplog)."""
    messages = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger('swift')
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def make_model_dir(parent: Path, name: str, architectures=None, **config) -> Path:
    path = parent / name
    path.mkdir(parents=True)
    if architectures is not None:
        config['architectures'] = architectures
    (path / 'config.json').write_text(json.dumps(config))
    return path


def summary(resolved: ResolvedModel):
    return resolved.source, resolved.model_type, resolved.template, resolved.model_id


# ---------------------------------------------------------------- registry


def test_registry_id_alias_and_name(monkeypatch):
    monkeypatch.delenv('USE_HF', raising=False)
    assert summary(resolve_model('Qwen/Qwen2.5-7B-Instruct')) == \
        ('registry', 'qwen2_5', 'qwen2_5', 'Qwen/Qwen2.5-7B-Instruct')
    assert summary(resolve_model('qwen2.5-7b-instruct')) == \
        ('registry', 'qwen2_5', 'qwen2_5', 'Qwen/Qwen2.5-7B-Instruct')
    assert summary(resolve_model('smollm2-135m-instruct')) == \
        ('registry', 'smollm2', 'smollm2', 'HuggingFaceTB/SmolLM2-135M-Instruct')
    resolved = resolve_model('Qwen/Qwen3-30B-A3B-Thinking-2507')
    assert resolved.template == 'qwen3_thinking' and resolved.local_dir is None


def test_registry_id_on_the_chosen_hub(monkeypatch):
    monkeypatch.delenv('USE_HF', raising=False)
    assert resolve_model('meta-llama/Llama-3.2-1B-Instruct').model_id == 'LLM-Research/Llama-3.2-1B-Instruct'
    assert resolve_model('LLM-Research/Llama-3.2-1B-Instruct', use_hf=True).model_id == \
        'meta-llama/Llama-3.2-1B-Instruct'
    monkeypatch.setenv('USE_HF', '1')
    assert resolve_model('google/gemma-2-9b-it').model_id == 'google/gemma-2-9b-it'
    assert resolve_model('google/gemma-2-9b-it', use_hf=False).model_id == 'LLM-Research/gemma-2-9b-it'
    # Registered on Hugging Face only: that ID whichever hub is chosen.
    assert resolve_model('ibm-granite/granite-3.1-8b-instruct', use_hf=False).model_id == \
        'ibm-granite/granite-3.1-8b-instruct'


def test_a_model_type_alone_names_no_checkpoint():
    assert summary(resolve_model('qwen3')) == ('registry', 'qwen3', 'qwen3', None)


def test_unknown_hub_id_is_allowed_with_a_warning(warnings_logged):
    resolved = resolve_model('some-org/brand-new-model')
    assert summary(resolved) == ('unknown', None, None, 'some-org/brand-new-model')
    assert resolved.model_meta is None and resolved.local_dir is None
    assert any('some-org/brand-new-model is not in the model registry' in m for m in warnings_logged)


def test_unknown_hub_id_close_to_a_registered_one_suggests_it(warnings_logged):
    assert resolve_model('Qwen/Qwen2.5-7B-Instruc').source == 'unknown'
    assert any('Did you mean: Qwen/Qwen2.5-7B-Instruct' in m for m in warnings_logged)


def test_a_typo_is_a_one_line_error_with_the_closest_ids():
    with pytest.raises(SwiftError) as error:
        resolve_model('Qwen2.5-7B-Instruc')
    message = str(error.value)
    assert 'Did you mean: Qwen/Qwen2.5-7B-Instruct' in message and '\n' not in message
    with pytest.raises(SwiftError, match='Did you mean: HuggingFaceTB/SmolLM2-135M-Instruct'):
        resolve_model('smollm2-135m-instrct')


def test_paths_that_do_not_exist_are_errors(tmp_path):
    with pytest.raises(SwiftError, match='no such directory'):
        resolve_model(str(tmp_path / 'missing' / 'model'))
    with pytest.raises(SwiftError, match='no such directory'):
        resolve_model('./missing-model/')
    weights = tmp_path / 'model.safetensors'
    weights.write_bytes(b'')
    with pytest.raises(SwiftError, match='a file, not a model directory'):
        resolve_model(str(weights))
    with pytest.raises(SwiftError, match='empty'):
        resolve_model('  ')


# ---------------------------------------------------------------- local directories: config.json


def test_local_dir_named_like_a_registered_model(tmp_path):
    path = make_model_dir(tmp_path, 'Qwen2.5-7B-Instruct', ['Qwen2ForCausalLM'], model_type='qwen2')
    resolved = resolve_model(str(path))
    assert summary(resolved) == ('local', 'qwen2_5', 'qwen2_5', 'Qwen/Qwen2.5-7B-Instruct')
    assert resolved.local_dir == path.resolve()


def test_local_dir_in_the_modelscope_cache(tmp_path):
    path = make_model_dir(tmp_path / 'modelscope' / 'Qwen', 'Qwen2___5-1___5B-Instruct', ['Qwen2ForCausalLM'])
    assert summary(resolve_model(path)) == ('local', 'qwen2_5', 'qwen2_5', 'Qwen/Qwen2.5-1.5B-Instruct')


def test_local_dir_in_the_hugging_face_cache(tmp_path):
    path = make_model_dir(tmp_path / 'models--Qwen--Qwen2-7B-Instruct' / 'snapshots', 'a1b2c3', ['Qwen2ForCausalLM'])
    assert summary(resolve_model(path, use_hf=True)) == ('local', 'qwen2', 'qwen', 'Qwen/Qwen2-7B-Instruct')


def test_local_dir_config_name_or_path(tmp_path):
    path = make_model_dir(tmp_path, 'checkpoint-500', ['LlamaForCausalLM'],
                          _name_or_path='/data/models/01ai/Yi-1.5-9B-Chat')
    assert summary(resolve_model(path, use_hf=True)) == ('local', 'yi', 'yi', '01-ai/Yi-1.5-9B-Chat')


def test_local_fine_tune_named_after_its_base(tmp_path):
    # The longest registered name wins: Qwen2.5-7B-Instruct, not Qwen2.5-7B.
    path = make_model_dir(tmp_path, 'qwen2.5-7b-instruct-lora-merged', ['Qwen2ForCausalLM'])
    assert summary(resolve_model(path)) == ('local', 'qwen2_5', 'qwen2_5', 'Qwen/Qwen2.5-7B-Instruct')
    path = make_model_dir(tmp_path, 'Llama-3.2-1B-sft', ['LlamaForCausalLM'])
    assert summary(resolve_model(path, use_hf=True)) == ('local', 'llama3_2', 'llama3_2', 'meta-llama/Llama-3.2-1B')


def test_local_dir_shared_architecture_told_apart_by_name(tmp_path):
    chatglm3 = make_model_dir(tmp_path, 'chatglm3-6b', ['ChatGLMModel'], model_type='chatglm')
    glm4 = make_model_dir(tmp_path, 'glm-4-9b-chat', ['ChatGLMModel'], model_type='chatglm')
    assert resolve_model(chatglm3).template == 'chatglm3'
    assert resolve_model(glm4).template == 'glm4'


def test_embedded_model_directory_resolves_to_smollm2(tmp_path):
    # Like swift.model.embedded writes it: transformers 5 saves no _name_or_path, and the GGUF's
    # own name is not a hub ID, so the directory name identifies the model.
    path = make_model_dir(tmp_path / 'embedded', 'SmolLM2-135M-Instruct', ['LlamaForCausalLM'],
                          _model_name_or_path='Smollm2 135M 8k Lc100K Mix1 Ep2', model_type='llama')
    assert summary(resolve_model(path)) == \
        ('local', 'smollm2', 'smollm2', 'HuggingFaceTB/SmolLM2-135M-Instruct')


def test_unnamed_local_dir_takes_the_first_registered_type(tmp_path, warnings_logged):
    qwen = make_model_dir(tmp_path, 'my-model', ['Qwen2ForCausalLM'])
    resolved = resolve_model(qwen)
    assert summary(resolved) == ('local', 'qwen2_5', 'qwen2_5', None)
    assert resolved.model is None
    assert any('shared by the model types qwen2_5, qwen2, qwq' in m for m in warnings_logged)

    llama = make_model_dir(tmp_path, 'checkpoint-100', ['LlamaForCausalLM'])
    assert summary(resolve_model(llama)) == ('local', 'llama3_1', 'llama3_1', None)

    gemma3 = make_model_dir(tmp_path, 'out', ['Gemma3ForCausalLM'])
    assert summary(resolve_model(gemma3)) == ('local', 'gemma3_text', 'gemma3', None)


def test_the_guess_warning_names_the_template_the_command_chose(tmp_path, warnings_logged):
    """--template smollm2 on an unnamed Llama directory: the warning says that template, not the guessed type's; with
    --model_type the guess is not used at all, so there is nothing to warn about."""
    from swift.model.loader import resolve_model_info
    llama = make_model_dir(tmp_path, 'checkpoint-100', ['LlamaForCausalLM'])
    info = resolve_model_info(str(llama), llama, template='smollm2')
    assert info.template == 'smollm2'
    guess = [m for m in warnings_logged if 'shared by the model types' in m]
    assert len(guess) == 1 and "using llama3_1 (--template 'smollm2')" in guess[0] and "'llama3_1'" not in guess[0]
    warnings_logged.clear()
    assert resolve_model_info(str(llama), llama, model_type='smollm2').template == 'smollm2'
    assert not [m for m in warnings_logged if 'shared by the model types' in m]


def test_name_wins_over_a_mismatched_architecture(tmp_path, warnings_logged):
    # A Qwen2.5 model re-saved with another class keeps Qwen2.5's chat format.
    path = make_model_dir(tmp_path, 'Qwen2.5-0.5B-Instruct', ['Qwen2ForSequenceClassification'])
    assert summary(resolve_model(path)) == ('local', 'qwen2_5', 'qwen2_5', 'Qwen/Qwen2.5-0.5B-Instruct')
    assert any('differ from' in m for m in warnings_logged)


def test_local_dir_with_an_unknown_architecture_is_unknown(tmp_path, warnings_logged):
    path = make_model_dir(tmp_path, 'mystery', ['MysteryForCausalLM'])
    resolved = resolve_model(path)
    assert summary(resolved) == ('unknown', None, None, None)
    assert resolved.local_dir == path.resolve()
    assert any('MysteryForCausalLM' in m for m in warnings_logged)

    empty = tmp_path / 'empty'
    empty.mkdir()
    assert summary(resolve_model(empty)) == ('unknown', None, None, None)


def test_broken_config_json_names_the_file(tmp_path):
    path = tmp_path / 'broken'
    path.mkdir()
    (path / 'config.json').write_text('{"architectures": [')
    with pytest.raises(SwiftError, match=r'broken/config\.json: not valid JSON'):
        resolve_model(path)
    (path / 'config.json').write_text('{"architectures": "LlamaForCausalLM"}')
    with pytest.raises(SwiftError, match='"architectures" must be a list'):
        resolve_model(path)


# ---------------------------------------------------------------- local directories: args.json


def write_args(path: Path, **args) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / 'args.json').write_text(json.dumps(args))
    return path


def test_args_json_from_training_wins(tmp_path):
    # A LoRA checkpoint: no config.json, args.json names the base model.
    path = write_args(tmp_path / 'v0' / 'checkpoint-10', model='Qwen/Qwen2.5-0.5B-Instruct', model_type='qwen2_5',
                      template='qwen2_5', lora_rank=8)
    resolved = resolve_model(path)
    assert summary(resolved) == ('args.json', 'qwen2_5', 'qwen2_5', 'Qwen/Qwen2.5-0.5B-Instruct')
    assert resolved.local_dir == path.resolve()


def test_args_json_template_overrides_the_registry(tmp_path):
    path = write_args(tmp_path / 'ckpt', model='Qwen/Qwen3-8B', model_type='qwen3', template='chatml')
    make_model_dir(path / 'unused', 'x', ['Qwen3ForCausalLM'])
    assert summary(resolve_model(path)) == ('args.json', 'qwen3', 'chatml', 'Qwen/Qwen3-8B')


def test_args_json_without_template_uses_the_model_types(tmp_path):
    path = write_args(tmp_path / 'ckpt', model='/local/base/model', model_type='llama3', template=None)
    assert summary(resolve_model(path)) == ('args.json', 'llama3', 'llama3', '/local/base/model')


def test_args_json_with_an_unregistered_type_keeps_its_template(tmp_path, warnings_logged):
    path = write_args(tmp_path / 'ckpt', model='org/custom', model_type='custom_type', template='chatml')
    resolved = resolve_model(path)
    assert summary(resolved) == ('args.json', None, 'chatml', 'org/custom')
    assert any("model_type 'custom_type' is not registered" in m for m in warnings_logged)


def test_args_json_with_a_wrong_field_type_names_it(tmp_path):
    path = write_args(tmp_path / 'ckpt', model='Qwen/Qwen3-8B', model_type=['qwen3'])
    with pytest.raises(SwiftError, match=r'args\.json: "model_type" must be a string'):
        resolve_model(path)
