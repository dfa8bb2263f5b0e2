"""Where we deliberately differ from an official template, each case shown against the official output.

These are the only differences docs/templates.md lists; every other case is covered by
test_official_equality.py.
"""
import jinja2
import pytest

from swift.template import get_template
from swift.utils import SwiftError

from tests.template import conversations as C
from tests.template.official import render_official


def _string_argument_trace():
    return [C.ASK, {'role': 'assistant', 'content': '', 'tool_calls': [
        {'type': 'function', 'function': {'name': 'get_weather', 'arguments': '{"city": "Paris"}'}}]}]


@pytest.mark.parametrize('name,file', [('qwen2_5', 'Qwen__Qwen2.5-7B-Instruct.jinja'), ('qwq', 'Qwen__QwQ-32B.jinja')])
def test_qwen_string_tool_arguments_are_written_as_json(name, file):
    """OpenAI-style string arguments: the official template JSON-quotes them again; we write them as Qwen3 does."""
    messages = _string_argument_trace()
    official = render_official(file, messages, False, tools=C.TOOLS)
    ours = get_template(name).render(messages, tools=C.TOOLS)
    assert '"arguments": "{\\"city\\": \\"Paris\\"}"}' in official
    assert ours == official.replace('"arguments": "{\\"city\\": \\"Paris\\"}"}', '"arguments": {"city": "Paris"}}')
    # Dict arguments, the format the official template expects, are identical (see test_official_equality).


def test_gemma_accepts_a_system_prompt_like_gemma3():
    messages = [C.SYSTEM] + C.rounds(1)
    with pytest.raises(jinja2.TemplateError, match='System role not supported'):
        render_official('google__gemma-2-2b-it.jinja', messages, False)
    assert get_template('gemma').render(messages) == render_official('google__gemma-3-1b-it.jinja', messages, False)


def test_granite_3_0_tool_results_use_its_tool_response_role():
    result = {'role': 'tool', 'content': '{"temperature": 21}'}
    ours = get_template('granite').render([C.ASK, result])
    assert '<|start_of_role|>tool_response<|end_of_role|>{"temperature": 21}<|end_of_text|>\n' in ours
    official = render_official('ibm-granite__granite-3.0-1b-a400m-instruct.jinja', [C.ASK, result], False)
    assert 'temperature' not in official  # the official template silently drops role 'tool'
    as_tool_response = render_official('ibm-granite__granite-3.0-1b-a400m-instruct.jinja',
                                       [C.ASK, {**result, 'role': 'tool_response'}], False)
    assert ours == as_tool_response


@pytest.mark.parametrize('name,message', [
    ('llama3', {'role': 'assistant', 'content': '', 'tool_calls': [{'function': {'name': 'f', 'arguments': {}}}]}),
    ('gemma', {'role': 'tool', 'content': 'result'}),
    ('phi3', {'role': 'tool', 'content': 'result'}),
    ('yi', {'role': 'system', 'content': 'a late system message'}),
])
def test_what_an_official_template_would_silently_drop_is_an_error(name, message):
    with pytest.raises(SwiftError, match=name):
        get_template(name).render(C.rounds(1) + [message])
