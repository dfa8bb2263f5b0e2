"""Streaming text: whole characters only (Chinese, emoji), stop strings never shown, stream == infer."""
import pytest

from swift.infer import InferRequest, RequestConfig
from swift.infer.detokenizer import IncrementalDecoder, StopStringMatcher, cut_at_stop
from swift.infer.transformers_engine import PtEngine
from tests.infer.scripted_model import ScriptedLM

MESSAGES = [{'role': 'user', 'content': 'Say something.'}]


def scripted_engine(tokenizer, text: str) -> PtEngine:
    from swift.template import get_template
    template = get_template('smollm2', tokenizer=tokenizer)
    prompt_length = len(template.encode({'messages': MESSAGES}, for_inference=True)['input_ids'])
    script = tokenizer.encode(text, add_special_tokens=False)
    model = ScriptedLM(script, len(tokenizer), tokenizer.eos_token_id, prompt_length)
    return PtEngine(model, tokenizer, template=template)


@pytest.mark.parametrize('text', ['你好，世界！今天天气很好。', 'Rocket 🚀 to the moon 🌕 and back 👩‍🚀!',
                                  '混合 text 😀 与 emoji ✨ café'])
def test_stream_never_splits_a_multibyte_character(smollm_tokenizer, text):
    ids = smollm_tokenizer.encode(text, add_special_tokens=False)
    # the script really does contain tokens that end inside a character
    partial = [smollm_tokenizer.decode(ids[:i]) for i in range(1, len(ids))]
    assert any(p.endswith('\ufffd') for p in partial)
    with scripted_engine(smollm_tokenizer, text) as engine:
        deltas = list(engine.stream(InferRequest(MESSAGES), RequestConfig(max_tokens=200)))
        assert ''.join(deltas) == text
        assert all('\ufffd' not in d for d in deltas)
        assert len(deltas) > 3  # it really streamed
        response = engine.infer(InferRequest(MESSAGES), RequestConfig(max_tokens=200))[0]
        assert response.choices[0].message.content == text
        assert response.choices[0].finish_reason == 'stop'
        assert response.usage.completion_tokens == len(ids) + 1  # the EOS counts, as in vLLM


def test_stop_string_across_tokens_is_never_streamed(smollm_tokenizer):
    text = '答案是42。<END>之后的文字 never shown'
    with scripted_engine(smollm_tokenizer, text) as engine:
        config = RequestConfig(max_tokens=200, stop=['<END>'])
        deltas = list(engine.stream(InferRequest(MESSAGES), config))
        assert ''.join(deltas) == '答案是42。'
        assert not any('<' in d for d in deltas)
        response = engine.infer(InferRequest(MESSAGES), config)[0]
        assert response.choices[0].message.content == '答案是42。'
        assert response.choices[0].finish_reason == 'stop'


def test_max_tokens_cuts_the_script(smollm_tokenizer):
    with scripted_engine(smollm_tokenizer, 'one two three four five six seven eight') as engine:
        response = engine.infer(InferRequest(MESSAGES), RequestConfig(max_tokens=3))[0]
        assert response.choices[0].finish_reason == 'length'
        assert response.usage.completion_tokens == 3
        assert response.choices[0].message.content == 'one two three'


def test_stream_chunks_are_openai_shaped(smollm_tokenizer):
    with scripted_engine(smollm_tokenizer, 'Hello there') as engine:
        chunks = [c.to_dict() for c in engine.infer_stream(InferRequest(MESSAGES), RequestConfig(max_tokens=10))]
    assert chunks[0]['choices'][0]['delta'] == {'role': 'assistant', 'content': ''}
    assert all(c['object'] == 'chat.completion.chunk' and c['id'] == chunks[0]['id'] for c in chunks)
    assert chunks[-2]['choices'][0]['finish_reason'] == 'stop'
    assert chunks[-1]['choices'] == [] and chunks[-1]['usage']['completion_tokens'] == 3
    assert ''.join(c['choices'][0]['delta'].get('content', '') for c in chunks[:-1]) == 'Hello there'


def test_incremental_decoder_handles_sentencepiece_spaces():
    """Decoding only a window must not lose a word's leading space (SentencePiece drops it at the start)."""

    class SentencePieceLike:
        pieces = {1: '▁Hello', 2: '▁wor', 3: 'ld', 4: '▁!'}

        def decode(self, ids, skip_special_tokens=True):
            return ''.join(self.pieces[i] for i in ids).replace('▁', ' ').lstrip(' ')

    decoder = IncrementalDecoder(SentencePieceLike())
    assert ''.join(decoder.push(t) for t in [1, 2, 3, 4]) == 'Hello world !'


def test_stop_matcher_holds_back_only_possible_stop_prefixes():
    matcher = StopStringMatcher(['STOP', 'xyz'])
    assert matcher.feed('abc S') == ('abc ', False)  # 'S' may begin STOP
    assert matcher.feed('T') == ('', False)
    assert matcher.feed('ART') == ('START', False)  # not STOP after all
    assert matcher.feed(' x') == (' ', False)
    assert matcher.feed('yzzz') == ('', True)
    assert matcher.text == 'abc START '
    assert cut_at_stop('a STOP b', ['STOP']) == ('a ', True)
    assert cut_at_stop('plain', ['STOP']) == ('plain', False)


def test_interactive_chat_streams_and_handles_commands(smollm_tokenizer):
    import io
    from swift.infer.chat import interactive_chat
    stdin = io.StringIO('Say something.\nclear\nmulti-line\nSay something.#\nexit\n')
    stdout = io.StringIO()
    with scripted_engine(smollm_tokenizer, '你好 🌍') as engine:
        interactive_chat(engine, RequestConfig(max_tokens=50), stdin, stdout)
    assert stdout.getvalue().count('>>> 你好 🌍\n') == 2


class PromptRecordingLM(ScriptedLM):
    """ScriptedLM that records each prompt it prefills and plays its script after any prompt length
    (requests must come one at a time, as in a terminal chat)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.prompts = []

    def forward(self, input_ids, position_ids=None, **kwargs):
        if position_ids is None:  # a prefill: the whole prompt of one request
            self.prompts.append(input_ids[0].tolist())
            self.prompt_length = input_ids.shape[1]
        return super().forward(input_ids, position_ids=position_ids, **kwargs)


def recording_engine(tokenizer, text: str):
    from swift.template import get_template
    template = get_template('smollm2', tokenizer=tokenizer)
    model = PromptRecordingLM(tokenizer.encode(text, add_special_tokens=False), len(tokenizer),
                              tokenizer.eos_token_id, 0)
    # no prefix cache: a later turn would reach the model as its new tokens only, and this checks whole prompts
    return PtEngine(model, tokenizer, template=template, prefix_cache_mb=0), model


def test_interactive_chat_sends_history_and_reset_system_replaces_the_system_prompt(smollm_tokenizer):
    import io
    from swift.infer.chat import interactive_chat
    reply = '好的 ok'
    stdin = io.StringIO('First question\nSecond question\nreset-system\nBe a pirate.\nThird question\n'
                        'clear\nFourth question\nexit\n')
    stdout = io.StringIO()
    engine, model = recording_engine(smollm_tokenizer, reply)
    with engine:
        interactive_chat(engine, RequestConfig(max_tokens=20), stdin, stdout, system='You are terse.')

    def render(messages):
        return engine.template.encode({'messages': messages}, for_inference=True)['input_ids']

    terse = {'role': 'system', 'content': 'You are terse.'}
    pirate = {'role': 'system', 'content': 'Be a pirate.'}
    first = [terse, {'role': 'user', 'content': 'First question'}]
    assert model.prompts == [
        render(first),
        # the second turn carries the first exchange, with the reply exactly as streamed
        render(first + [{'role': 'assistant', 'content': reply}, {'role': 'user', 'content': 'Second question'}]),
        # reset-system: the new system prompt, and the history starts over
        render([pirate, {'role': 'user', 'content': 'Third question'}]),
        # clear forgets the history but keeps the system prompt
        render([pirate, {'role': 'user', 'content': 'Fourth question'}]),
    ]
    second = smollm_tokenizer.decode(model.prompts[1])
    assert second.index('First question') < second.index(reply) < second.index('Second question')
    third = smollm_tokenizer.decode(model.prompts[2])
    assert 'Be a pirate.' in third and 'You are terse.' not in third and 'First question' not in third
    out = stdout.getvalue()
    assert out.count(f'>>> {reply}\n') == 4 and 'System: ' in out


def test_sync_infer_with_stream_returns_one_chunk_iterator_per_request(smollm_tokenizer):
    text = 'Hello 世界'
    with scripted_engine(smollm_tokenizer, text) as engine:
        streams = engine.infer([InferRequest(MESSAGES), InferRequest(MESSAGES)],
                               RequestConfig(max_tokens=20, stream=True))
        assert len(streams) == 2 and not isinstance(streams[0], list)
        # read the two streams in turn, a chunk at a time: each is its own request
        iterators, chunks = [iter(s) for s in streams], [[], []]
        while any(iterators):
            for i, iterator in enumerate(iterators):
                chunk = next(iterator, None) if iterator else None
                if chunk is None:
                    iterators[i] = None
                else:
                    chunks[i].append(chunk.to_dict())
    for request_chunks in chunks:
        assert request_chunks[0]['object'] == 'chat.completion.chunk'
        assert request_chunks[0]['choices'][0]['delta'] == {'role': 'assistant', 'content': ''}
        assert ''.join(c['choices'][0]['delta'].get('content') or '' for c in request_chunks[:-1]) == text
        assert request_chunks[-2]['choices'][0]['finish_reason'] == 'stop'
        assert request_chunks[-1]['choices'] == [] and request_chunks[-1]['usage']['completion_tokens'] > 0
    assert chunks[0][0]['id'] != chunks[1][0]['id']
