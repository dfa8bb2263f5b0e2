"""`swift infer --model M` terminal chat with media tags (`<image>path`, or the path asked for), on the tiny VLM."""
import io

import pytest
from PIL import Image

from swift.infer.transformers_engine import TransformersEngine
from swift.infer.chat import take_media
from swift.infer.main import infer_main
from swift.infer.protocol import InferRequest, RequestConfig


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp('chat-images')
    for colour in ('red', 'blue'):
        Image.new('RGB', (32, 32), colour).save(folder / f'{colour}.png')
    return folder


def test_take_media_inline_and_asked(images, tmp_path):
    red, blue = str(images / 'red.png'), str(images / 'blue.png')
    asked = io.StringIO(blue + '\n')
    prompts = io.StringIO()
    text, media = take_media(f'<image>{red} and <image>which colours?', asked, prompts)
    assert text == '<image>and <image>which colours?'
    assert media == {'images': [red, blue], 'videos': [], 'audios': []}
    assert prompts.getvalue() == 'Input an image path or URL <<< '
    text, media = take_media('<video>http://host/v.mp4 <audio>', io.StringIO('data:audio/wav;base64,AAAA\n'),
                             io.StringIO())
    assert text == '<video><audio>'
    assert media == {'images': [], 'videos': ['http://host/v.mp4'], 'audios': ['data:audio/wav;base64,AAAA']}


def test_terminal_chat_sends_the_images_to_the_model(tiny_vlm_dir, images, monkeypatch):
    import swift.infer.chat as chat
    sent, answer = [], chat._answer
    monkeypatch.setattr(chat, '_answer', lambda engine, request, *a: sent.append(request) or answer(engine, request, *a))
    red, blue = str(images / 'red.png'), str(images / 'blue.png')
    stdin = Terminal(f'<image>{red} What colour?\n'  # the path inline
                     '<image>And this one?\n' + blue + '\n'  # the path asked for
                     '<image>Broken?\n/no/such/file.png\n'  # an error is shown, the chat goes on
                     'exit\n')
    stdout = Terminal()
    result = infer_main(['--model', str(tiny_vlm_dir), '--max_new_tokens', '4', '--temperature', '0',
                         '--stream', 'false'], stdin=stdin, stdout=stdout)
    assert result.mode == 'chat' and result.answered == 2
    out = stdout.getvalue()
    assert out.count('Input an image path or URL <<< ') == 2
    assert '[error] ' in out and 'no/such/file.png' in out
    replies = [line.split('>>> ', 1)[1] for line in out.split('\n') if '>>> ' in line and '[error]' not in line]
    # the same greedy answers as the engine gives the same requests in-process: the images reached the model
    first = [{'role': 'user', 'content': '<image>What colour?'}]
    config = RequestConfig(max_tokens=4, temperature=0)
    with TransformersEngine(str(tiny_vlm_dir)) as engine:
        one = engine.infer([InferRequest(first, images=[red])], config)[0].choices[0].message.content
        second = first + [{'role': 'assistant', 'content': one}, {'role': 'user', 'content': '<image>And this one?'}]
        two = engine.infer([InferRequest(second, images=[red, blue])], config)[0].choices[0].message.content
    assert replies[:2] == [one, two]
    assert [r.images for r in sent] == [[red], [red, blue], [red, blue, '/no/such/file.png']]
    assert sent[1].messages[-1] == {'role': 'user', 'content': '<image>And this one?'}
