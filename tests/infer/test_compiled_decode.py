"""The compiled decode step (compile_decode): the same greedy tokens as model.generate, and a compiler that fails
leaves the engine eager with one warning. Tiny model, fp32, one compiled bucket (each bucket is a compile)."""
import logging

import pytest
import torch

from swift.infer import InferRequest, RequestConfig
from swift.infer.compiled_decode import CompiledDecoder, buckets
from swift.infer.transformers_engine import PtEngine
from swift.utils import get_logger

PROMPTS = ['What is the capital of France?', 'Hi']
MAX_TOKENS = 10


def _generate(engine, text):
    prompt = engine._encode(InferRequest([{'role': 'user', 'content': text}]))
    with torch.inference_mode():
        out = engine.model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                                    max_new_tokens=MAX_TOKENS, do_sample=False,
                                    eos_token_id=engine.tokenizer.eos_token_id,
                                    pad_token_id=engine.tokenizer.pad_token_id)
    return engine.tokenizer.decode(out[0, len(prompt):], skip_special_tokens=True)


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_buckets_cover_every_batch_size():
    assert buckets(32) == [1, 2, 4, 8, 16, 32]
    assert buckets(6) == [1, 2, 4, 6]
    assert buckets(10**4) == [1, 2, 4, 8, 16, 32, 64]  # more would each be a compile; larger batches run eagerly


def test_compiled_step_gives_generates_tokens(tiny_model_dir):
    with PtEngine(str(tiny_model_dir), template='smollm2', max_batch_size=2, prefix_cache_mb=0) as engine:
        # one bucket of 2 rows: a lone request runs padded to it, two prompts of different lengths run left-padded
        engine._compiled = CompiledDecoder(engine.model, 2, sizes=[2])
        engine._compiled.warm_up(background=False)
        assert engine._compiled.ready == {2}, engine._compiled.failed
        config = RequestConfig(max_tokens=MAX_TOKENS)
        alone = engine.infer([InferRequest([{'role': 'user', 'content': PROMPTS[0]}])], config)
        together = engine.infer([InferRequest([{'role': 'user', 'content': text}]) for text in PROMPTS], config)
        stats = engine.stats()
        expected = [_generate(engine, text) for text in PROMPTS]
    assert alone[0].choices[0].message.content == expected[0]
    assert [r.choices[0].message.content for r in together] == expected
    assert stats['steps'] > 0 and stats['compiled_steps'] == stats['steps']  # the compiled path served every step


def _compiler_without_cxx(graph, example_inputs):
    """A torch.compile backend that fails as inductor does on a machine without a C++ compiler."""
    raise RuntimeError('Failed to find C++ compiler. Please specify via CXX environment variable.')


def test_compile_failure_falls_back_to_eager(tiny_model_dir):
    records = _Records()
    get_logger().addHandler(records)
    try:
        with PtEngine(str(tiny_model_dir), template='smollm2', max_batch_size=1, prefix_cache_mb=0) as engine:
            engine._compiled = CompiledDecoder(engine.model, 1, backend=_compiler_without_cxx)
            engine._compiled.warm_up(background=True)
            engine._compiled.wait()
            response = engine.infer([InferRequest([{'role': 'user', 'content': PROMPTS[1]}])],
                                    RequestConfig(max_tokens=MAX_TOKENS))
            stats, failed = engine.stats(), engine._compiled.failed
            expected = _generate(engine, PROMPTS[1])
    finally:
        get_logger().removeHandler(records)
    assert failed and 'C++ compiler' in failed and stats['compiled_steps'] == 0
    warnings = [m for m in records.messages if 'compile_decode' in m]
    assert len(warnings) == 1 and 'decoding stays eager' in warnings[0] and '\n' not in warnings[0]
    assert response[0].choices[0].message.content == expected


def test_lora_model_stays_eager_and_says_why(tiny_model_dir, tmp_path):
    pytest.importorskip('peft')
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)),
                           LoraConfig(r=2, target_modules=['q_proj', 'v_proj']))
    model.save_pretrained(str(tmp_path / 'adapter'))
    records = _Records()
    get_logger().addHandler(records)
    try:
        with PtEngine(str(tiny_model_dir), template='smollm2', adapters=[str(tmp_path / 'adapter')],
                      compile_decode=True) as engine:
            assert engine._compiled is None
    finally:
        get_logger().removeHandler(records)
    assert any('compile_decode' in m and 'LoRA' in m for m in records.messages)
