"""Per-row format detection and conversion to the standard row (table-driven)."""
import json

import pytest

from swift.dataset import RowError, standardize_row
from swift.dataset.formats import MAX_TEXT_CHARS

U, A, S, T = 'user', 'assistant', 'system', 'tool'


def m(role, content, **extra):
    return {'role': role, 'content': content, **extra}


CONVERSIONS = [
    ('openai messages', {
        'messages': [m(S, 'be brief'), m(U, 'hi'), m(A, 'hello')]
    }, 'messages', {
        'messages': [m(S, 'be brief'), m(U, 'hi'), m(A, 'hello')]
    }),
    ('sharegpt', {
        'conversations': [{
            'from': 'system',
            'value': 'sys'
        }, {
            'from': 'human',
            'value': 'q1'
        }, {
            'from': 'gpt',
            'value': 'a1'
        }, {
            'from': 'human',
            'value': 'q2'
        }, {
            'from': 'gpt',
            'value': 'a2'
        }]
    }, 'sharegpt', {
        'messages': [m(S, 'sys'), m(U, 'q1'), m(A, 'a1'), m(U, 'q2'), m(A, 'a2')]
    }),
    ('sharegpt tools', {
        'conversations': [{
            'from': 'human',
            'value': 'weather in Paris?'
        }, {
            'from': 'function_call',
            'value': '{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}'
        }, {
            'from': 'observation',
            'value': '{"temp": 20}'
        }, {
            'from': 'gpt',
            'value': 'It is 20 degrees.'
        }],
        'tools': '[{"name": "get_weather", "parameters": {}}]'
    }, 'sharegpt', {
        'messages': [
            m(U, 'weather in Paris?'),
            m(A, '', tool_calls=[{
                'type': 'function',
                'function': {
                    'name': 'get_weather',
                    'arguments': {
                        'city': 'Paris'
                    }
                }
            }]),
            m(T, '{"temp": 20}'),
            m(A, 'It is 20 degrees.')
        ],
        'tools': [{
            'name': 'get_weather',
            'parameters': {}
        }]
    }),
    ('alpaca with input, system, history', {
        'instruction': 'Translate',
        'input': 'bonjour',
        'output': 'hello',
        'system': 'You translate.',
        'history': [['hi', 'hey']]
    }, 'alpaca', {
        'messages': [m(S, 'You translate.'), m(U, 'hi'), m(A, 'hey'), m(U, 'Translate\nbonjour'), m(A, 'hello')]
    }),
    ('alpaca empty input', {
        'instruction': 'Say hi',
        'input': '',
        'output': 'hi'
    }, 'alpaca', {
        'messages': [m(U, 'Say hi'), m(A, 'hi')]
    }),
    ('query/response/history/system', {
        'query': 'q2',
        'response': 'a2',
        'history': [['q1', 'a1']],
        'system': 'sys'
    }, 'query_response', {
        'messages': [m(S, 'sys'), m(U, 'q1'), m(A, 'a1'), m(U, 'q2'), m(A, 'a2')]
    }),
    ('preference strings', {
        'prompt': 'q',
        'chosen': 'good',
        'rejected': 'bad'
    }, 'preference', {
        'messages': [m(U, 'q'), m(A, 'good')],
        'rejected_response': 'bad'
    }),
    ('preference message lists (implicit prompt)', {
        'chosen': [m(U, 'q'), m(A, 'good')],
        'rejected': [m(U, 'q'), m(A, 'bad')]
    }, 'preference', {
        'messages': [m(U, 'q'), m(A, 'good')],
        'rejected_response': 'bad'
    }),
    ('preference with different rejected history', {
        'chosen': [m(U, 'q'), m(A, 'good')],
        'rejected': [m(U, 'other q'), m(A, 'bad')]
    }, 'preference', {
        'messages': [m(U, 'q'), m(A, 'good')],
        'rejected_messages': [m(U, 'other q'), m(A, 'bad')]
    }),
    ('sharegpt ranking (LLaMA-Factory)', {
        'conversations': [{
            'from': 'human',
            'value': 'q'
        }],
        'chosen': {
            'from': 'gpt',
            'value': 'good'
        },
        'rejected': {
            'from': 'gpt',
            'value': 'bad'
        }
    }, 'sharegpt', {
        'messages': [m(U, 'q'), m(A, 'good')],
        'rejected_response': 'bad'
    }),
    ('hh-rlhf transcripts', {
        'chosen': '\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how?\n\nAssistant: fine',
        'rejected': '\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how?\n\nAssistant: go away'
    }, 'hh_rlhf', {
        'messages': [m(U, 'hi'), m(A, 'hello'), m(U, 'how?'), m(A, 'fine')],
        'rejected_response': 'go away'
    }),
    ('kto prompt/completion/label', {
        'prompt': 'q',
        'completion': 'a',
        'label': 'false'
    }, 'prompt_completion', {
        'messages': [m(U, 'q'), m(A, 'a')],
        'label': False
    }),
    ('kto query/response/label', {
        'query': 'q',
        'response': 'a',
        'label': 1
    }, 'query_response', {
        'messages': [m(U, 'q'), m(A, 'a')],
        'label': True
    }),
    ('pretraining text', {
        'text': 'Once upon a time.'
    }, 'text', {
        'messages': [m(A, 'Once upon a time.')]
    }),
    ('media and extra columns carried through', {
        'query': '<image>What is this?',
        'response': 'A cat.',
        'images': 'cat.png',
        'videos': ['a.mp4'],
        'solution': '42',
        'id': 7
    }, 'query_response', {
        'messages': [m(U, '<image>What is this?'), m(A, 'A cat.')],
        'images': ['cat.png'],
        'videos': ['a.mp4'],
        'solution': '42',
        'id': 7
    }),
    ('JSON-encoded messages (a CSV cell)', {
        'messages': json.dumps([m(U, 'q'), m(A, 'a')])
    }, 'messages', {
        'messages': [m(U, 'q'), m(A, 'a')]
    }),
    ('bracketed plain-text prompt stays text', {
        'prompt': '[1, 2, 3] sorted descending?',
        'chosen': '[3, 2, 1]',
        'rejected': '[1, 2, 3]'
    }, 'preference', {
        'messages': [m(U, '[1, 2, 3] sorted descending?'), m(A, '[3, 2, 1]')],
        'rejected_response': '[1, 2, 3]'
    }),
    ('None fields are absent (arrow)', {
        'instruction': 'q',
        'input': None,
        'output': 'a',
        'system': None
    }, 'alpaca', {
        'messages': [m(U, 'q'), m(A, 'a')]
    }),
]


@pytest.mark.parametrize('row, expected_format, expected', [c[1:] for c in CONVERSIONS], ids=[c[0] for c in CONVERSIONS])
def test_format_converts(row, expected_format, expected):
    name, standard = standardize_row(row)
    assert name == expected_format
    assert standard == expected


def test_columns_are_mapped_first():
    name, standard = standardize_row({'question': 'q', 'answer': 'a'}, columns={'question': 'query', 'answer': 'response'})
    assert name == 'query_response'
    assert standard['messages'] == [m(U, 'q'), m(A, 'a')]


BAD_ROWS = [
    ('unknown format with a hint', {'question': 'q', 'answer': 'a'}, r'unknown format.*"question": "query"'),
    ('empty assistant', {'instruction': 'q', 'output': '  '}, r'empty assistant turn'),
    ('wrong role order', {'messages': [m(U, 'a'), m(U, 'b'), m(A, 'c')]}, r'messages\[1\]: two user turns'),
    ('starts with assistant', {'messages': [m(A, 'a'), m(U, 'b'), m(A, 'c')]}, r'must start with a user turn'),
    ('ends with user', {'messages': [m(U, 'a'), m(A, 'b'), m(U, 'c')]}, r'must end with an assistant turn'),
    ('late system', {'messages': [m(U, 'a'), m(S, 'b'), m(A, 'c')]}, r'system message may only come first'),
    ('unknown role', {'messages': [m('bot', 'a')]}, r"unknown role 'bot'"),
    ('missing content', {'messages': [{'role': 'user'}, m(A, 'x')]}, r'messages\[0\] has no "content"'),
    ('sharegpt bad speaker', {'conversations': [{'from': 'alien', 'value': 'x'}]}, r"unknown speaker 'alien'"),
    ('preference missing rejected', {'prompt': 'q', 'chosen': 'a'}, r"'rejected' is missing"),
    ('rejected equals chosen', {'prompt': 'q', 'chosen': 'a', 'rejected': 'a'}, r'equals the chosen'),
    ('bad label', {'query': 'q', 'response': 'a', 'label': 'maybe'}, r"'label' must be true or false"),
    ('history not pairs', {'query': 'q', 'response': 'a', 'history': [['x']]}, r"history\[0\]' must be a \[query, response\]"),
    ('messages broken JSON string', {'messages': '[{"role": '}, r"'messages' is a string that is not valid JSON"),
    ('tool result without a call', {'messages': [m(U, 'q'), m(A, 'a'), m(T, 'r'), m(A, 'b')]}, r'without tool_calls'),
    ('lone surrogate', {'messages': [m(U, 'hi \ud800'), m(A, 'a')]},
     r"'messages\[0\].content' holds a lone UTF-16 surrogate \(\\ud800\) at character 3"),
    ('lone surrogate in a side column', {'query': 'q', 'response': 'a', 'note': ['x', '\udfff']},
     r"'note\[1\]' holds a lone UTF-16 surrogate"),
    ('lone surrogate in a key', {'query': 'q', 'response': 'a', '\ud800': 1}, r"'\\ud800' is a key that holds"),
    ('text too long to tokenize', {'text': 'x' * (MAX_TEXT_CHARS + 1)},
     r"'text' is 4,194,305 characters long, more than the limit of 4,194,304 .*split it into several rows"),
    ('nested too deeply', {'query': 'q', 'response': 'a', 'extra': json.loads('[' * 100 + ']' * 100)},
     r"'extra' is nested more than 64 levels deep"),
    ('messages JSON nested past the recursion limit', {'messages': '[' * 100_000 + ']' * 100_000},
     r"'messages' is a string that is not valid JSON"),
]


@pytest.mark.parametrize('row, reason', [c[1:] for c in BAD_ROWS], ids=[c[0] for c in BAD_ROWS])
def test_bad_rows_say_why(row, reason):
    with pytest.raises(RowError, match=reason):
        standardize_row(row)


def test_prompt_only_rows_when_no_response_required():
    """GRPO / inference prompts end with a user turn and keep their extra columns."""
    name, standard = standardize_row({'query': 'What is 6*7?', 'solution': '42'}, require_response=False)
    assert standard == {'messages': [m(U, 'What is 6*7?')], 'solution': '42'}
    with pytest.raises(RowError, match='must end with an assistant turn'):
        standardize_row({'query': 'What is 6*7?'})
