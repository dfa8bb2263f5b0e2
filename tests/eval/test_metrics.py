"""Scoring rules: acc / acc_norm, GSM8K answer extraction and exact match, answer letters."""

import pytest

from swift.eval.benchmarks.gsm8k import FLEXIBLE_PATTERN, IGNORE, STRICT_PATTERN, final_number
from swift.eval.metrics import INVALID, exact_match, extract_letter, multiple_choice_scores, regex_extract
from swift.eval.registry import Doc, get_benchmark


def test_acc_takes_the_highest_loglikelihood_and_the_first_on_ties():
    scores, picks = multiple_choice_scores([-3.0, -1.0, -2.0], ['a', 'b', 'c'], gold=1)
    assert scores == {'acc': 1.0, 'acc_norm': 1.0} and picks == {'pred': 1, 'pred_norm': 1}
    _, picks = multiple_choice_scores([-1.0, -1.0], ['x', 'y'], gold=1)
    assert picks['pred'] == 0


def test_acc_norm_divides_by_the_characters_of_the_choice():
    # The long choice has the lower total but the higher log-likelihood per character.
    choices = ['no', 'a much longer and better answer']
    scores, picks = multiple_choice_scores([-4.0, -12.0], choices, gold=1)
    assert picks == {'pred': 0, 'pred_norm': 1}
    assert scores == {'acc': 0.0, 'acc_norm': 1.0}


GSM8K_CASES = [
    # reply, strict extraction, flexible extraction
    (' Natalia sold 48/2 = 24 clips in May. 48 + 24 = 72. The answer is 72.\n\n', '72', '72.'),
    (' She has $1,250 left. The answer is 1,250.', '1,250', '1,250.'),
    (' He pays 5 * 3 = 15 dollars, so he has 8 left.', INVALID, '8'),
    (' The answer is -3.5. Then 10.', '-3.5.', '10.'),  # the group is greedy: it takes the period
    ('', INVALID, INVALID),
]


@pytest.mark.parametrize('reply,strict,flexible', GSM8K_CASES)
def test_gsm8k_extraction(reply, strict, flexible):
    assert regex_extract(reply, STRICT_PATTERN) == strict
    assert regex_extract(reply, FLEXIBLE_PATTERN, group_select=-1) == flexible


@pytest.mark.parametrize('reply,strict,flexible', GSM8K_CASES)
def test_gsm8k_extraction_equals_the_reference_filters(reply, strict, flexible):
    from lm_eval.filters.extraction import RegexFilter
    assert RegexFilter(STRICT_PATTERN).apply([[reply]], [{}]) == [[strict]]
    assert RegexFilter(FLEXIBLE_PATTERN, group_select=-1).apply([[reply]], [{}]) == [[flexible]]


def test_gsm8k_exact_match_ignores_commas_dollars_and_a_final_period():
    assert exact_match('1,250', '1250', IGNORE) == 1.0
    assert exact_match('$18.', '18', IGNORE) == 1.0
    assert exact_match('18.5', '18', IGNORE) == 0.0
    assert exact_match(INVALID, '18', IGNORE) == 0.0
    assert final_number('She pays 3*6=<<3*6=18>>18.\n#### 18') == '18'


def test_gsm8k_scores_a_reply():
    gsm8k = get_benchmark('gsm8k')
    doc = Doc(id='default/0', subset='default', query='Q: ...\nA:', choices=[], gold='1250', target='')
    scores, extracted = gsm8k.score_generation(' So 1,000 + 250 = 1,250 dollars. The answer is 1,250.', doc)
    assert scores == {'exact_match': 1.0, 'exact_match_flex': 1.0}
    assert extracted == {'strict': '1,250', 'flexible': '1,250.'}
    scores, _ = gsm8k.score_generation(' It is 1250 dollars', doc)
    assert scores == {'exact_match': 0.0, 'exact_match_flex': 1.0}


@pytest.mark.parametrize('reply,expected', [('B', 1), (' (C) because', 2), ('Answer: D.', 3), ('I think A', 0),
                                            ('E is not a choice, nor is a lowercase b', None)])
def test_answer_letter_extraction(reply, expected):
    assert extract_letter(reply, 4) == expected
