"""The fixed conversations every template is compared on (English, Chinese, emoji, padded text, thinking, tools)."""
import copy

SYSTEM = {'role': 'system', 'content': 'You are a careful assistant. 回答要简洁。'}
ROUNDS = [
    ({'role': 'user', 'content': 'What is the capital of France?'},
     {'role': 'assistant', 'content': 'The capital of France is Paris.'}),
    ({'role': 'user', 'content': '德国的首都是哪里？请用中文回答。'},
     {'role': 'assistant', 'content': '德国的首都是柏林。🇩🇪'}),
    ({'role': 'user', 'content': 'And Italy? 🤔 Answer in one word.'},
     {'role': 'assistant', 'content': 'Rome 🍕'}),
]


def rounds(n: int, open_end: bool = False):
    messages = [m for pair in ROUNDS[:n] for m in pair]
    return messages[:-1] if open_end else messages


BASIC = {
    'single_open': rounds(1, open_end=True),
    'single': rounds(1),
    'system_open': [SYSTEM] + rounds(1, open_end=True),
    'system_single': [SYSTEM] + rounds(1),
    'multi': rounds(3),
    'system_multi': [SYSTEM] + rounds(3),
    'multi_open': rounds(3, open_end=True),
    'system_multi_open': [SYSTEM] + rounds(3, open_end=True),
    'padded': [{'role': 'system', 'content': '  Padded system.\n'},
               {'role': 'user', 'content': '\n  Hello there  \n'},
               {'role': 'assistant', 'content': '  General Kenobi.\n\n'}],
}

THINKING = {
    'think_inline': [
        ROUNDS[0][0], {'role': 'assistant', 'content': '<think>\nFrance... its capital is Paris.\n</think>\n\nParis.'},
        ROUNDS[1][0], {'role': 'assistant', 'content': '<think>\n想一想：柏林。\n</think>\n\n柏林。'},
    ],
    'think_field': [
        ROUNDS[0][0], {'role': 'assistant', 'content': 'Paris.', 'reasoning_content': 'Capital of France: Paris.'},
        ROUNDS[1][0], {'role': 'assistant', 'content': '柏林。', 'reasoning_content': '德国首都是柏林。'},
    ],
    'think_open': [
        SYSTEM, ROUNDS[0][0],
        {'role': 'assistant', 'content': '<think>\nEasy one.\n</think>\n\nParis.'}, ROUNDS[1][0],
    ],
}

WEATHER_TOOL = {
    'type': 'function',
    'function': {
        'name': 'get_weather',
        'description': 'Current weather in a city. 当前天气。',
        'parameters': {
            'type': 'object',
            'properties': {'city': {'type': 'string', 'description': 'City name'},
                           'unit': {'type': 'string', 'enum': ['celsius', 'fahrenheit']}},
            'required': ['city'],
        },
    },
}
TIME_TOOL = {
    'type': 'function',
    'function': {'name': 'get_time', 'description': 'Local time in a city.',
                 'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}},
}
TOOLS = [WEATHER_TOOL, TIME_TOOL]
ASK = {'role': 'user', 'content': "What's the weather in Paris? 巴黎天气如何？"}


def _call(arguments, call_id='call12345'):
    return {'id': call_id, 'type': 'function', 'function': {'name': 'get_weather', 'arguments': arguments}}


def tool_cases(string_arguments: bool, empty_content=''):
    """Tool conversations; DeepSeek's templates take JSON-string arguments and content None, the others dicts."""
    args = '{"city": "Paris"}' if string_arguments else {'city': 'Paris'}
    call_turn = {'role': 'assistant', 'content': empty_content, 'tool_calls': [_call(args)]}
    result = {'role': 'tool', 'content': '{"temperature": 21, "sky": "☀️"}', 'tool_call_id': 'call12345'}
    final = {'role': 'assistant', 'content': 'It is sunny and 21 °C in Paris.'}
    return {
        'tools_open': [ASK],
        'tools_system_open': [SYSTEM, ASK],
        'tools_trace': [ASK, call_turn, result, final],
        'tools_trace_open': [SYSTEM, ASK, call_turn, result],
    }


def two_call_cases(string_arguments: bool, empty_content=''):
    args = '{"city": "Paris"}' if string_arguments else {'city': 'Paris'}
    second = {'id': 'call67890', 'type': 'function',
              'function': {'name': 'get_time', 'arguments': '{"city": "Paris"}' if string_arguments else {'city': 'Paris'}}}
    call_turn = {'role': 'assistant', 'content': empty_content, 'tool_calls': [_call(args), second]}
    results = [{'role': 'tool', 'content': '{"temperature": 21}', 'tool_call_id': 'call12345'},
               {'role': 'tool', 'content': '{"time": "14:05"}', 'tool_call_id': 'call67890'}]
    return {'tools_two_calls': [ASK, call_turn] + results + [{'role': 'assistant', 'content': '21 °C at 14:05.'}]}


def qwen3_tool_thinking_case():
    """Multi-step tool use: the answers after the last real user query keep their reasoning."""
    cases = tool_cases(False)
    trace = copy.deepcopy(cases['tools_trace'])
    trace[1]['reasoning_content'] = 'I should call get_weather.'
    trace[3]['reasoning_content'] = 'The tool says 21.'
    return {'tools_trace_thinking': trace}
