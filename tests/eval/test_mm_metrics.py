"""Multimodal metrics against hand-computed values and an independent implementation (nltk's BLEU)."""
import math

import pytest

from swift.eval.mm_metrics import (METRICS, compute_metrics, grounding_iou, levenshtein,
                                   normalized_edit_distance, parse_boxes, register_metric, task_metrics,
                                   tokenize_caption, vqa_accuracy)
from swift.eval.vqa_normalize import normalize_vqa_answer
from swift.utils import SwiftError
from swift.utils.grounding import iou


@pytest.mark.parametrize('raw, normalized', [
    ('Two.', '2'),  # number word, final period
    ('the dog', 'dog'),  # article
    ('dont', "don't"),  # contraction gets its apostrophe
    ('yes!', 'yes'),
    ('red/blue', 'red blue'),  # punctuation between words becomes a space
    ('1,000 people', '1000 people'),  # a "1,000" number: punctuation is removed, not spaced
    ('3.5', '3.5'),  # a period inside a number stays
])
def test_vqa_normalisation_follows_the_official_rules(raw, normalized):
    assert normalize_vqa_answer(raw) == normalized


def test_vqa_accuracy_with_ten_human_answers_is_the_leave_one_out_average():
    # 2 of 10 humans said "2": left-out sets holding one match score 1/3 (2 of them), the others 2/3 (8):
    # (2 * 1/3 + 8 * 2/3) / 10 = 0.6. Three matches: (3 * 2/3 + 7 * 1) / 10 = 0.9. Four or more: 1.
    humans = ['2', 'two'] + ['3'] * 8
    assert vqa_accuracy('Two', humans) == pytest.approx(0.6)
    assert vqa_accuracy('2', ['2'] * 3 + ['3'] * 7) == pytest.approx(0.9)
    assert vqa_accuracy('2', ['2'] * 4 + ['3'] * 6) == pytest.approx(1.0)
    assert vqa_accuracy('4', humans) == 0.0


def test_vqa_accuracy_with_few_references_is_normalised_exact_match():
    assert compute_metrics('vqa', ['A red square.', 'blue'], ['red square', ['green', 'teal']]) == {'vqa_acc': 0.5}


def test_bleu_equals_nltk_corpus_bleu_on_the_same_tokens():
    nltk_bleu = pytest.importorskip('nltk.translate.bleu_score')
    preds = ['there is a cat sitting on the mat', 'a dog runs in the green park today']
    refs = [['a cat sits on the mat', 'there is a cat on the mat'], ['a dog is running in a green park']]
    ours = compute_metrics(['bleu'], preds, refs)
    tokens = [tokenize_caption(p).split() for p in preds]
    ref_tokens = [[tokenize_caption(r).split() for r in rs] for rs in refs]
    for n in range(1, 5):
        weights = tuple([1 / n] * n)
        expected = nltk_bleu.corpus_bleu(ref_tokens, tokens, weights=weights)
        assert ours[f'bleu_{n}'] == pytest.approx(expected, abs=1e-6), n
    assert 0 < ours['bleu_4'] < ours['bleu_1'] < 1


def test_rouge_l_is_coco_lcs_f_measure_with_beta_1_2():
    # LCS("a b c d e f", "a c f") = 3: precision 3/6, recall 3/3; F = (1 + 1.44) P R / (R + 1.44 P) = 1.22 / 1.72.
    assert compute_metrics(['rouge_l'], ['a b c d e f'], ['a c f'])['rouge_l'] == pytest.approx(1.22 / 1.72)


def test_cider_of_exact_captions_is_ten_and_drops_for_wrong_ones():
    # Two images with no shared words: every n-gram has document frequency 1 of 2, the candidate's tf-idf
    # vector equals its reference's, the cosine is 1 for n = 1..4 and the length penalty 1: CIDEr-D = 10.
    refs = [['a red square on white'], ['two blue circles near green triangles']]
    assert compute_metrics(['cider'], ['A red square on white.', 'two blue circles near green triangles'],
                           refs)['cider'] == pytest.approx(10.0)
    worse = compute_metrics(['cider'], ['a red square', 'two yellow stars'], refs)['cider']
    assert 0 < worse < 5


def test_caption_task_reports_all_scores():
    scores = compute_metrics('caption', ['a red square'], [['a red square']])
    assert set(scores) == {'bleu_1', 'bleu_2', 'bleu_3', 'bleu_4', 'rouge_l', 'cider'}
    assert scores['bleu_1'] == pytest.approx(1.0) and scores['rouge_l'] == pytest.approx(1.0)


def test_ocr_exact_match_and_normalised_edit_distance():
    assert levenshtein('kitten', 'sitting') == 3
    assert normalized_edit_distance('kitten', 'sitting') == pytest.approx(3 / 7)
    assert normalized_edit_distance('  a  b ', 'a b') == 0.0  # whitespace collapsed
    scores = compute_metrics('ocr', ['kitten', 'HELLO world'], ['sitting', ['hello world', 'HELLO  world']])
    assert scores['ocr_exact_match'] == 0.5  # case kept: only the second reference of row 2 matches
    assert scores['ocr_edit_sim'] == pytest.approx(((1 - 3 / 7) + 1) / 2)


@pytest.mark.parametrize('text', [
    '<|box_start|>(10,20),(30,40)<|box_end|>',  # Qwen2-VL
    '<ref>cat</ref><box>[[10, 20, 30, 40]]</box>',  # InternVL
    '[{"bbox_2d": [10, 20, 30, 40], "label": "cat"}]',  # Qwen2.5-VL JSON
    'the cat at (30, 40), (10, 20).',  # corners in any order
])
def test_boxes_are_parsed_from_each_convention(text):
    assert parse_boxes(text) == [(10.0, 20.0, 30.0, 40.0)]


def test_iou_hand_computed_and_iou_at_half():
    assert iou((0, 0, 10, 10), (5, 5, 15, 15)) == pytest.approx(25 / 175)
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert grounding_iou('(0,0),(10,10) and (100,100),(200,200)', [0, 0, 10, 10]) == 1.0  # the first box counts
    assert grounding_iou('no box here', '[0, 0, 10, 10]') == 0.0
    # IoU(0,0,10,10 vs 0,0,10,12) = 100/120 >= 0.5; vs 5,5,15,15 = 1/7 < 0.5.
    scores = compute_metrics('grounding', ['[[0, 0, 10, 12]]', '(5,5),(15,15)'], [[0, 0, 10, 10], '[0,0,10,10]'])
    assert scores['iou@0.5'] == 0.5
    assert scores['iou'] == pytest.approx((100 / 120 + 25 / 175) / 2)
    with pytest.raises(SwiftError, match='holds no box'):
        grounding_iou('[[1, 2, 3, 4]]', 'a cat')


def test_registry_groups_by_task_and_refuses_unknown_names():
    assert task_metrics('caption') == ['bleu', 'rouge_l', 'cider']
    with pytest.raises(SwiftError, match='Did you mean: cider'):
        compute_metrics(['cidr'], ['a'], ['a'])
    with pytest.raises(SwiftError, match='no metric for task'):
        compute_metrics('captions', ['a'], ['a'])
    with pytest.raises(SwiftError, match='2 predictions but 1 references'):
        compute_metrics('vqa', ['a', 'b'], ['a'])
    register_metric('chars', 'my_task', lambda p, r: {'chars': float(len(p[0]))})
    try:
        assert compute_metrics('my_task', ['abc'], ['x']) == {'chars': 3.0}
    finally:
        del METRICS['chars']
    assert not math.isnan(compute_metrics('vqa', ['x'], ['y'])['vqa_acc'])
