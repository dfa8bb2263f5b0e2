"""Grounding rows (`objects` + `<ref-object>` / `<bbox>` tags) rendered in each family's convention, and parsed back."""
import pytest
from PIL import Image

from swift.template import get_template
from swift.template.grounding import QWEN2_5_VL, format_of, parse_boxes, qwen_resized_size
from swift.utils import SwiftError
from swift.utils.grounding import GroundingError, check_objects, iou

SIZE = (200, 100)  # width, height of the row's image


def _row(objects, answer='<bbox>', question='<image>Find the <ref-object>.'):
    return {'messages': [{'role': 'user', 'content': question}, {'role': 'assistant', 'content': answer}],
            'images': [Image.new('RGB', SIZE, 'white')], 'objects': objects}


ROW = _row({'ref': ['red circle'], 'bbox': [[20, 10, 120, 60]]})  # real pixels
NORM1 = _row({'ref': ['red circle'], 'bbox': [[0.1, 0.1, 0.6, 0.6]], 'bbox_type': 'norm1'})


def _render(name, row):
    template = get_template(name)
    return template.render(template.ground(row['messages'], row, [SIZE]))


# Qwen2.5-VL: 200x100 → smart_resize (factor 28, default pixel bounds) → 196x112; x*0.98, y*1.12, rounded
GOLDEN = {
    'qwen2_vl': ('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n'
                 '<|vision_start|><|image_pad|><|vision_end|>Find the <|object_ref_start|>red circle<|object_ref_end|>.'
                 '<|im_end|>\n<|im_start|>assistant\n<|box_start|>(100,100),(600,600)<|box_end|><|im_end|>\n'),
    'qwen2_5_vl': ('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n'
                   '<|vision_start|><|image_pad|><|vision_end|>Find the <|object_ref_start|>red circle'
                   '<|object_ref_end|>.<|im_end|>\n<|im_start|>assistant\n<|box_start|>(20,11),(118,67)<|box_end|>'
                   '<|im_end|>\n'),
    'qwen3_vl': ('<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Find the <|object_ref_start|>red circle'
                 '<|object_ref_end|>.<|im_end|>\n<|im_start|>assistant\n<|box_start|>(100,100),(600,600)<|box_end|>'
                 '<|im_end|>\n'),
    'internvl_hf': ('<|im_start|>user\n<image>\nFind the <ref>red circle</ref>.<|im_end|>\n<|im_start|>assistant\n'
                    '<box>[[100, 100, 600, 600]]</box><|im_end|>\n'),
    'smolvlm': ('<|im_start|>User:<image>Find the red circle.<end_of_utterance>\n'
                'Assistant: [(100,100),(600,600)]<end_of_utterance>\n'),
    'idefics3': ('<|begin_of_text|>User:<image>Find the red circle.<end_of_utterance>\n'
                 'Assistant: [(100,100),(600,600)]<end_of_utterance>\n'),
    'llava1_5': 'USER: <image>\nFind the red circle. ASSISTANT: [(100,100),(600,600)] ',
}


@pytest.mark.parametrize('name', sorted(GOLDEN))
def test_each_family_writes_the_box_in_its_own_convention(name):
    assert _render(name, ROW) == GOLDEN[name]


@pytest.mark.parametrize('name', ['qwen2_vl', 'internvl_hf', 'smolvlm'])
def test_norm1_boxes_render_like_the_same_real_boxes_on_a_1000_grid(name):
    assert _render(name, NORM1) == _render(name, ROW)


def test_qwen2_5_vl_rescales_with_the_media_controls(monkeypatch):
    monkeypatch.setenv('MAX_PIXELS', str(28 * 28 * 4))  # the processor shrinks 200x100 to 56x28
    template = get_template('qwen2_5_vl')
    assert qwen_resized_size(SIZE, None, template.media_kwargs) == (56, 28)
    text = template.render(template.ground(ROW['messages'], ROW, [SIZE]))
    assert '<|box_start|>(6,3),(34,17)<|box_end|>' in text  # x and y * 0.28, rounded


def test_points_several_boxes_per_ref_and_the_image_id():
    row = _row({'ref': ['sheep'], 'bbox': [[10, 20, 30, 40], [50, 60, 70, 80], [100, 50]], 'image_id': [0, 1, 1]},
               answer='<bbox><bbox> and the centre <bbox>', question='<image><image>Find the <ref-object>')
    row['images'].append(Image.new('RGB', (100, 100)))
    template = get_template('qwen2_vl')
    text = template.render(template.ground(row['messages'], row, [SIZE, (100, 100)]))
    assert ('<|box_start|>(50,200),(150,400)<|box_end|><|box_start|>(500,600),(700,800)<|box_end|> and the centre '
            '<|box_start|>(1000,500)<|box_end|>') in text


@pytest.mark.parametrize('name', sorted(GOLDEN))
def test_parse_boxes_returns_the_rows_pixels(name):
    """What a model writes in its family's format comes back in the original image's pixels (rounding aside)."""
    text = _render(name, ROW)
    boxes = parse_boxes(name, text, SIZE)
    assert len(boxes) == 1
    assert iou(boxes[0], [20, 10, 120, 60]) > 0.97
    assert parse_boxes(name, 'no box here', SIZE) == []


def test_parse_boxes_of_qwen2_5_vl_follows_the_processor_settings():
    boxes = parse_boxes('qwen2_5_vl', '<|box_start|>(6,3),(34,17)<|box_end|>', SIZE,
                        media_kwargs={'max_pixels': 28 * 28 * 4})
    assert boxes == [[pytest.approx(6 / 56 * 200), pytest.approx(3 / 28 * 100), pytest.approx(34 / 56 * 200),
                      pytest.approx(17 / 28 * 100)]]
    assert format_of('qwen2_5_vl') is QWEN2_5_VL


def test_iou():
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0


@pytest.mark.parametrize('objects, message', [
    ({'ref': ['a'], 'bbox': [[1, 2, 3]]}, 'objects.bbox[0]: a box is [x1, y1, x2, y2] or a point [x, y], got 3'),
    ({'ref': ['a'], 'bbox': [[50, 10, 40, 20]]}, 'x2 < x1'),
    ({'ref': ['a'], 'bbox': [[10, 10, 250, 20]]}, 'lies outside the image (200x100 pixels)'),
    ({'ref': ['a'], 'bbox': [[0.1, 0.1, 1.5, 0.2]], 'bbox_type': 'norm1'}, 'lies outside 0..1'),
    ({'ref': ['a'], 'bbox': [[1, 2, 3, 4]], 'bbox_type': 'norm1000'}, 'bbox_type must be one of real, norm1'),
    ({'ref': ['a'], 'bbox': [[1, 2, 3, 4]], 'image_id': 3}, 'image_id[0] = 3: the row has 1 image(s)'),
    ({'ref': ['a'], 'bbox': [['x', 2, 3, 4]]}, 'a coordinate must be a number'),
    ({'ref': ['a'], 'box': []}, "unknown key(s) ['box']"),
])
def test_bad_objects_are_refused_naming_the_field(objects, message):
    with pytest.raises(GroundingError) as info:
        check_objects(objects, [SIZE])
    assert message in str(info.value)


def test_tag_count_mismatch_is_refused_by_the_template():
    row = _row({'ref': ['a', 'b'], 'bbox': [[1, 2, 3, 4]]})
    with pytest.raises(SwiftError, match=r'1 <ref-object> and 1 <bbox> tag\(s\) but objects has 2 ref\(s\)'):
        get_template('qwen2_vl').ground(row['messages'], row, [SIZE])
