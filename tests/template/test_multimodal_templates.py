"""Multimodal templates render what the official Jinja renders, character for character, and encode media.

The official SmolVLM template reads content-part lists (string content renders no text), so the conversations
are given as parts; ours must give the same text from the parts and from the equivalent `<image>`-tagged strings.
"""
import pytest

from swift.template import get_template
from swift.template.official import MULTIMODAL_REFERENCES

from tests.conftest import SHARED

MULTIMODAL_DIR = SHARED / 'data' / 'chat_templates_multimodal'
IMAGE = {'type': 'image'}


def _text(text):
    return {'type': 'text', 'text': text}


CONVERSATIONS = {
    'image_first': [{'role': 'user', 'content': [IMAGE, _text('What colour is the shape?')]},
                    {'role': 'assistant', 'content': [_text('red')]}],
    'text_first': [{'role': 'user', 'content': [_text('Look: '), IMAGE, _text(' which shape?')]},
                   {'role': 'assistant', 'content': [_text('A circle.')]}],
    'two_images_multi_turn': [
        {'role': 'system', 'content': [_text('You answer briefly.')]},
        {'role': 'user', 'content': [IMAGE, IMAGE, _text('Same colour?')]},
        {'role': 'assistant', 'content': [_text('No.')]},
        {'role': 'user', 'content': [_text('And the shapes?')]},
        {'role': 'assistant', 'content': [_text('Both squares.')]}],
    'open': [{'role': 'user', 'content': [IMAGE, _text('Describe it.')]}],
}


def _tagged(messages):
    return [{'role': m['role'], 'content': ''.join('<image>' if p['type'] == 'image' else p['text']
                                                   for p in m['content'])} for m in messages]


def _official(file, messages, add_generation_prompt):
    from transformers.utils.chat_template_utils import render_jinja_template
    chat_template = (MULTIMODAL_DIR / file).read_text(encoding='utf-8')
    rendered, _ = render_jinja_template([messages], chat_template=chat_template,
                                        add_generation_prompt=add_generation_prompt)
    return rendered[0]


@pytest.mark.parametrize('name, file', [(n, f) for n, files in MULTIMODAL_REFERENCES.items() for f in files])
@pytest.mark.parametrize('case', sorted(CONVERSATIONS))
@pytest.mark.parametrize('generation', [False, True])
def test_equals_the_official_template(name, file, case, generation):
    if not (MULTIMODAL_DIR / file).is_file():
        pytest.skip(f'{file} is not in ../shared')
    messages = CONVERSATIONS[case]
    if not generation and messages[-1]['role'] != 'assistant':
        generation = True
    expected = _official(file, messages, generation)
    template = get_template(name)
    assert template.render(messages, add_generation_prompt=generation) == expected
    assert template.render(_tagged(messages), add_generation_prompt=generation) == expected


def test_smolvlm_renders_the_known_string():
    text = get_template('smolvlm').render(_tagged(CONVERSATIONS['image_first']))
    assert text == '<|im_start|>User:<image>What colour is the shape?<end_of_utterance>\nAssistant: red<end_of_utterance>\n'


def test_a_family_without_video_refuses_video_parts():
    with pytest.raises(Exception, match='takes images only, not videos'):
        get_template('idefics3').render([{'role': 'user', 'content': [{'type': 'video'}, _text('?')]}])
