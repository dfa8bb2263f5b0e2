"""Encoding with the real SmolLM2 tokenizer: input_ids equal the official rendering's, labels token by token.

The expected labels are built independently of the offset logic in swift/template/encoding.py:
the conversation is cut by hand into prompt and answer strings, each is tokenized on its own,
and the pieces are concatenated (this tokenizer splits at every special token and newline, which
the test checks by comparing the concatenation with the whole-text tokenization).
"""
import json

import pytest

from swift.template import IGNORE_INDEX, JinjaChatTemplate, MaxLengthError, get_template
from swift.utils import SwiftError

from tests.template.official import render_official
from swift.template.official import SMOLLM2_GGUF

pytestmark = pytest.mark.slow

SYSTEM = 'You are a helpful AI assistant named SmolLM, trained by Hugging Face'
TWO_TURNS = [
    {'role': 'user', 'content': 'Hi there'},
    {'role': 'assistant', 'content': 'Hello! How can I help?'},
    {'role': 'user', 'content': 'Tell me a joke 😀'},
    {'role': 'assistant', 'content': '为什么鸡要过马路？To get to the other side.'},
]
# The same conversation cut into its prompt / answer pieces by hand (SmolLM2's default system prompt included).
PROMPT_1 = f'<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n'
ANSWER_1 = 'Hello! How can I help?<|im_end|>'
PROMPT_2 = '\n<|im_start|>user\nTell me a joke 😀<|im_end|>\n<|im_start|>assistant\n'
ANSWER_2 = '为什么鸡要过马路？To get to the other side.<|im_end|>'
TAIL = '\n'


def ids(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)['input_ids']


def expected_labels(tokenizer, trained):
    """Labels for PROMPT_1 ANSWER_1 PROMPT_2 ANSWER_2 TAIL with the pieces named in `trained` trained."""
    labels = []
    for name, text in (('p1', PROMPT_1), ('a1', ANSWER_1), ('p2', PROMPT_2), ('a2', ANSWER_2), ('tail', TAIL)):
        piece = ids(tokenizer, text)
        labels += piece if name in trained else [IGNORE_INDEX] * len(piece)
    return labels


def test_pieces_match_the_official_rendering(smollm_tokenizer):
    official = render_official(SMOLLM2_GGUF, TWO_TURNS, add_generation_prompt=False)
    assert official == PROMPT_1 + ANSWER_1 + PROMPT_2 + ANSWER_2 + TAIL
    # Tokenizing piece by piece gives the same ids as tokenizing the whole text, so expected_labels is exact.
    pieces = [t for text in (PROMPT_1, ANSWER_1, PROMPT_2, ANSWER_2, TAIL) for t in ids(smollm_tokenizer, text)]
    assert pieces == ids(smollm_tokenizer, official)


def test_two_turn_labels_token_by_token(smollm_tokenizer):
    tokenizer = smollm_tokenizer
    assert tokenizer.pad_token == tokenizer.eos_token == '<|im_end|>'  # the case where masking pads breaks stopping
    encoded = get_template('smollm2', tokenizer=tokenizer).encode({'messages': TWO_TURNS})
    official = render_official(SMOLLM2_GGUF, TWO_TURNS, add_generation_prompt=False)
    assert encoded['input_ids'] == ids(tokenizer, official)
    assert encoded['labels'] == expected_labels(tokenizer, {'a1', 'a2'})
    assert encoded['attention_mask'] == [1] * len(encoded['input_ids'])
    assert encoded['length'] == len(encoded['input_ids'])
    # Each answer's <|im_end|> (= eos = pad) is trained; the system/user ones and the newline after are not.
    im_end, newline = tokenizer.convert_tokens_to_ids('<|im_end|>'), ids(tokenizer, '\n')[0]
    trained = [i for i in encoded['labels'] if i != IGNORE_INDEX]
    assert trained.count(im_end) == 2 and encoded['input_ids'].count(im_end) == 5
    for position, token in enumerate(encoded['input_ids']):
        if token == im_end and encoded['labels'][position] != IGNORE_INDEX:
            assert encoded['input_ids'][position + 1] == newline and encoded['labels'][position + 1] == IGNORE_INDEX
    assert tokenizer.decode(trained) == ANSWER_1 + ANSWER_2


def test_last_round_and_all(smollm_tokenizer):
    row = {'messages': TWO_TURNS}
    last = get_template('smollm2', tokenizer=smollm_tokenizer, loss_scale='last_round').encode(row)
    assert last['labels'] == expected_labels(smollm_tokenizer, {'a2'})
    everything = get_template('smollm2', tokenizer=smollm_tokenizer, loss_scale='all').encode(row)
    assert everything['labels'] == everything['input_ids']


def test_inference_encoding_ends_with_the_generation_prompt(smollm_tokenizer):
    template = get_template('smollm2', tokenizer=smollm_tokenizer)
    encoded = template.encode({'messages': TWO_TURNS}, for_inference=True)  # the trailing answer is dropped
    official = render_official(SMOLLM2_GGUF, TWO_TURNS[:-1], add_generation_prompt=True)
    assert official.endswith('<|im_start|>assistant\n')
    assert encoded['input_ids'] == ids(smollm_tokenizer, official)
    prompt_end = ids(smollm_tokenizer, '<|im_start|>assistant\n')
    assert encoded['input_ids'][-len(prompt_end):] == prompt_end
    assert 'labels' not in encoded


def test_default_system_override_and_message_system(smollm_tokenizer):
    template = get_template('smollm2', tokenizer=smollm_tokenizer, default_system='Be brief.')
    text = template.render(TWO_TURNS[:1])
    assert text.startswith('<|im_start|>system\nBe brief.<|im_end|>\n')
    with_message = template.render([{'role': 'system', 'content': 'Mine wins.'}] + TWO_TURNS[:1])
    assert with_message.startswith('<|im_start|>system\nMine wins.<|im_end|>\n') and 'Be brief.' not in with_message
    assert not get_template('smollm2', default_system='').render(TWO_TURNS[:1]).startswith('<|im_start|>system')


def test_qwen3_empty_think_block_is_prompt_when_thinking_is_off(smollm_tokenizer):
    """With enable_thinking=False the empty think block is part of the generation prompt, so it is not trained."""
    template = get_template('qwen3', tokenizer=smollm_tokenizer)
    messages = [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello.'}]
    off = template.encode({'messages': messages, 'enable_thinking': False})
    trained = [i for i in off['labels'] if i != IGNORE_INDEX]
    assert smollm_tokenizer.decode(trained) == 'Hello.<|im_end|>'
    on = template.encode({'messages': messages})
    trained = [i for i in on['labels'] if i != IGNORE_INDEX]
    assert smollm_tokenizer.decode(trained) == '<think>\n\n</think>\n\nHello.<|im_end|>'
    assert on['input_ids'] == off['input_ids']  # same text: only the labels differ


def test_train_suffix_teaches_stopping_where_the_official_template_writes_no_end(smollm_tokenizer):
    template = get_template('minicpm', tokenizer=smollm_tokenizer)
    messages = [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello.'}]
    assert template.render(messages) == '<用户>Hi<AI>Hello.'
    encoded = template.encode({'messages': messages})
    assert encoded['input_ids'] == ids(smollm_tokenizer, '<用户>Hi<AI>Hello.</s>')
    trained = [i for i in encoded['labels'] if i != IGNORE_INDEX]
    assert smollm_tokenizer.decode(trained) == 'Hello.</s>'


def test_max_length(smollm_tokenizer):
    row = {'messages': TWO_TURNS}
    full = get_template('smollm2', tokenizer=smollm_tokenizer).encode(row)
    with pytest.raises(MaxLengthError):
        get_template('smollm2', tokenizer=smollm_tokenizer, max_length=10).encode(row)
    left = get_template('smollm2', tokenizer=smollm_tokenizer, max_length=10, truncation_strategy='left').encode(row)
    assert left['input_ids'] == full['input_ids'][-10:] and left['labels'] == full['labels'][-10:]
    right = get_template('smollm2', tokenizer=smollm_tokenizer, max_length=10, truncation_strategy='right').encode(row)
    assert right['input_ids'] == full['input_ids'][:10] and right['length'] == 10


def test_tools_as_json_string_in_the_row(smollm_tokenizer):
    tool = {'type': 'function', 'function': {'name': 'f', 'description': 'd', 'parameters': {'type': 'object'}}}
    template = get_template('qwen2_5', tokenizer=smollm_tokenizer)
    as_list = template.encode({'messages': TWO_TURNS[:2], 'tools': [tool]})
    as_text = template.encode({'messages': TWO_TURNS[:2], 'tools': json.dumps([tool])})
    assert as_list == as_text
    assert '"name": "f"' in smollm_tokenizer.decode(as_list['input_ids'])


def test_encode_errors(smollm_tokenizer):
    with pytest.raises(SwiftError, match='no tokenizer'):
        get_template('smollm2').encode({'messages': TWO_TURNS})
    with pytest.raises(SwiftError, match='messages'):
        get_template('smollm2', tokenizer=smollm_tokenizer).encode({'conversation': []})
    with pytest.raises(SwiftError, match='loss_scale'):
        get_template('smollm2', loss_scale='last')


def test_jinja_fallback_matches_our_template(smollm_tokenizer):
    """The fallback renders the tokenizer's own template; its labels agree with our smollm2 template's."""
    fallback = JinjaChatTemplate.from_tokenizer(smollm_tokenizer)
    ours = get_template('smollm2', tokenizer=smollm_tokenizer)
    assert fallback.render(TWO_TURNS, add_generation_prompt=True) == ours.render(TWO_TURNS, add_generation_prompt=True)
    assert fallback.encode({'messages': TWO_TURNS}) == ours.encode({'messages': TWO_TURNS})
    assert fallback.stop_words == ['<|im_end|>']


@pytest.fixture(scope='module')
def llama3_style_tokenizer(smollm_dir):
    """SmolLM2's vocabulary plus Llama 3's control tokens, set up to add <|begin_of_text|> itself.

    Honest scope: this proves BOS handling (one BOS, from the template text, as one token; eot
    trained), not the real Llama 3 token ids.
    """
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(smollm_dir))
    tokenizer.add_tokens(['<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
                         special_tokens=True)
    tokenizer.bos_token = '<|begin_of_text|>'
    tokenizer.add_bos_token = True
    tokenizer.update_post_processor()
    return tokenizer


def test_llama3_bos_comes_once_from_the_template(llama3_style_tokenizer):
    tokenizer = llama3_style_tokenizer
    bos = tokenizer.convert_tokens_to_ids('<|begin_of_text|>')
    official = render_official('meta-llama__Meta-Llama-3-8B-Instruct.jinja', TWO_TURNS, False)
    # The trap this avoids: the tokenizer's own special tokens would add a second BOS.
    assert tokenizer(official)['input_ids'][:2] == [bos, bos]
    encoded = get_template('llama3', tokenizer=tokenizer).encode({'messages': TWO_TURNS})
    assert encoded['input_ids'] == ids(tokenizer, official)
    assert encoded['input_ids'][0] == bos and encoded['input_ids'].count(bos) == 1
    assert encoded['labels'][0] == IGNORE_INDEX
    trained = [i for i in encoded['labels'] if i != IGNORE_INDEX]
    assert tokenizer.decode(trained) == 'Hello! How can I help?<|eot_id|>为什么鸡要过马路？To get to the other side.<|eot_id|>'


def test_llama2_answer_starts_with_its_space(smollm_tokenizer):
    """Llama 2 has no generation prompt: the space after [/INST] belongs to the answer, so ' Hello' is trained."""
    template = get_template('llama', tokenizer=smollm_tokenizer)
    encoded = template.encode({'messages': TWO_TURNS[:2]})
    trained = [i for i in encoded['labels'] if i != IGNORE_INDEX]
    assert smollm_tokenizer.decode(trained) == ' Hello! How can I help? </s>'


# Families whose trained text the fallback finds exactly as our template declares it. (Not: Qwen3, whose last
# answer opens an empty think block; GLM, where the newline after <|assistant|> is generated; Phi-3, whose eos
# suffix follows the last answer.)
FALLBACK_AGREES = ['qwen2_5', 'qwq', 'llama', 'llama3', 'llama3_2', 'mistral', 'mistral_v3', 'mistral_nemo', 'gemma3',
                   'phi4', 'deepseek', 'deepseek_v3', 'deepseek_r1', 'deepseek_v3_1', 'internlm2', 'yi', 'falcon3',
                   'granite3_2', 'olmo', 'minicpm3', 'command_r', 'command_r7b', 'llama3_1']


@pytest.mark.parametrize('name', FALLBACK_AGREES)
@pytest.mark.parametrize('case', ['system_multi', 'padded'])
def test_jinja_fallback_finds_the_answers_our_templates_declare(name, case):
    from swift.template.official import OFFICIAL_REFERENCES
    from tests.template import conversations as C
    from tests.template.official import reference
    chat_template, tokens = reference(OFFICIAL_REFERENCES[name][0])
    messages = C.BASIC[case]

    def answers(template):
        found = {}
        for segment in template.render_segments(messages):
            if segment.answer_of is not None:
                found[segment.answer_of] = found.get(segment.answer_of, '') + segment.text
        return found

    assert answers(JinjaChatTemplate(chat_template, tokens)) == answers(get_template(name))
