"""Request validation and the OpenAI JSON shapes of responses and chunks."""
import json

import pytest

from swift.infer.protocol import (ChatCompletionResponse, ChatCompletionStreamResponse, ChatMessage, Choice,
                                  ChoiceLogprobs, DeltaMessage, InferError, LogprobEntry, RequestConfig, StreamChoice,
                                  TopLogprob, Usage)


@pytest.mark.parametrize('field, value', [('max_tokens', 0), ('temperature', -1), ('top_p', 1.5), ('top_k', -2),
                                          ('repetition_penalty', 0), ('presence_penalty', 3), ('frequency_penalty', -3),
                                          ('n', 0), ('top_logprobs', 21), ('seed', 1.5)])
def test_out_of_range_fields_are_named(field, value):
    with pytest.raises(InferError, match=field):
        RequestConfig(**{field: value}).validate()


def test_top_logprobs_needs_logprobs_and_stop_accepts_a_string():
    with pytest.raises(InferError, match='logprobs=true'):
        RequestConfig(top_logprobs=2).validate()
    assert RequestConfig(stop='END').stop_list == ['END']
    assert RequestConfig(stop=['a', '', 'b']).stop_list == ['a', 'b']


def test_response_json_is_openai_shaped():
    entry = LogprobEntry('Hi', -0.1, [72, 105], [TopLogprob('Hi', -0.1, [72, 105])], token_id=5)
    response = ChatCompletionResponse('m', [Choice(0, ChatMessage('assistant', 'Hi'), 'stop',
                                                   ChoiceLogprobs([entry]))], Usage(3, 1))
    data = json.loads(json.dumps(response.to_dict()))
    assert data['object'] == 'chat.completion' and data['id'].startswith('chatcmpl-')
    assert data['usage'] == {'prompt_tokens': 3, 'completion_tokens': 1, 'total_tokens': 4}
    assert data['choices'][0]['logprobs']['content'][0] == {
        'token': 'Hi', 'logprob': -0.1, 'bytes': [72, 105],
        'top_logprobs': [{'token': 'Hi', 'logprob': -0.1, 'bytes': [72, 105]}]}
    chunk = ChatCompletionStreamResponse('m', [StreamChoice(0, DeltaMessage(content='x'))]).to_dict()
    assert chunk['object'] == 'chat.completion.chunk' and chunk['choices'][0]['delta'] == {'content': 'x'}
    assert chunk['usage'] is None and chunk['choices'][0]['finish_reason'] is None
