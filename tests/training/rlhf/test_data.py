"""Alignment rows → items → batches: shared prompts, labels on the last answer, KTO halves, prompts, bad rows."""
import json

import pytest

from swift.arguments import RLHFArguments
from swift.training.rlhf.data import (KTOCollator, PairCollator, PromptCollator, RowEncoder, add_kl_pairs,
                                      split_pairs_for_kto)
from swift.utils import SwiftError
from swift.utils.args import parse_args

PAIR = {'messages': [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello there!'},
                     {'role': 'user', 'content': 'Capital of France?'},
                     {'role': 'assistant', 'content': 'Ahoy! Paris.'}], 'rejected_response': 'Paris.'}


@pytest.fixture(scope='module')
def template(smollm_tokenizer):
    from swift.template import get_template
    return get_template('smollm2', tokenizer=smollm_tokenizer, default_system='', loss_scale='last_round')


def _answer_text(tokenizer, item, prefix):
    labels = [t for t in item[prefix + 'labels'] if t != -100]
    return tokenizer.decode(labels)


def test_pairs_share_the_prompt_and_train_only_the_last_answer(template, smollm_tokenizer):
    item = RowEncoder(template, 'dpo').encode(PAIR)
    chosen, rejected = item['chosen_input_ids'], item['rejected_input_ids']
    first_label = next(i for i, t in enumerate(item['chosen_labels']) if t != -100)
    assert chosen[:first_label] == rejected[:first_label]  # the same prompt, token for token
    assert _answer_text(smollm_tokenizer, item, 'chosen_') == 'Ahoy! Paris.<|im_end|>'
    assert _answer_text(smollm_tokenizer, item, 'rejected_') == 'Paris.<|im_end|>'


def test_rejected_messages_and_margin(template, smollm_tokenizer):
    row = {'messages': PAIR['messages'][2:], 'margin': 2,
           'rejected_messages': [{'role': 'user', 'content': 'Capital of France?'},
                                 {'role': 'assistant', 'content': 'Lyon.'}]}
    item = RowEncoder(template, 'rm').encode(row)
    assert _answer_text(smollm_tokenizer, item, 'rejected_') == 'Lyon.<|im_end|>'
    assert item['margin'] == 2.0
    batch = PairCollator(smollm_tokenizer.pad_token_id)([item, item])
    assert batch['input_ids'].shape[0] == 4 and batch['margin'].tolist() == [2.0, 2.0]


def test_kto_splits_pairs_and_pairs_each_prompt_with_another_answer(template, smollm_tokenizer):
    rows, locations = split_pairs_for_kto([PAIR, {'messages': PAIR['messages'][:2], 'label': False}],
                                          ['data.jsonl:1', 'data.jsonl:2'])
    assert [r['label'] for r in rows] == [True, False, False]
    assert locations == ['data.jsonl:1 (chosen)', 'data.jsonl:1 (rejected)', 'data.jsonl:2']
    encoder = RowEncoder(template, 'kto')
    items = [encoder.encode(r) for r in rows]
    add_kl_pairs(items)
    assert _answer_text(smollm_tokenizer, items[0], 'kl_') == _answer_text(smollm_tokenizer, items[1], '')
    prompt = next(i for i, t in enumerate(items[0]['labels']) if t != -100)
    assert items[0]['kl_input_ids'][:prompt] == items[0]['input_ids'][:prompt]
    batch = KTOCollator(smollm_tokenizer.pad_token_id)(items)
    assert batch['label'].tolist() == [True, False, False] and batch['kl_input_ids'].shape[0] == 3
    with pytest.raises(ValueError, match='need a "label"'):
        encoder.encode({'messages': PAIR['messages'][:2]})


def test_prompts_drop_the_final_answer_and_keep_it_as_solution(template):
    item = RowEncoder(template, 'grpo').encode({'messages': PAIR['messages'][2:], 'level': 3})
    assert item['row']['messages'][-1]['role'] == 'user'
    assert item['row']['solution'] == 'Ahoy! Paris.' and item['row']['level'] == 3
    assert template.tokenizer.decode(item['input_ids']).endswith('<|im_start|>assistant\n')
    batch = PromptCollator()([item, item])
    assert batch['prompt_ids'][0] == item['input_ids'] and batch['rows'][1]['level'] == 3


def test_rows_that_do_not_fit_are_reported_with_file_and_line(tmp_path, smollm_tokenizer, template):
    from swift.dataset import load_datasets
    from swift.training.rlhf.workflow import encode_items
    path = tmp_path / 'pairs.jsonl'
    rows = [PAIR, {'messages': PAIR['messages'][:2]},  # no rejected answer
            {'prompt': 'Capital of Spain?', 'chosen': 'Ahoy! Madrid.', 'rejected': 'Madrid.'}]
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    args = parse_args(RLHFArguments, {'model': 'm', 'dataset': [str(path)]})
    loaded = load_datasets([str(path)], log=False)
    items = encode_items(args, template, loaded.train)
    assert len(items) == 2  # the prompt/chosen/rejected layout is converted by the dataset layer
    strict = parse_args(RLHFArguments, {'model': 'm', 'dataset': [str(path)], 'strict': True})
    with pytest.raises(SwiftError, match=r'pairs.jsonl:2.*no rejected answer'):
        encode_items(strict, template, loaded.train)


def test_kto_needs_two_rows():
    with pytest.raises(SwiftError, match='at least 2'):
        add_kl_pairs([{'input_ids': [1, 2], 'labels': [-100, 2]}])
