"""Encoding rows with images through a multimodal template and the model's real processor (tiny SmolVLM)."""
import pytest
from PIL import Image

from swift.dataset import encode_rows
from swift.model.loader import load_tokenizer
from swift.template import get_template
from swift.utils import SwiftError


@pytest.fixture(scope='module')
def template(tiny_vlm_dir):
    tokenizer = load_tokenizer(str(tiny_vlm_dir))
    return get_template(tokenizer.model_info.template, tokenizer=tokenizer)


def _row(colour='red', question='<image>What colour?', answer='red', images=1):
    return {'messages': [{'role': 'user', 'content': question}, {'role': 'assistant', 'content': answer}],
            'images': [Image.new('RGB', (20 + i, 20), colour) for i in range(images)]}


def test_placeholders_expand_to_the_processors_tokens_and_are_never_trained(template):
    encoded = template.encode(_row(images=2, question='<image>left <image>right: same colour?'))
    tokens = template.tokenizer.convert_ids_to_tokens(encoded['input_ids'])
    # the processor's own expansion (tiny model: 4 image tokens per image)
    expansion = ['<fake_token_around_image>', '<global-img>'] + ['<image>'] * 4 + ['<fake_token_around_image>']
    assert encoded['media_spans'] == [[3, 10], [12, 19]]  # 'left ' is two tokens
    for start, end in encoded['media_spans']:
        assert tokens[start:end] == expansion
        assert set(encoded['labels'][start:end]) == {-100}
    trained = [t for t, label in zip(tokens, encoded['labels']) if label != -100]
    assert trained == ['Ġred', '<end_of_utterance>', 'Ċ']
    assert tuple(encoded['pixel_values'].shape) == (1, 2, 3, 32, 32)
    assert 'rows' not in encoded and 'cols' not in encoded  # processor outputs the model does not take


def test_an_image_tag_in_an_answer_is_masked_too(template):
    encoded = template.encode({'messages': [{'role': 'user', 'content': 'Draw it'},
                                            {'role': 'assistant', 'content': 'Here: <image> done'}],
                               'images': [Image.new('RGB', (8, 8))]})
    start, end = encoded['media_spans'][0]
    assert set(encoded['labels'][start:end]) == {-100}
    assert any(label != -100 for label in encoded['labels'][end:])


def test_missing_tags_at_inference_go_before_the_first_user_turn(template):
    encoded = template.encode({'messages': [{'role': 'user', 'content': 'What colour?'}],
                               'images': [Image.new('RGB', (8, 8))]}, for_inference=True)
    text = template.tokenizer.decode(encoded['input_ids'])
    assert text.startswith('<|im_start|>User:<fake_token_around_image><global-img><image>')
    assert text.endswith('What colour?<end_of_utterance>\nAssistant:')
    assert 'labels' not in encoded


def test_count_mismatch_and_unreadable_images_are_errors(template):
    with pytest.raises(SwiftError, match='more <image> tags than the row has images'):
        template.encode(_row(question='<image><image>?'))
    with pytest.raises(SwiftError, match=r'images\[0\].*not a readable image'):
        template.encode({**_row(), 'images': [b'not an image']})
    with pytest.raises(SwiftError, match='takes images, videos only, not audios'):  # SmolVLM: no audio
        template.encode({**_row(), 'audios': ['a.wav']})


@pytest.mark.parametrize('side, question', [('left', '<image>' + 'word ' * 30 + '?'),
                                            ('right', 'word ' * 30 + '<image>?')])
def test_rows_are_never_truncated_inside_media_tokens(template, side, question):
    rows = [_row(question=question), _row()]  # the image's tokens sit on the side truncation would cut
    assert len(template.encode(rows[0])['input_ids']) > 40 > len(template.encode(rows[1])['input_ids'])
    encoded, report = encode_rows(rows, template, max_length=40, truncation_strategy=side, log=False)
    assert report.failed == 1 and 'would cut media tokens' in report.failures[0][1]
    assert len(encoded) == 1
    with pytest.raises(SwiftError, match='would cut media tokens'):
        encode_rows(rows, template, max_length=40, truncation_strategy=side, strict=True, log=False)


def test_a_mixed_batch_pads_missing_images_with_zeros(template):
    with_image = template.encode(_row(images=2, question='<image><image>Same?'))
    text_only = template.encode({'messages': [{'role': 'user', 'content': 'Hi'},
                                              {'role': 'assistant', 'content': 'Hello'}]})
    batch = template.collate_media([with_image, text_only, template.encode(_row())])
    assert tuple(batch['pixel_values'].shape) == (3, 2, 3, 32, 32)
    assert batch['pixel_values'][1].abs().sum() == 0 and batch['pixel_values'][2, 1].abs().sum() == 0
    assert template.collate_media([text_only]) == {}


def test_media_controls_the_family_cannot_use_are_refused(tiny_vlm_dir, monkeypatch):
    tokenizer = load_tokenizer(str(tiny_vlm_dir))
    monkeypatch.setenv('MAX_PIXELS', '1003520')
    with pytest.raises(SwiftError, match=r"'smolvlm' cannot use the media control\(s\) MAX_PIXELS"):
        get_template('smolvlm', tokenizer=tokenizer)
    monkeypatch.delenv('MAX_PIXELS')
    with pytest.raises(SwiftError, match='SAMPLING_RATE'):  # SmolVLM takes no audio
        get_template('smolvlm', tokenizer=tokenizer, media_kwargs={'sampling_rate': 16000})
    # FPS drives the video decoder: a family that takes videos accepts it, and it is no processor keyword
    template = get_template('smolvlm', tokenizer=tokenizer, media_kwargs={'fps': 2})
    assert template.decode_kwargs == {'fps': 2.0} and template.media_kwargs == {}
    with pytest.raises(SwiftError, match="unknown key 'unrelated'"):  # not a media control: refused too
        get_template('smolvlm', tokenizer=tokenizer, media_kwargs={'unrelated': 1})


def test_media_controls_reach_a_family_that_uses_them(monkeypatch):
    from swift.template.media_options import processor_kwargs
    monkeypatch.setenv('MAX_PIXELS', '50176')
    assert processor_kwargs('x', {'max_pixels': 'max_pixels', 'min_pixels': 'min_pixels'},
                            {'min_pixels': 3136}) == {'max_pixels': 50176, 'min_pixels': 3136}
    monkeypatch.setenv('FPS', 'fast')
    with pytest.raises(SwiftError, match="FPS='fast' is not a float"):
        processor_kwargs('x', {'fps': 'fps'})


def test_a_grounding_row_trains_on_the_box_text_of_its_family(template):
    row = {'messages': [{'role': 'user', 'content': '<image>Where is the <ref-object>?'},
                        {'role': 'assistant', 'content': '<bbox>'}],
           'images': [Image.new('RGB', (40, 20))], 'objects': {'ref': ['dot'], 'bbox': [[4, 2, 20, 10]]}}
    encoded = template.encode(row)
    trained = [t for t, label in zip(encoded['input_ids'], encoded['labels']) if label != -100]
    assert template.tokenizer.decode(trained) == ' [(100,100),(500,500)]<end_of_utterance>\n'
    assert 'Where is the dot?' in template.tokenizer.decode(encoded['input_ids'])
    # inference: the answer is cut off, the prompt's <ref-object> still takes its object (the box is not used)
    prompt = template.encode({**row, 'messages': row['messages'][:1]}, for_inference=True)
    assert 'Where is the dot?' in template.tokenizer.decode(prompt['input_ids'])
