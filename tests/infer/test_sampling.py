"""Per-sequence sampling: penalties and warpers agree with transformers' processors and OpenAI's formulas."""
import torch
from transformers.generation import (MinPLogitsWarper, RepetitionPenaltyLogitsProcessor, TopKLogitsWarper,
                                     TopPLogitsWarper)

from swift.infer import RequestConfig
from swift.infer.sampling import SequenceSampler, _min_p, _top_k, _top_p, choose_tokens


def test_repetition_penalty_matches_transformers():
    logits = torch.randn(50, generator=torch.Generator().manual_seed(0))
    prompt, output = [1, 5, 7], [7, 9]
    sampler = SequenceSampler(RequestConfig(repetition_penalty=1.3), prompt, None, 'cpu')
    for t in output:
        sampler.record(t)
    expected = RepetitionPenaltyLogitsProcessor(1.3)(torch.tensor([prompt + output]), logits[None].clone())[0]
    assert torch.allclose(sampler._penalized(logits), expected)


def test_presence_and_frequency_penalties_follow_openai():
    logits = torch.zeros(10)
    sampler = SequenceSampler(RequestConfig(presence_penalty=0.5, frequency_penalty=0.25), [3, 3, 3], None, 'cpu')
    for t in [4, 4, 6]:
        sampler.record(t)
    scores = sampler._penalized(logits)
    assert scores[4] == -(0.5 + 2 * 0.25) and scores[6] == -(0.5 + 0.25)
    assert scores[3] == 0  # prompt tokens are not penalised by presence/frequency


def test_top_k_and_top_p_match_transformers():
    scores = torch.randn(200, generator=torch.Generator().manual_seed(1))
    hf_k = TopKLogitsWarper(7)(None, scores[None].clone())[0]
    assert torch.equal(torch.isinf(_top_k(scores, 7)), torch.isinf(hf_k))
    hf_p = TopPLogitsWarper(0.8)(None, scores[None].clone())[0]
    assert torch.equal(torch.isinf(_top_p(scores, 0.8)), torch.isinf(hf_p))


def test_seeded_rows_sample_the_same_whatever_the_batch():
    logits = torch.randn(4, 100, generator=torch.Generator().manual_seed(2))

    def draw(rows):
        samplers = [SequenceSampler(RequestConfig(temperature=1.0, seed=11), [], 11, 'cpu') for _ in rows]
        return [choose_tokens(logits[rows], samplers) for _ in range(5)]

    alone = [tokens[0] for tokens in draw([2])]
    batched = [tokens[1] for tokens in draw([0, 2, 3])]
    assert alone == batched


def test_greedy_rows_take_the_argmax():
    logits = torch.randn(3, 100, generator=torch.Generator().manual_seed(3))
    samplers = [SequenceSampler(RequestConfig(), [], None, 'cpu') for _ in range(3)]
    assert choose_tokens(logits, samplers) == logits.argmax(-1).tolist()


def test_min_p_matches_transformers_and_reaches_the_draw():
    scores = torch.randn(200, generator=torch.Generator().manual_seed(4)) * 3
    hf = MinPLogitsWarper(0.1)(None, scores[None].clone())[0]
    kept = ~torch.isinf(_min_p(scores, 0.1))
    assert torch.equal(kept, ~torch.isinf(hf)) and 1 < int(kept.sum()) < 200
    sampler = SequenceSampler(RequestConfig(temperature=1.0, min_p=0.1, seed=5), [], 5, 'cpu')
    assert all(kept[sampler.choose(scores)] for _ in range(200))  # every draw among the kept tokens
    plain = SequenceSampler(RequestConfig(temperature=1.0, seed=5), [], 5, 'cpu')
    assert not all(kept[plain.choose(scores)] for _ in range(200))  # without min_p the tail is drawn


def test_min_p_flag_reaches_the_request_config():
    from swift.arguments import InferArguments
    from swift.infer.main import request_config_from
    from swift.utils.args import parse_args
    args = parse_args(InferArguments, ['--model', 'some/model', '--min_p', '0.2', '--temperature', '0.7'])
    assert request_config_from(args).min_p == 0.2
