"""What the chat pages talk to: a swift deploy server through the openai client streams the same greedy answer
the engine gives directly; the chat history becomes the request's messages."""
import pytest

from swift.infer.protocol import InferRequest, RequestConfig
from swift.ui.chat import ServerChat, history_messages
from tests.infer.server.conftest import running_server


@pytest.fixture(scope='module')
def tiny_engine(tiny_model_dir):
    from swift.infer.transformers_engine import TransformersEngine
    engine = TransformersEngine(str(tiny_model_dir), template='smollm2', max_batch_size=4)
    yield engine
    engine.close()


def test_history_becomes_messages():
    history = [{'role': 'user', 'content': [{'type': 'text', 'text': 'hi'}]}, {'role': 'assistant', 'content': 'yo'}]
    assert history_messages('be brief', history, 'and?') == [
        {'role': 'system', 'content': 'be brief'}, {'role': 'user', 'content': 'hi'},
        {'role': 'assistant', 'content': 'yo'}, {'role': 'user', 'content': 'and?'}]
    assert history_messages('  ', [], 'q') == [{'role': 'user', 'content': 'q'}]


def test_server_chat_streams_the_engines_greedy_answer(tiny_engine):
    messages = [{'role': 'user', 'content': 'What is the capital of France?'}]
    expected = tiny_engine.infer([InferRequest(messages)], RequestConfig(max_tokens=12, temperature=0))[0]
    expected = expected.choices[0].message.content
    with running_server(tiny_engine, served_model_name='tiny') as server:
        chat = ServerChat(server.url + '/v1', None, None)
        assert chat.model == 'tiny'  # the served model, asked from /v1/models
        settings = {'max_new_tokens': 12, 'temperature': 0.0, 'top_p': 1.0, 'top_k': 0, 'repetition_penalty': 1.0}
        growing = list(chat.stream(messages, settings))
        chat.close()
    assert growing and growing[-1] == expected
    assert all(later.startswith(earlier) for earlier, later in zip(growing, growing[1:]))
