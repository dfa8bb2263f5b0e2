"""--num_beams (ms-swift's): a request with num_beams > 1 is answered by transformers' beam search, token for token
what `model.generate(num_beams=N)` returns, and refused where it would mean something else."""
import pytest
import torch

from swift.infer import InferRequest, RequestConfig
from swift.infer.protocol import InferError
from swift.infer.transformers_engine import PtEngine

PROMPTS = ['Tell me about the sea.', 'What is 2 plus 2?', 'Name three colours.']


@pytest.fixture(scope='module')
def engine(tiny_model_dir):
    engine = PtEngine(str(tiny_model_dir), template='smollm2', torch_dtype='float32')
    yield engine
    engine.close()


def _generate(engine, prompt, num_beams):
    ids = engine.prepare(InferRequest([{'role': 'user', 'content': prompt}]), RequestConfig(max_tokens=10)).prompt_ids
    input_ids = torch.tensor([ids])
    out = engine.model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), num_beams=num_beams,
                                do_sample=False, max_new_tokens=10, eos_token_id=sorted(engine._stop_ids),
                                pad_token_id=engine.tokenizer.pad_token_id)
    tokens = [t for t in out[0, len(ids):].tolist()]
    cut = next((i for i, t in enumerate(tokens) if t in engine._stop_ids), len(tokens))
    return engine.tokenizer.decode(tokens[:cut], skip_special_tokens=True)


def test_beam_search_equals_transformers_generate(engine):
    requests = [InferRequest([{'role': 'user', 'content': p}]) for p in PROMPTS]
    beams = [r.choices[0].message.content for r in engine.infer(requests, RequestConfig(max_tokens=10, num_beams=3))]
    greedy = [r.choices[0].message.content for r in engine.infer(requests, RequestConfig(max_tokens=10))]
    assert beams == [_generate(engine, p, 3) for p in PROMPTS]
    assert beams != greedy  # the beams changed some answer: the flag is not a no-op here


def test_beam_search_refuses_what_it_cannot_mean(engine):
    request = InferRequest([{'role': 'user', 'content': 'hi'}])
    for config, reason in ((RequestConfig(num_beams=2, n=2), 'n > 1'),
                           (RequestConfig(num_beams=2, logprobs=True), 'logprobs'),
                           (RequestConfig(num_beams=2, temperature=0.7), 'sampling')):
        with pytest.raises(InferError, match=reason):
            engine.infer(request, config)


def test_the_flag_reaches_the_request():
    from swift.arguments import InferArguments
    from swift.infer.checks import check_infer_args
    from swift.infer.main import request_config_from
    from swift.utils import SwiftError
    from swift.utils.args import parse_args
    assert request_config_from(parse_args(InferArguments, ['--model', 'm', '--num_beams', '4'])).num_beams == 4
    with pytest.raises(SwiftError, match='options of the transformers backend'):
        check_infer_args(parse_args(InferArguments, ['--model', 'm', '--infer_backend', 'vllm', '--num_beams', '4']))
