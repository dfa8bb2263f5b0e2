"""Phi-4-multimodal's template renders what the official processor chat template renders, character for character
(the template of the transformers-format checkpoint, tests/helpers/tiny_phi4mm.py says where it comes from), given
content-part lists and the `<image>` / `<audio>`-tagged strings rows carry. (Phi-3-vision: test_multimodal_families.)
"""
import pytest

from swift.template import get_template

from tests.helpers.tiny_phi4mm import CHAT_TEMPLATE

IMAGE, AUDIO = {'type': 'image'}, {'type': 'audio'}
EOS = '<|endoftext|>'  # Phi-4-multimodal's eos_token


def _t(text):
    return {'type': 'text', 'text': text}


CASES = {
    'image_first': [{'role': 'user', 'content': [IMAGE, _t('What colour is it?')]},
                    {'role': 'assistant', 'content': [_t('red')]}],
    'audio_and_image': [{'role': 'system', 'content': [_t('Answer briefly.')]},
                        {'role': 'user', 'content': [_t('Listen '), AUDIO, _t(' and look '), IMAGE]},
                        {'role': 'assistant', 'content': [_t('A bell, a square.')]}],
    'two_turns_open': [{'role': 'user', 'content': [IMAGE, IMAGE, _t('Same?')]},
                       {'role': 'assistant', 'content': [_t('No.')]}, {'role': 'user', 'content': [_t('Why?')]}],
    'text_only': [{'role': 'user', 'content': [_t('Hello.')]}, {'role': 'assistant', 'content': [_t('Hi.')]}],
}


def _tagged(messages):
    tags = {'image': '<image>', 'audio': '<audio>'}
    return [{'role': m['role'], 'content': ''.join(p['text'] if p['type'] == 'text' else tags[p['type']]
                                                   for p in m['content'])} for m in messages]


@pytest.mark.parametrize('case,generation', [(case, generation) for case in sorted(CASES) for generation in (0, 1)
                                             if generation or CASES[case][-1]['role'] == 'assistant'])
def test_phi4_multimodal_equals_the_official_template(case, generation):
    from transformers.utils.chat_template_utils import render_jinja_template
    messages = CASES[case]
    rendered, _ = render_jinja_template([messages], chat_template=CHAT_TEMPLATE, add_generation_prompt=generation,
                                        eos_token=EOS)
    template = get_template('phi4_multimodal')
    assert template.render(messages, add_generation_prompt=generation) == rendered[0]
    assert template.render(_tagged(messages), add_generation_prompt=generation) == rendered[0]


def test_phi4_multimodal_refuses_video():
    with pytest.raises(Exception, match='not videos'):
        get_template('phi4_multimodal').render([{'role': 'user', 'content': [{'type': 'video'}, _t('?')]}])
