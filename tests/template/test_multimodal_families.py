"""The multimodal families' templates render what their official Jinja renders, character for character.

Official files: ../shared/data/chat_templates_multimodal (with index.json's special tokens) and the four vision
templates in ../shared/data/chat_templates. The official side gets content-part lists (as processors give them);
ours gets the same parts and, separately, the `<image>`-tagged strings dataset rows carry: both must be equal to it.
Phi-3-vision's official template takes strings only (the user writes `<|image_1|>\\n`), so it gets that text.
"""
import json

import jinja2
import pytest

from swift.template import get_template
from swift.template.official import VLM_REFERENCES

from tests.conftest import SHARED

DIRS = {'chat_templates_multimodal': SHARED / 'data' / 'chat_templates_multimodal',
        'chat_templates': SHARED / 'data' / 'chat_templates'}
IMAGE, VIDEO = {'type': 'image'}, {'type': 'video'}
TOKENS = ('bos_token', 'eos_token', 'pad_token', 'unk_token')


def _t(text):
    return {'type': 'text', 'text': text}


def _u(*parts):
    return {'role': 'user', 'content': list(parts)}


def _a(text):
    return {'role': 'assistant', 'content': [_t(text)]}


SYSTEM = {'role': 'system', 'content': [_t('You answer briefly.')]}
CONVERSATIONS = {
    'image_first': [_u(IMAGE, _t('What colour is the shape?')), _a('red')],
    'text_first': [_u(_t('Look: '), IMAGE, _t(' which shape?')), _a('A circle.')],
    'system_two_images': [SYSTEM, _u(IMAGE, IMAGE, _t('Same colour?')), _a('No.')],
    'images_in_two_turns': [_u(IMAGE, _t('What is it?')), _a('A square.'), _u(IMAGE, _t('And this one?')),
                            _a('A circle.')],
    'multi_turn_open': [SYSTEM, _u(IMAGE, _t('Describe it.')), _a('A red square.'), _u(_t('Bigger?'))],
    'text_only': [_u(_t('Hello there.')), _a('Hi.')],
    'open': [_u(IMAGE, _t('Describe it.'))],
}
VIDEO_CONVERSATIONS = {'video': [_u(VIDEO, _t('What happens?')), _a('It turns blue.')]}
VIDEO_FAMILIES = {'qwen2_vl', 'qwen2_5_vl', 'qwen3_vl', 'llava_onevision', 'internvl_hf'}

# (template, case) -> why that case is not compared (every other pair is).
SKIPPED = {
    ('llava1_5', 'text_first'): 'the official template adds a space after each text part; a tagged row has one',
}
# (file, case) -> the error the official template raises (ours must refuse too).
REFUSALS = {
    ('meta-llama__Llama-3.2-11B-Vision-Instruct.jinja', 'system_two_images'): 'incompatible with system messages',
    ('meta-llama__Llama-3.2-11B-Vision-Instruct.jinja', 'multi_turn_open'): 'incompatible with system messages',
}
STRING_ONLY = {'microsoft__Phi-3-vision-128k-instruct.jinja'}
DATED = {'meta-llama__Llama-3.2-11B-Vision-Instruct.jinja': {'date_string': '26 Jul 2024'}}


def _reference(path):
    folder, file = path.split('/')
    records = json.loads((DIRS[folder] / 'index.json').read_text())
    record = next(r for r in records if r['file'] == file)
    return (DIRS[folder] / file).read_text(encoding='utf-8'), {k: record[k] for k in TOKENS if record.get(k)}


def _tagged(messages, tag=lambda n: '<image>'):
    out, count = [], 0
    for m in messages:
        text = ''
        for p in m['content']:
            if p['type'] == 'text':
                text += p['text']
            else:
                count += 1
                text += tag(count) if p['type'] == 'image' else '<video>'
        out.append({'role': m['role'], 'content': text})
    return out


def _official(path, messages, generation, **kwargs):
    from transformers.utils.chat_template_utils import render_jinja_template
    chat_template, tokens = _reference(path)
    rendered, _ = render_jinja_template([messages], chat_template=chat_template, add_generation_prompt=generation,
                                        **tokens, **kwargs)
    return rendered[0]


def _cases():
    for name, files in VLM_REFERENCES.items():
        cases = {**CONVERSATIONS, **(VIDEO_CONVERSATIONS if name in VIDEO_FAMILIES else {})}
        for path in files:
            for case in sorted(cases):
                if (name, case) in SKIPPED:
                    continue
                for generation in (False, True):
                    if not generation and cases[case][-1]['role'] != 'assistant':
                        continue
                    yield pytest.param(name, path, cases[case], case, generation,
                                       id=f'{name}-{path.split("/")[1][:-6]}-{case}-gen{int(generation)}')


@pytest.mark.parametrize('name,path,messages,case,generation', list(_cases()))
def test_equals_the_official_template(name, path, messages, case, generation):
    file = path.split('/')[1]
    kwargs = DATED.get(file, {})
    official_messages = _tagged(messages, lambda n: f'<|image_{n}|>\n') if file in STRING_ONLY else messages
    template = get_template(name)
    refusal = REFUSALS.get((file, case))
    if refusal:
        with pytest.raises(jinja2.TemplateError, match=refusal):
            _official(path, official_messages, generation, **kwargs)
        with pytest.raises(Exception, match=refusal):
            template.render(_tagged(messages), add_generation_prompt=generation, **kwargs)
        return
    expected = _official(path, official_messages, generation, **kwargs)
    assert template.render(_tagged(messages), add_generation_prompt=generation, **kwargs) == expected
    if file not in STRING_ONLY:
        assert template.render(messages, add_generation_prompt=generation, **kwargs) == expected


def test_every_multimodal_official_file_is_compared():
    referenced = {p for files in VLM_REFERENCES.values() for p in files}
    files = {f'chat_templates_multimodal/{r["file"]}' for r in json.loads(
        (DIRS['chat_templates_multimodal'] / 'index.json').read_text())}
    smolvlm = {'chat_templates_multimodal/HuggingFaceTB__SmolVLM-Instruct.jinja',
               'chat_templates_multimodal/HuggingFaceTB__SmolVLM2-2.2B-Instruct.jinja'}  # helper-mm's test
    assert files - smolvlm <= referenced


def test_qwen2_vl_writes_vision_markers_in_place():
    text = get_template('qwen2_vl').render([{'role': 'user', 'content': 'Look <image> here'}])
    assert text == ('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n'
                    'Look <|vision_start|><|image_pad|><|vision_end|> here<|im_end|>\n')


def test_llava_moves_images_before_the_text_as_the_official_template_does():
    text = get_template('llava_onevision').render([{'role': 'user', 'content': 'Look <image> here'}], True)
    assert text == '<|im_start|>user\n<image>\nLook  here<|im_end|>\n<|im_start|>assistant\n'


def test_families_refuse_media_they_do_not_take():
    with pytest.raises(Exception, match='takes images only, not audios'):
        get_template('llava1_5').render([{'role': 'user', 'content': [{'type': 'input_audio'}, _t('?')]}])
