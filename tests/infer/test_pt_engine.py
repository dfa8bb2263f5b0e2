"""The minimal inference path on the real embedded model and on a tiny model."""
import subprocess
import sys

import pytest
import torch

from swift.infer import InferRequest, RequestConfig
from swift.infer.protocol import PromptTooLongError
from swift.infer.transformers_engine import IncrementalDecoder, PtEngine
from tests.conftest import REPO


@pytest.fixture(scope='module')
def engine(smollm_dir):
    return PtEngine('smollm2-135m-instruct')


def test_real_model_answers_paris(engine):
    response = engine.infer([InferRequest([{'role': 'user', 'content': 'What is the capital of France?'}])],
                            RequestConfig(max_tokens=20))[0]
    assert 'Paris' in response.choices[0].message.content
    assert response.choices[0].finish_reason == 'stop'
    assert response.usage.prompt_tokens > 10 and response.usage.completion_tokens > 0


def test_greedy_equals_model_generate(engine):
    messages = [{'role': 'user', 'content': 'Name three colours.'}]
    prompt = engine._encode(InferRequest(messages))
    ours = engine.infer([InferRequest(messages)], RequestConfig(max_tokens=24))[0].choices[0].message.content
    with torch.inference_mode():
        out = engine.model.generate(torch.tensor([prompt]), max_new_tokens=24, do_sample=False,
                                    eos_token_id=engine.tokenizer.eos_token_id, pad_token_id=engine.tokenizer.pad_token_id)
    reference = engine.tokenizer.decode(out[0, len(prompt):], skip_special_tokens=True)
    assert ours == reference


def test_stream_concatenates_to_the_full_reply(engine):
    request = InferRequest([{'role': 'user', 'content': 'Say hello in French.'}])
    config = RequestConfig(max_tokens=16)
    streamed = ''.join(engine.stream(request, config))
    assert streamed == engine.infer([request], config)[0].choices[0].message.content


def test_stop_string_and_max_tokens(engine):
    request = InferRequest([{'role': 'user', 'content': 'Count from 1 to 20, separated by commas.'}])
    full = engine.infer([request], RequestConfig(max_tokens=40))[0].choices[0].message.content
    assert '5' in full
    stopped = engine.infer([request], RequestConfig(max_tokens=40, stop=['5']))[0]
    assert '5' not in stopped.choices[0].message.content and stopped.choices[0].finish_reason == 'stop'
    assert full.startswith(stopped.choices[0].message.content)
    short = engine.infer([request], RequestConfig(max_tokens=3))[0]
    assert short.usage.completion_tokens == 3 and short.choices[0].finish_reason == 'length'


def test_seeded_sampling_is_reproducible(engine):
    request = InferRequest([{'role': 'user', 'content': 'Write a word.'}])
    config = RequestConfig(max_tokens=8, temperature=1.0, seed=7)
    first = engine.infer([request], config)[0].choices[0].message.content
    assert engine.infer([request], config)[0].choices[0].message.content == first


def test_incremental_decoder_never_splits_multibyte_characters(smollm_tokenizer):
    text = '你好，世界 🌍 café'
    decoder = IncrementalDecoder(smollm_tokenizer)
    deltas = [decoder.push(t) for t in smollm_tokenizer.encode(text, add_special_tokens=False)]
    assert ''.join(deltas) == text
    assert all('\ufffd' not in d for d in deltas)


def test_cli_pipe_mode_one_answer_per_line(smollm_dir):
    done = subprocess.run([sys.executable, '-m', 'swift.cli.main', 'infer', '--model', 'smollm2-135m-instruct',
                           '--max_new_tokens', '20'], input='What is the capital of France?\n\nWhat is 2+2?\n',
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and 'Paris' in lines[0]


@pytest.mark.parametrize('strategy', ['delete', 'left', 'right'])
def test_max_length_limits_the_prompt(engine, strategy):
    """--max_length with --truncation_strategy (swift infer / deploy): refuse, or keep the end / the start."""
    request = InferRequest(messages=[{'role': 'user', 'content': 'one two three four five six seven eight'}])
    full = engine.prepare(request).prompt_ids
    engine.max_length, engine.truncation_strategy = 8, strategy
    try:
        if strategy == 'delete':
            with pytest.raises(PromptTooLongError, match='more than --max_length 8'):
                engine.prepare(request)
        else:
            ids = engine.prepare(request).prompt_ids
            assert ids == (full[-8:] if strategy == 'left' else full[:8])
    finally:
        engine.max_length, engine.truncation_strategy = None, 'delete'
