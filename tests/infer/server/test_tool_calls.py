"""Tool calls through `swift deploy`: replies read into OpenAI tool_calls (whole and streamed), `role: tool`
messages accepted, and the proof: the embedded model, fine-tuned on a small synthetic tool-use set with
--agent_template hermes, calls the right function with valid JSON arguments through the openai client."""
import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from swift.infer.server.tool_calls import ToolCallStream, apply_tool_calls
from swift.template import get_agent_template

from .conftest import running_server

TOOLS = [{'type': 'function', 'function': {'name': 'get_weather', 'description': 'Current weather of a city',
                                           'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}},
                                                          'required': ['city']}}},
         {'type': 'function', 'function': {'name': 'get_time', 'description': 'Local time in a city',
                                           'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}},
                                                          'required': ['city']}}}]
REPLY = 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'


def _chunk(index, content=None, finish=None):
    delta = {} if content is None else {'content': content}
    return {'id': 'c', 'object': 'chat.completion.chunk', 'created': 0, 'model': 'm',
            'choices': [{'index': index, 'delta': delta, 'finish_reason': finish, 'logprobs': None}]}


def test_whole_reply_becomes_tool_calls():
    body = {'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': REPLY}, 'finish_reason': 'stop'}]}
    apply_tool_calls(body, get_agent_template('hermes'), TOOLS)
    choice = body['choices'][0]
    assert choice['finish_reason'] == 'tool_calls' and choice['message']['content'] == 'Let me check.'
    call = choice['message']['tool_calls'][0]
    assert call['type'] == 'function' and call['id'].startswith('call_')
    assert call['function'] == {'name': 'get_weather', 'arguments': '{"city": "Oslo"}'}


@pytest.mark.parametrize('piece', [1, 3, 7, 200])
def test_streamed_reply_holds_the_call_back_and_sends_it_once(piece):
    stream = ToolCallStream(get_agent_template('hermes'), TOOLS)
    pieces = [REPLY[i:i + piece] for i in range(0, len(REPLY), piece)]
    sent = [stream(_chunk(0, p)) for p in pieces] + [stream(_chunk(0, finish='stop'))]
    deltas = [c['choices'][0] for c in sent if c is not None]
    content = ''.join(d['delta'].get('content', '') for d in deltas)
    assert content == 'Let me check.'
    calls = [d['delta']['tool_calls'] for d in deltas if 'tool_calls' in d['delta']]
    assert len(calls) == 1 and calls[0][0]['index'] == 0
    assert json.loads(calls[0][0]['function']['arguments']) == {'city': 'Oslo'}
    assert deltas[-1]['finish_reason'] == 'tool_calls'


def test_streamed_text_without_a_call_is_all_sent():
    stream = ToolCallStream(get_agent_template('hermes'), TOOLS)
    text = 'No tool needed: <tool is a word here>'
    sent = [stream(_chunk(0, c)) for c in text] + [stream(_chunk(0, finish='stop'))]
    deltas = [c['choices'][0] for c in sent if c is not None]
    assert ''.join(d['delta'].get('content', '') for d in deltas) == text
    assert deltas[-1]['finish_reason'] == 'stop'


# ---------------------------------------------------------------- the proof on the embedded model

CITIES = ['Paris', 'London', 'Berlin', 'Madrid', 'Rome', 'Vienna', 'Prague', 'Dublin', 'Lisbon', 'Athens',
          'Warsaw', 'Oslo', 'Helsinki', 'Zurich', 'Brussels', 'Amsterdam']
# Training asks about many cities, each once per intent: with a few cities asked many times the model half
# memorises their names and copies a held-out one badly ('Oslo' came back as 'Olsen'); seeing 24 names it
# learns to copy the name from the question. The held-out cities (CITIES[8:13]) are none of these.
TRAIN_CITIES = CITIES[:8] + ['Tokyo', 'Cairo', 'Lima', 'Nairobi', 'Toronto', 'Sydney', 'Mumbai', 'Seoul', 'Denver',
                             'Havana', 'Kyoto', 'Boston', 'Munich', 'Geneva', 'Porto', 'Milan']
ASKS = {'get_weather': ['What is the weather in {}?', 'Is it raining in {} right now?', 'How warm is it in {}?'],
        'get_time': ['What time is it in {}?', 'Tell me the local time in {}.', 'What is the clock showing in {}?']}


def _requests(cities, seed):
    rng = random.Random(seed)
    return [(name, city, rng.choice(asks).format(city)) for city in cities for name, asks in ASKS.items()]


def _row(name, city, question):
    call = {'type': 'function', 'function': {'name': name, 'arguments': json.dumps({'city': city})}}
    return {'messages': [{'role': 'user', 'content': question},
                         {'role': 'assistant', 'content': '', 'tool_calls': [call]}], 'tools': TOOLS}


@pytest.mark.slow
def test_fine_tuned_model_calls_the_right_function(smollm_dir, tmp_path):
    from swift.arguments import DeployArguments
    from swift.infer.checks import check_infer_args
    from swift.infer.main import build_engine
    from swift.training.sft import sft_main
    from swift.utils.args import parse_args

    # 24 cities, each asked once per intent, the phrasings in turn (each one 8 times); held out: 5 other cities
    train = [_row(name, city, asks[i % len(asks)].format(city)) for i, city in enumerate(TRAIN_CITIES)
             for name, asks in ASKS.items()]
    held_out = _requests(CITIES[8:13], 1)
    result = sft_main(model=str(smollm_dir), rows=train, agent_template='hermes', system='',
                      output_dir=str(tmp_path / 'out'), max_steps=12, per_device_train_batch_size=4,
                      learning_rate=2e-3, warmup_ratio=0.0, lora_dropout=0.0, save_steps=1000, report_to=['none'])
    # what `swift deploy --adapters checkpoint-N` builds: base model, template and agent template from args.json
    args = check_infer_args(parse_args(DeployArguments, None, adapters=[result.last_checkpoint]))
    assert args.agent_template == 'hermes'
    engine = build_engine(args)
    try:
        with running_server(engine) as server:
            client = server.client()
            served = client.models.list().data[0].id

            def ask(request):  # all at once: the server batches them
                name, city, question = request
                answer = client.chat.completions.create(model=served, tools=TOOLS, max_tokens=40,
                                                        messages=[{'role': 'user', 'content': question}])
                calls = answer.choices[0].message.tool_calls or []
                return bool(calls) and calls[0].function.name == name and \
                    json.loads(calls[0].function.arguments) == {'city': city}
            with ThreadPoolExecutor(len(held_out)) as pool:
                right = sum(pool.map(ask, held_out))
            print(f'held-out tool calls right: {right} of {len(held_out)}')
            assert right / len(held_out) >= 0.9, f'{right} of {len(held_out)}'  # issue 16: >= 90%
            # a streamed call, and the conversation continued with the tool's result (role: tool)
            name, city, question = held_out[0]
            messages = [{'role': 'user', 'content': question}]
            stream = client.chat.completions.create(model=served, tools=TOOLS, max_tokens=40,
                                                    messages=messages, stream=True)
            chunks = [c for c in stream if c.choices]
            streamed = [t for c in chunks for t in (c.choices[0].delta.tool_calls or [])]
            assert streamed[0].function.name == name and chunks[-1].choices[0].finish_reason == 'tool_calls'
            messages += [{'role': 'assistant', 'content': None, 'tool_calls': [
                {'id': streamed[0].id, 'type': 'function',
                 'function': {'name': name, 'arguments': streamed[0].function.arguments}}]},
                {'role': 'tool', 'tool_call_id': streamed[0].id, 'content': 'sunny, 21 C'}]
            follow_up = client.chat.completions.create(model=served, tools=TOOLS, max_tokens=20,
                                                       messages=messages)
            assert follow_up.choices[0].finish_reason in ('stop', 'length', 'tool_calls')
    finally:
        engine.close()
