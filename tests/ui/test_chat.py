"""What the chat pages talk to: a swift deploy server through the openai client streams the same greedy answer
the engine gives directly; the chat history becomes the request's messages."""
import pytest

from swift.infer.protocol import InferRequest, RequestConfig
from swift.ui.chat import LocalChat, ServerChat, chat_request, history_messages, openai_messages
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


def test_images_become_tags_and_openai_parts(tmp_path):
    image = tmp_path / 'a.png'
    image.write_bytes(b'\x89PNG fake')
    # Gradio 6 gives a turn with an image as a file part then a text part
    history = [{'role': 'user', 'content': [{'type': 'file', 'file': {'path': str(image)}}, {'type': 'text', 'text': 'what?'}]},
               {'role': 'assistant', 'content': [{'type': 'text', 'text': 'red'}]}]
    messages, images = chat_request(None, history, 'and this?', str(image))
    assert messages == [{'role': 'user', 'content': '<image>what?'}, {'role': 'assistant', 'content': 'red'},
                        {'role': 'user', 'content': '<image>and this?'}]
    assert images == [str(image), str(image)]
    parts = openai_messages(messages, images)[2]['content']
    assert parts[0]['image_url']['url'] == 'data:image/png;base64,iVBORyBmYWtl' and parts[1] == {'type': 'text', 'text': 'and this?'}


def test_local_chat_hands_the_images_to_the_engine(tiny_vlm_dir, tiny_model_dir, tmp_path):
    """The engine gets the page's images: a missing file is its error, a text model refuses any image."""
    settings = {'max_new_tokens': 2, 'temperature': 0.0, 'top_p': 1.0, 'top_k': 0, 'repetition_penalty': 1.0}
    vlm = LocalChat.load(['--model', str(tiny_vlm_dir)])
    try:
        assert vlm.multimodal
        messages, images = chat_request(None, [], 'colour?', str(tmp_path / 'gone.png'))
        with pytest.raises(Exception, match='gone.png'):
            list(vlm.stream(messages, settings, images))
    finally:
        vlm.close()
    text = LocalChat.load(['--model', str(tiny_model_dir), '--template', 'smollm2'])
    try:
        assert not text.multimodal
        with pytest.raises(Exception, match='text-only'):
            list(text.stream(messages, settings, [str(tmp_path / 'gone.png')]))
    finally:
        text.close()
