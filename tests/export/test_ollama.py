"""`swift export --to_ollama`: the Modelfile's TEMPLATE, rendered by Go's real text/template the way Ollama
feeds it messages, gives the same text as our Jinja chat_template (and swift) for every declarative family."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from swift.export.chat_template import jinja_for, probe_conversations
from swift.export.main import export_main
from swift.export.ollama import go_template_for, modelfile_for
from swift.template import TEMPLATE_REGISTRY, get_template
from swift.utils import SwiftError

HARNESS = Path(__file__).parent / 'gotemplate'
DECLARATIVE = sorted(name for name, meta in TEMPLATE_REGISTRY.items()
                     if meta.template_cls is None and not meta.strip_content)
CONVERSATIONS = [
    [{'role': 'user', 'content': 'Hello!'}],
    [{'role': 'system', 'content': 'You are terse.'}, {'role': 'user', 'content': 'Hi'}],
    [{'role': 'system', 'content': 'Be kind.'}, {'role': 'user', 'content': 'One'},
     {'role': 'assistant', 'content': 'Two'}, {'role': 'user', 'content': 'Three'}],
    [{'role': 'user', 'content': 'a'}, {'role': 'assistant', 'content': 'b'}, {'role': 'user', 'content': 'c'},
     {'role': 'assistant', 'content': 'd'}, {'role': 'user', 'content': 'e'}],
    [{'role': 'user', 'content': 'Start my answer'}, {'role': 'assistant', 'content': 'Sure, the answer'}],
    [{'role': 'user', 'content': 'weather?'}, {'role': 'assistant', 'content': 'calling'},
     {'role': 'tool', 'content': '{"temp": 21}'}],
    [{'role': 'user', 'content': 'x'}, {'role': 'assistant', 'content': 'y'},
     {'role': 'system', 'content': 'new rules'}, {'role': 'user', 'content': 'z'}],
] + [messages for messages, _ in probe_conversations() if messages[-1]['role'] != 'assistant'
     and messages[-1].get('content') is not None]


@pytest.fixture(scope='module')
def go_render(tmp_path_factory):
    """Render cases with Go's text/template (one compiled harness; `make test` installs golang-go)."""
    go = shutil.which('go')
    if go is None:
        pytest.fail('Go is not installed: `apt-get install golang-go` (make test installs it)')
    binary = tmp_path_factory.mktemp('go') / 'render'
    subprocess.run([go, 'build', '-o', str(binary), '.'], cwd=HARNESS, check=True, timeout=600,
                   env={'GOCACHE': str(binary.parent / 'cache'), 'GOPATH': str(binary.parent / 'gopath'),
                        'HOME': str(binary.parent), 'PATH': '/usr/bin:/bin', 'GO111MODULE': 'off'})

    def render(cases):
        done = subprocess.run([str(binary)], input=json.dumps(cases), capture_output=True, text=True, timeout=60,
                              check=True)
        return [r.get('text', r.get('error') and ('ERROR: ' + r['error'])) for r in json.loads(done.stdout)]
    return render


def as_ollama_sends(messages, system):
    """Ollama's request handling: SYSTEM first when the request has no system message; one role's run merged."""
    messages = [dict(m, content=m.get('content') or '') for m in messages]
    if system and messages[0]['role'] != 'system':
        messages = [{'role': 'system', 'content': system}] + messages
    merged = []
    for m in messages:
        if merged and merged[-1]['role'] == m['role'] and m['role'] != 'tool':
            merged[-1] = dict(merged[-1], content=merged[-1]['content'] + '\n\n' + m['content'])
        else:
            merged.append(m)
    return merged


def jinja_text(chat_template, messages):
    """What our Jinja chat_template renders for Ollama's request: a new turn, or a continued last answer."""
    from transformers.utils.chat_template_utils import render_jinja_template
    prefill = messages[-1]['role'] == 'assistant'
    history = messages[:-1] if prefill else messages
    try:
        text = render_jinja_template([history], chat_template=chat_template, add_generation_prompt=True)[0][0]
    except Exception:  # noqa: BLE001 — a conversation the template refuses (tool messages for yi, ...)
        return None
    return text + (messages[-1]['content'] if prefill else '')


@pytest.mark.parametrize('system', [None, 'You are Nova, {{ careful }} "quoted".'])
def test_go_template_renders_like_our_jinja_for_every_declarative_family(go_render, system):
    assert len(DECLARATIVE) >= 15
    cases, expected = [], []
    for name in DECLARATIVE:
        template = get_template(name, default_system=system)
        modelfile = modelfile_for(template)
        chat_template = jinja_for(template)
        for messages in CONVERSATIONS:
            sent = as_ollama_sends(messages, modelfile.system)
            text = jinja_text(chat_template, sent)
            if text is None:
                continue
            cases.append({'template': modelfile.template, 'system': modelfile.system, 'messages': messages})
            expected.append((name, messages, text))
    assert len(cases) > 15 * len(CONVERSATIONS) // 2
    for (name, messages, text), rendered in zip(expected, go_render(cases)):
        assert rendered == text, (name, messages)


def test_go_template_continues_a_last_assistant_message(go_render):
    modelfile = modelfile_for(get_template('chatml'))
    [text] = go_render([{'template': modelfile.template, 'system': None, 'messages': CONVERSATIONS[4]}])
    assert text.endswith('<|im_start|>assistant\nSure, the answer')


def test_constructs_without_go_equivalent_are_named():
    with pytest.raises(SwiftError, match=r'trims message contents \(Jinja `\| trim`\)'):
        go_template_for(get_template('llama3'))
    with pytest.raises(SwiftError, match='Qwen3Template'):
        go_template_for(get_template('qwen3'))


def test_modelfile_text():
    modelfile = modelfile_for(get_template('smollm2', default_system='Be "brief".'))
    text = modelfile.text('./m.gguf')
    assert text.startswith('FROM ./m.gguf\nTEMPLATE """{{-')
    assert 'SYSTEM """Be "brief"."""' in text and 'PARAMETER stop "<|im_end|>"' in text
    with pytest.raises(SwiftError, match='"""'):
        modelfile_for(get_template('smollm2', default_system='a """ b')).text('./m.gguf')


def test_export_to_ollama_writes_gguf_and_modelfile(tiny_model_dir, tmp_path, go_render):
    result = export_main(model=str(tiny_model_dir), template='smollm2', to_ollama=True, gguf_quant='q8_0',
                         output_dir=str(tmp_path / 'o'))
    out = Path(result.output_dir)
    assert result.kind == 'ollama'
    text = (out / 'Modelfile').read_text()
    gguf_name = text.splitlines()[0].split('./', 1)[1]
    assert (out / gguf_name).is_file() and gguf_name.endswith('-Q8_0.gguf')
    template = text.split('TEMPLATE """', 1)[1].split('"""', 1)[0]
    messages = [{'role': 'user', 'content': 'Hi'}]
    [rendered] = go_render([{'template': template, 'system': get_template('smollm2').default_system,
                             'messages': messages}])
    assert rendered == get_template('smollm2').render(messages, add_generation_prompt=True)


def test_export_to_ollama_refuses_before_writing(tiny_model_dir, tmp_path):
    with pytest.raises(SwiftError, match='trim'):
        export_main(model=str(tiny_model_dir), template='llama3', to_ollama=True, output_dir=str(tmp_path / 'o'))
    assert not (tmp_path / 'o').exists()
