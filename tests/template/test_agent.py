"""--agent_template: tools, calls and results written in each format and read back; loss-scale weightings."""
import pytest

from swift.template import IGNORE_INDEX, get_agent_template, get_template
from swift.template.agent import AGENT_TEMPLATES
from swift.utils import SwiftError

TOOLS = [{'type': 'function', 'function': {'name': 'get_weather', 'description': 'The weather of a city',
                                           'parameters': {'type': 'object',
                                                          'properties': {'city': {'type': 'string'}}}}}]
CALL = {'type': 'function', 'function': {'name': 'get_weather', 'arguments': '{"city": "Paris"}'}}
CONVERSATION = [{'role': 'user', 'content': 'Weather in Paris?'},
                {'role': 'assistant', 'content': None, 'tool_calls': [CALL]},
                {'role': 'tool', 'content': 'sunny, 21 C'},
                {'role': 'assistant', 'content': 'It is sunny in Paris.'}]


@pytest.mark.parametrize('name', sorted(AGENT_TEMPLATES))
def test_calls_written_are_read_back(name):
    agent = get_agent_template(name)
    calls = [{'name': 'get_weather', 'arguments': {'city': 'Paris', 'days': 2}}]
    text = agent.calls_text(calls)
    content, parsed = agent.parse(text, TOOLS)
    assert parsed == calls and content == ''
    assert agent.parse('Just an answer.', TOOLS) == ('Just an answer.', [])


def test_hermes_on_a_template_without_a_tool_format(smollm_tokenizer):
    template = get_template('smollm2', tokenizer=smollm_tokenizer)
    with pytest.raises(SwiftError, match='no tool format'):
        template.render(CONVERSATION, tools=TOOLS)
    template.agent_template = get_agent_template('hermes')
    text = template.render(CONVERSATION, tools=TOOLS)
    assert text.startswith('<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face\n\n'
                           '# Tools\n')
    assert ('<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
            '</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nsunny, 21 C\n</tool_response><|im_end|>\n'
            '<|im_start|>assistant\nIt is sunny in Paris.<|im_end|>') in text
    encoded = template.encode({'messages': CONVERSATION, 'tools': TOOLS})
    trained = smollm_tokenizer.decode([t for t in encoded['labels'] if t != IGNORE_INDEX])
    assert trained == ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>'
                       'It is sunny in Paris.<|im_end|>')


def test_react_results_are_observations():
    agent = get_agent_template('react_en')
    plain = agent.to_plain_messages(CONVERSATION, TOOLS)
    assert plain[0]['role'] == 'system' and 'get_weather: The weather of a city' in plain[0]['content']
    assert plain[2] == {'role': 'assistant', 'content': 'Action: get_weather\nAction Input: {"city": "Paris"}'}
    assert plain[3] == {'role': 'user', 'content': 'Observation: sunny, 21 C'}


def _weights(tokenizer, loss_scale, messages, tools=None, agent='hermes'):
    template = get_template('smollm2', tokenizer=tokenizer, loss_scale=loss_scale)
    template.agent_template = get_agent_template(agent)
    encoded = template.encode({'messages': messages, 'tools': tools})
    return encoded, template


def test_hermes_loss_scale_doubles_the_call(smollm_tokenizer):
    encoded, _ = _weights(smollm_tokenizer, 'hermes', CONVERSATION, TOOLS)
    weights, labels, ids = encoded['loss_scale'], encoded['labels'], encoded['input_ids']
    doubled = smollm_tokenizer.decode([i for i, w in zip(ids, weights) if w == 2.0])
    assert doubled.startswith('<tool_call>') and doubled.endswith('</tool_call>')
    assert all(w == 0.0 for w, label in zip(weights, labels) if label == IGNORE_INDEX)
    assert smollm_tokenizer.decode([i for i, w in zip(ids, weights) if w == 1.0]) == \
        '<|im_end|>It is sunny in Paris.<|im_end|>'


def test_react_loss_scale_does_not_train_observations(smollm_tokenizer):
    answer = 'Thought: look it up\nAction: get_weather\nAction Input: {"city": "Paris"}\nObservation: sunny'
    messages = [{'role': 'user', 'content': 'Weather?'}, {'role': 'assistant', 'content': answer}]
    encoded, _ = _weights(smollm_tokenizer, 'react', messages, agent='react_en')
    ids, weights = encoded['input_ids'], encoded['loss_scale']
    by_weight = {w: smollm_tokenizer.decode([i for i, x in zip(ids, weights) if x == w]) for w in set(weights)}
    assert 'sunny' not in by_weight[2.0] + by_weight[1.0]
    assert 'Action: get_weather' in by_weight[2.0] and 'Thought: look it up' in by_weight[1.0]
    trained = [i for i, label in zip(ids, encoded['labels']) if label != IGNORE_INDEX]
    assert 'sunny' not in smollm_tokenizer.decode(trained)


def test_ignore_empty_think_untrains_the_empty_block(smollm_tokenizer):
    messages = [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': '<think>\n\n</think>\n\nHello!'}]
    encoded, _ = _weights(smollm_tokenizer, 'ignore_empty_think', messages)
    trained = smollm_tokenizer.decode([t for t in encoded['labels'] if t != IGNORE_INDEX])
    assert trained == 'Hello!<|im_end|>' and 'loss_scale' not in encoded  # 0/1 weights are labels alone


def test_unknown_loss_scale_and_agent_template_are_refused():
    with pytest.raises(SwiftError, match='unknown loss_scale'):
        get_template('smollm2', loss_scale='hermes+last_round')
    with pytest.raises(SwiftError, match='Did you mean: hermes'):
        get_agent_template('hermess')
