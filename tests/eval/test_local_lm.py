"""Log-likelihood scoring on local models: right answers on crafted cases, and the fast path equal to the plain one."""
import pytest
import torch

from swift.eval.local_lm import LocalLM
from swift.eval.metrics import multiple_choice_scores
from swift.eval.prompts import continuation, text_context
from swift.eval.registry import get_benchmark
from swift.eval.tasks import load_task, resolve_settings


def reference_loglikelihood(model, tokenizer, context, cont):
    """One request, one full forward pass, no batching, no cache: the definition."""
    whole = tokenizer.encode(context + cont)
    n_context = len(tokenizer.encode(context))
    with torch.inference_mode():
        logprobs = torch.log_softmax(model(torch.tensor([whole])).logits[0].float(), dim=-1)
    return sum(float(logprobs[i - 1, whole[i]]) for i in range(n_context, len(whole)))


def test_real_model_prefers_the_right_continuation(embedded_lm):
    context = 'The capital of France is'
    paris, banana = embedded_lm.loglikelihood([(context, ' Paris'), (context, ' banana')])
    assert paris > banana + 3


def test_real_model_answers_a_crafted_multiple_choice_question(embedded_lm):
    context = 'Question: What color is the sky on a clear sunny day?\nAnswer:'
    choices = ['blue', 'a loaf of bread', 'seventeen']
    logliks = embedded_lm.loglikelihood([(context, continuation(c, chat=False)) for c in choices])
    scores, picks = multiple_choice_scores(logliks, choices, gold=0)
    assert picks['pred'] == 0 and scores['acc'] == 1.0


def test_trailing_context_spaces_move_to_the_continuation(tiny_lm):
    assert tiny_lm.encode_pair('Answer: ', 'A') == tiny_lm.encode_pair('Answer:', ' A')
    context_tokens, continuation_tokens = tiny_lm.encode_pair('Answer:', ' A')
    assert len(continuation_tokens) == 1 and tiny_lm.tokenizer.decode(continuation_tokens) == ' A'


def _mmlu_requests(shared_data, limit):
    mmlu = get_benchmark('mmlu')
    task = load_task(mmlu, resolve_settings(mmlu, {'mmlu': {'subsets': ['anatomy'], 'few_shot_num': 3}}, limit),
                     str(shared_data))
    subset = task.subsets[0]
    return [(text_context(subset.description, subset.shots, d), continuation(c, chat=False))
            for d in subset.docs for c in d.choices]


def test_batched_prefix_reuse_equals_one_request_at_a_time(tiny_lm, shared_data):
    requests = _mmlu_requests(shared_data, limit=5)
    fast = LocalLM(tiny_lm.model, tiny_lm.tokenizer, batch_size=3)
    got = fast.loglikelihood(requests)
    assert fast._prefix is not None and len(fast._prefix.tokens) > 100  # the instruction and 3 examples, run once
    assert len(fast._rows(requests)) == 5  # the four one-token choices of a question share one row
    for (context, cont), value in zip(requests, got):
        expected = reference_loglikelihood(tiny_lm.model, tiny_lm.tokenizer, context, cont)
        assert value == pytest.approx(expected, abs=1e-4)
    plain = LocalLM(tiny_lm.model, tiny_lm.tokenizer, batch_size=1, reuse_prefix=False).loglikelihood(requests)
    assert got == pytest.approx(plain, abs=1e-4)


def test_multi_token_choices_and_mixed_lengths(tiny_lm, shared_data):
    hellaswag = get_benchmark('hellaswag')
    task = load_task(hellaswag, resolve_settings(hellaswag, None, 3), str(shared_data))
    docs = task.subsets[0].docs
    requests = [(d.query, continuation(c, chat=False)) for d in docs for c in d.choices]
    got = LocalLM(tiny_lm.model, tiny_lm.tokenizer, batch_size=5).loglikelihood(requests)
    for (context, cont), value in zip(requests, got):
        expected = reference_loglikelihood(tiny_lm.model, tiny_lm.tokenizer, context, cont)
        assert value == pytest.approx(expected, abs=1e-4)


def test_a_long_question_runs_once_for_its_choices(tiny_lm, shared_data):
    passages = [' '.join(f'Sentence {i} of passage {p} says nothing much.' for i in range(20)) for p in 'AB']
    requests = [(f'{passage}\nQuestion: which is true?\nAnswer:', f' {choice}') for passage in passages
                for choice in ('the first one', 'the second', 'neither of them, really')]
    lm = LocalLM(tiny_lm.model, tiny_lm.tokenizer, batch_size=8)
    got = lm.loglikelihood(requests)
    with torch.inference_mode():
        batches = list(lm._batches(lm._rows(requests)))
    # each passage runs once, then its three choices run as one batch after it
    assert [len(rows) for rows, _ in batches] == [3, 3] and all(len(prefix.tokens) > 128 for _, prefix in batches)
    for (context, cont), value in zip(requests, got):
        expected = reference_loglikelihood(tiny_lm.model, tiny_lm.tokenizer, context, cont)
        assert value == pytest.approx(expected, abs=1e-4)


def test_too_long_prompts_are_cut_from_the_left(tiny_lm):
    short = LocalLM(tiny_lm.model, tiny_lm.tokenizer, max_length=16)
    context = ' '.join(['word'] * 100) + ' The end is'
    value, = short.loglikelihood([(context, ' near')])
    tokens = tiny_lm.tokenizer.encode(context + ' near')[-17:]
    with torch.inference_mode():
        logprobs = torch.log_softmax(tiny_lm.model(torch.tensor([tokens[:-1]])).logits[0].float(), dim=-1)
    assert value == pytest.approx(float(logprobs[-1, tokens[-1]]), abs=1e-4)
