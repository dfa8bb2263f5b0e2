"""The Jinja chat_template generated from swift's declarative templates renders exactly like swift does,
checked with transformers' own renderer; code templates fall back to the model's original when equal."""
import json
import re
from types import SimpleNamespace

import pytest
from jinja2.exceptions import TemplateError

from swift.export.chat_template import chat_template_for_export, differences, jinja_for, probe_conversations
from swift.template import TEMPLATE_REGISTRY, Template, get_template
from swift.utils import SwiftError
from tests.conftest import SHARED

DECLARATIVE = sorted(name for name, meta in TEMPLATE_REGISTRY.items() if meta.template_cls is None)
CODE = sorted(name for name, meta in TEMPLATE_REGISTRY.items() if meta.template_cls is not None)


def render_jinja(chat_template, messages, add_generation_prompt, **tokens):
    from transformers.utils.chat_template_utils import render_jinja_template
    return render_jinja_template([messages], chat_template=chat_template, add_generation_prompt=add_generation_prompt,
                                 **tokens)[0][0]


def test_every_declarative_template_is_generated():
    assert len(DECLARATIVE) >= 15  # ChatML, Llama-3, Phi-3, Yi, GLM, MiniCPM, OLMo, ...
    assert all(jinja_for(get_template(name)) is not None for name in DECLARATIVE)
    assert all(jinja_for(get_template(name)) is None for name in CODE)


@pytest.mark.parametrize('name', DECLARATIVE)
@pytest.mark.parametrize('system', [None, '', 'Custom system: be {{SYSTEM}}-safe.'])
def test_generated_template_renders_like_swift(name, system):
    template = get_template(name, default_system=system)
    generated = jinja_for(template)
    assert differences(template, generated, {}, limit=3) == []
    # and by direct comparison on the probes swift can render
    for messages, add_generation_prompt in probe_conversations():
        try:
            expected = template.render(messages, add_generation_prompt=add_generation_prompt)
        except SwiftError as refusal:  # a conversation the template does not support (tool messages for Phi-3, ...)
            # the Jinja refuses it too, for the same reason: "template 'yi' does not support ..." → "does not ..."
            reason = str(refusal).split(f"template '{name}' ", 1)[-1]
            with pytest.raises(TemplateError, match=re.escape(reason)):
                render_jinja(generated, messages, add_generation_prompt)
            continue
        assert render_jinja(generated, messages, add_generation_prompt) == expected


def test_a_wrong_template_is_detected():
    chatml = get_template('chatml')
    wrong = jinja_for(chatml).replace('<|im_start|>assistant\\n', '<|im_start|>assistant ')
    assert differences(chatml, wrong, {})


def official(file_name):
    directory = SHARED / 'data' / 'chat_templates'
    record = next(r for r in json.loads((directory / 'index.json').read_text()) if r['file'] == file_name)
    tokens = {k: record.get(k) for k in ('bos_token', 'eos_token', 'pad_token', 'unk_token')}
    return SimpleNamespace(chat_template=(directory / file_name).read_text(encoding='utf-8'), **tokens)


def test_code_template_keeps_the_original_when_it_renders_the_same():
    tokenizer = official('Qwen__Qwen2.5-7B-Instruct.jinja')
    chosen, source = chat_template_for_export(get_template('qwen2_5'), tokenizer)
    assert chosen == tokenizer.chat_template and 'original' in source and 'differently' not in source


def test_code_template_that_renders_differently_is_reported():
    # Llama 3.2's official template writes today's date (strftime_now); swift's writes a fixed one.
    tokenizer = official('meta-llama__Llama-3.2-3B-Instruct.jinja')
    chosen, source = chat_template_for_export(get_template('llama3_2'), tokenizer)
    assert chosen == tokenizer.chat_template and 'differently' in source


def test_no_chat_template_at_all():
    tokenizer = SimpleNamespace(chat_template=None, bos_token=None, eos_token=None, pad_token=None, unk_token=None)
    assert chat_template_for_export(get_template('qwen3'), tokenizer) == (None, 'none')


def test_generated_template_is_plain_jinja_without_swift_code():
    generated = jinja_for(get_template('llama3'))
    assert isinstance(get_template('llama3'), Template)
    assert 'raise_exception' in generated and '{%' in generated
    assert render_jinja(generated, [{'role': 'user', 'content': 'hi'}], True).endswith(
        '<|start_header_id|>assistant<|end_header_id|>\n\n')
