"""Our Python templates render exactly what the official Jinja chat templates render.

For every template in swift.template.official.OFFICIAL_REFERENCES and each of its reference
files, fixed conversations (tests/template/conversations.py) are rendered by our template and by
the official Jinja through transformers' own render_jinja_template, with the special tokens from
index.json, with and without the generation prompt (and, for thinking families, with
enable_thinking None/True/False), and the two strings must be identical.

A case the official template refuses (it raises, e.g. Gemma's "System role not supported") is
skipped for that case only, and only if it is listed in EXPECTED_REFUSALS with its message.
"""
from datetime import datetime

import jinja2
import pytest

from swift.template import get_template, list_templates, official_reference_status
from swift.template.official import OFFICIAL_REFERENCES, SMOLLM2_GGUF, UNVERIFIED

from tests.template import conversations as C
from tests.template.official import (all_reference_files, pinned_clock, reference_available, render_official)
from tests.conftest import REPO

# Official files we have no template for, and why.
NOT_COVERED = {
    'CohereLabs__c4ai-command-r-v01__tool_use.jinja': 'Command-R tool-use variant (tools not implemented)',
    'CohereLabs__c4ai-command-r-v01__rag.jinja': 'Command-R RAG variant (documents not implemented)',
    'CohereLabs__c4ai-command-r7b-12-2024__tool_use.jinja': 'Command-R7B tool-use variant (tools not implemented)',
    'CohereLabs__c4ai-command-r7b-12-2024__rag.jinja': 'Command-R7B RAG variant (documents not implemented)',
    'microsoft__Phi-3-vision-128k-instruct.jinja': 'multimodal',
    'THUDM__cogvlm2-llama3-chat-19B.jinja': 'multimodal',
    'meta-llama__Llama-3.2-11B-Vision-Instruct.jinja': 'multimodal',
    'Qwen__Qwen2-VL-7B-Instruct.jinja': 'multimodal',
}

# (file, case) -> text of the error the official template raises for it.
ROLES_ALTERNATE = 'Conversation roles must alternate'
EXPECTED_REFUSALS = {}
for _gemma in ('google__gemma-7b-it.jinja', 'google__gemma-2-2b-it.jinja'):
    for _case in ('system_open', 'system_single', 'system_multi', 'system_multi_open', 'padded', 'think_open'):
        EXPECTED_REFUSALS[(_gemma, _case)] = 'System role not supported'

_string_tool_cases = {**C.tool_cases(True, None), **C.two_call_cases(True, None)}
_dict_tool_cases = {**C.tool_cases(False), **C.two_call_cases(False)}
_tool_definition_cases = {k: v for k, v in C.tool_cases(False).items() if k in ('tools_open', 'tools_system_open')}
TOOL_CASES = {
    'qwen2_5': _dict_tool_cases,
    'qwen3': {**_dict_tool_cases, **C.qwen3_tool_thinking_case()},
    'qwq': _dict_tool_cases,
    'llama3_1': C.tool_cases(False),  # one tool call per message only
    'llama3_2': C.tool_cases(False),
    'mistral_v3': _dict_tool_cases,
    'mistral_nemo': _dict_tool_cases,
    'falcon3': _dict_tool_cases,
    'deepseek_v3': _string_tool_cases,
    'deepseek_r1': _string_tool_cases,
    'deepseek_r1_distill': _string_tool_cases,
    'deepseek_v3_1': _string_tool_cases,
    'granite': _tool_definition_cases,
    'granite3_1': _tool_definition_cases,
    'granite3_2': _tool_definition_cases,
    'granite3_3': _tool_definition_cases,
}

FIXED_NOW = datetime(2025, 3, 5, 9, 30)
# Templates that ask for today's date: (our date_string, official kwargs); the official clock is pinned to FIXED_NOW.
DATED = {
    'meta-llama__Llama-3.2-3B-Instruct.jinja': ('05 Mar 2025', {'date_string': '05 Mar 2025'}),
    'ibm-granite__granite-3.1-3b-a800m-instruct.jinja': ('March 05, 2025', {}),
    'ibm-granite__granite-3.2-2b-instruct.jinja': ('March 05, 2025', {}),
    'ibm-granite__granite-3.3-2b-instruct.jinja': ('March 05, 2025', {}),
}


def _cases():
    for name, files in OFFICIAL_REFERENCES.items():
        thinking_values = (None, True, False) if get_template(name).supports_thinking else (None, )
        cases = {**C.BASIC, **C.THINKING, **TOOL_CASES.get(name, {})}
        for file in files:
            for case in cases:
                for generation in (False, True):
                    for thinking in thinking_values:
                        yield pytest.param(name, file, case, cases[case], generation, thinking,
                                           id=f'{name}-{file.split(".jinja")[0]}-{case}-gen{int(generation)}'
                                           f'-think{thinking}')


@pytest.mark.parametrize('name,file,case,messages,generation,thinking', list(_cases()))
def test_equal_to_official(name, file, case, messages, generation, thinking):
    if not reference_available(file):
        pytest.fail(f'official reference {file} is missing')
    tools = C.TOOLS if case.startswith('tools') else None
    ours_date, official_kwargs = DATED.get(file, (None, {}))
    ours_kwargs = {'date_string': ours_date} if ours_date else {}
    if thinking is not None:
        official_kwargs = {**official_kwargs, 'enable_thinking': thinking, 'thinking': thinking}
    try:
        with pinned_clock(FIXED_NOW if file in DATED else None):
            expected = render_official(file, messages, generation, tools=tools, **official_kwargs)
    except jinja2.TemplateError as e:
        refusal = EXPECTED_REFUSALS.get((file, case))
        assert refusal is not None, f'official {file} unexpectedly refused case {case!r}: {e}'
        assert refusal in str(e)
        return  # the official template refuses this conversation (e.g. a system role), as expected: nothing to compare
    assert (file, case) not in EXPECTED_REFUSALS, f'{file} was expected to refuse {case!r} but rendered it'
    ours = get_template(name).render(messages, add_generation_prompt=generation, tools=tools,
                                     enable_thinking=thinking, **ours_kwargs)
    assert ours == expected


@pytest.mark.parametrize('name,file', [('granite3_1', 'ibm-granite__granite-3.1-3b-a800m-instruct.jinja'),
                                       ('granite3_2', 'ibm-granite__granite-3.2-2b-instruct.jinja'),
                                       ('granite3_3', 'ibm-granite__granite-3.3-2b-instruct.jinja')])
def test_granite_default_date_is_today_like_official(name, file):
    """Without date_string, both write today's date (real clock)."""
    messages = C.rounds(1, open_end=True)
    expected = render_official(file, messages, True)
    assert get_template(name).render(messages, add_generation_prompt=True) == expected
    assert datetime.now().strftime('%B %d, %Y') in expected


def test_llama3_2_default_date_is_today_like_official():
    """Without date_string, llama3_2 writes today's date as Llama 3.2's template does through transformers'
    apply_chat_template (strftime_now); date_string pins it."""
    messages = C.rounds(1, open_end=True)
    ours = get_template('llama3_2').render(messages, add_generation_prompt=True)
    assert ours == render_official('meta-llama__Llama-3.2-3B-Instruct.jinja', messages, True)
    assert f'Today Date: {datetime.now().strftime("%d %b %Y")}\n' in ours
    pinned = get_template('llama3_2').render(messages, add_generation_prompt=True, date_string='26 Jul 2024')
    assert 'Today Date: 26 Jul 2024\n' in pinned


@pytest.mark.parametrize('file', OFFICIAL_REFERENCES['llama3_1'])
def test_llama3_1_and_3_3_default_date_is_their_official_fixed_date(file):
    """Llama 3.1's and 3.3's official templates have no clock: "26 Jul 2024" unless date_string is given."""
    messages = C.rounds(1, open_end=True)
    ours = get_template('llama3_1').render(messages, add_generation_prompt=True)
    assert 'Today Date: 26 Jul 2024\n' in ours and ours == render_official(file, messages, True)


def test_a_row_date_string_pins_the_date_when_encoding(smollm_tokenizer):
    template = get_template('llama3_2', tokenizer=smollm_tokenizer)
    row = {'messages': C.rounds(1), 'date_string': '01 Jan 2030'}
    assert 'Today Date: 01 Jan 2030' in smollm_tokenizer.decode(template.encode(row)['input_ids'])


def test_llama3_2_tools_in_system_block():
    messages = [C.SYSTEM, C.ASK]
    for name in ('llama3_1', 'llama3_2'):
        for file in OFFICIAL_REFERENCES[name]:
            kwargs = {'tools_in_user_message': False, 'date_string': '26 Jul 2024'}
            expected = render_official(file, messages, True, tools=C.TOOLS, **kwargs)
            assert get_template(name).render(messages, True, tools=C.TOOLS, **kwargs) == expected


def test_every_official_file_is_covered_or_explained():
    referenced = {f for files in OFFICIAL_REFERENCES.values() for f in files if f != SMOLLM2_GGUF}
    files = set(all_reference_files())
    assert referenced <= files, f'OFFICIAL_REFERENCES names files that do not exist: {referenced - files}'
    assert files - referenced == set(NOT_COVERED), 'every official file is verified or listed in NOT_COVERED'


def test_every_template_has_a_reference_status():
    status = official_reference_status()
    assert set(status) == set(list_templates())
    assert set(OFFICIAL_REFERENCES).isdisjoint(UNVERIFIED)
    assert len(OFFICIAL_REFERENCES) >= 20
    for name, files in OFFICIAL_REFERENCES.items():
        assert all(f in status[name] for f in files)


def test_docs_list_the_reference_status():
    docs = (REPO / 'docs' / 'templates.md').read_text()
    for name, status in official_reference_status().items():
        assert f'`{name}`' in docs, f'docs/templates.md does not mention {name}'
        assert ('unverified' in status) == (f'`{name}` | unverified' in docs), name
