"""`swift export --to_gguf`: the GGUF loads back in transformers (`gguf_file=`) with the same weights (tiny
model, exact), the same tokenizer and chat template, and the embedded model answers the same greedy tokens."""
import json
from pathlib import Path

import pytest
import torch

from swift.arguments.export import GGUF_QUANTS
from swift.export.gguf import K_QUANTS, SIMPLE_TYPES, permute_rotary, pre_tokenizer_name, quantize_q8_0
from swift.export.main import export_main
from swift.utils import SwiftError

PROMPTS = ['The capital of France is', 'def fibonacci(n):', 'Once upon a time, there was a',
           'The three primary colors are', 'Water boils at a temperature of', 'import numpy as np\n',
           'Q: What is 12 times 7?\nA:', 'The largest planet in our solar system is',
           'To make a cup of tea, first', 'Les fleurs du jardin sont']


def exported_gguf(model_dir, out: Path, quant: str) -> Path:
    result = export_main(model=str(model_dir), template='smollm2', to_gguf=True, gguf_quant=quant,
                         output_dir=str(out))
    assert result.kind == 'gguf'
    files = list(Path(result.output_dir).glob('*.gguf'))
    assert len(files) == 1 and files[0].name.endswith(f'-{quant.upper()}.gguf')
    return files[0]


def load_gguf(path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    return model.eval(), AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def greedy(model, tokenizer, prompts, new_tokens=16):
    """Each prompt's greedy continuation, all prompts in one left-padded batch (the same batch for every model)."""
    tokenizer.padding_side = 'left'
    batch = tokenizer(prompts, return_tensors='pt', padding=True)
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return out[:, batch.input_ids.shape[1]:].tolist()


def test_quant_lists_agree():
    assert set(GGUF_QUANTS) == set(SIMPLE_TYPES) | set(K_QUANTS)


def test_tiny_model_round_trip_is_exact(tiny_model_dir, tmp_path):
    """f32: every tensor name, the q/k permutation and the tied embeddings survive exactly (logits equal)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    path = exported_gguf(tiny_model_dir, tmp_path / 'g', 'f32')
    source = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32).eval()
    # the weights only: the GGUF's tokenizer (its own slow load, ~1/4 of this test) is checked by the embedded test
    loaded = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()
    input_ids = AutoTokenizer.from_pretrained(str(tiny_model_dir))('Hello there, 123!', return_tensors='pt').input_ids
    with torch.inference_mode():
        assert torch.equal(source(input_ids).logits, loaded(input_ids).logits)
    args = json.loads((path.parent / 'args.json').read_text())
    assert args['gguf_quant'] == 'f32' and args['template'] == 'smollm2'


def test_permutation_is_llama_cpps():
    """Row order for 1 head of 4 rows: HF halves (0,1 | 2,3) → llama.cpp pairs (0,2,1,3)."""
    rows = torch.arange(8.).reshape(4, 2).numpy()
    assert permute_rotary(rows, 1)[:, 0].tolist() == [0., 4., 2., 6.]


def _q8_0_error(data, blocks):
    import gguf
    restored = gguf.quants.dequantize(blocks, gguf.GGMLQuantizationType.Q8_0)
    return float(((restored - data) ** 2).sum() / (data ** 2).sum()) ** 0.5


def test_q8_0_is_llama_cpps_rounding_on_weights_without_a_grid():
    import gguf
    import numpy as np
    weights = np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32)
    assert np.array_equal(quantize_q8_0(weights), gguf.quants.quantize(weights, gguf.GGMLQuantizationType.Q8_0))


def test_q8_0_keeps_weights_that_were_quantized_before_closer():
    """Q4_1-style blocks (16 levels m + k * step) lose less than with max/127; Q8_0 values come back exactly."""
    import gguf
    import numpy as np
    rng = np.random.default_rng(1)
    step = rng.uniform(0.001, 0.01, (2048, 1)).astype(np.float16).astype(np.float32)
    low = (-rng.uniform(0, 15, (2048, 1)) * step).astype(np.float16).astype(np.float32)
    q4_1 = (low + step * rng.integers(0, 16, (2048, 32))).astype(np.float32).reshape(64, 1024)
    ours = _q8_0_error(q4_1, quantize_q8_0(q4_1))
    llama_cpp = _q8_0_error(q4_1, gguf.quants.quantize(q4_1, gguf.GGMLQuantizationType.Q8_0))
    assert ours < 0.6 * llama_cpp, (ours, llama_cpp)
    q8_0 = gguf.quants.dequantize(gguf.quants.quantize(q4_1, gguf.GGMLQuantizationType.Q8_0),
                                  gguf.GGMLQuantizationType.Q8_0)
    assert _q8_0_error(q8_0, quantize_q8_0(q8_0)) == 0.0


def test_embedded_model_f16_and_q8_0_answer_like_the_source(smollm_dir, tmp_path):
    """f16: the same 16 greedy tokens on all 10 prompts; q8_0: on at least 9 (the issue's bar). The embedded
    weights are Q4_1 values already: llama.cpp's Q8_0 rounding (max/127) rounds them off their grid, which kept 7
    of 10 (the three parted where the source's top-2 margin was 0.0004, 0.044 and 0.13); quantize_q8_0 picks
    scales that divide each block's grid step and keeps 10 (docs/benchmarks.md). Where a continuation differs the
    source must be at a near-tie, and every clear decision (margin >= 0.5) of the source must survive, at all 160
    positions."""
    from gguf import GGUFReader
    from transformers import AutoModelForCausalLM, AutoTokenizer
    source = AutoModelForCausalLM.from_pretrained(str(smollm_dir), dtype=torch.float32).eval()
    smollm_tokenizer = AutoTokenizer.from_pretrained(str(smollm_dir))
    expected = greedy(source, smollm_tokenizer, PROMPTS)
    assert len(set(map(tuple, expected))) == len(PROMPTS)  # ten different answers: the comparison can fail
    matches = {}
    for quant in ('f16', 'q8_0'):
        path = exported_gguf(smollm_dir, tmp_path / quant, quant)
        fields = GGUFReader(str(path)).fields
        # the embedded tokenizer was itself rebuilt from a GGUF by transformers, with GPT-2's split (no Digits step)
        assert fields['tokenizer.ggml.pre'].contents() == 'gpt-2'
        model, tokenizer = load_gguf(path)
        for prompt in PROMPTS + ['<|im_start|>user\n  spaced 你好 🌍 3.14159<|im_end|>']:
            assert tokenizer(prompt).input_ids == smollm_tokenizer(prompt).input_ids
        assert tokenizer.eos_token == smollm_tokenizer.eos_token and tokenizer.bos_token == smollm_tokenizer.bos_token
        assert tokenizer.pad_token_id == smollm_tokenizer.pad_token_id
        messages = [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
        from swift.template import get_template
        assert tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == \
            get_template('smollm2').render(messages, add_generation_prompt=True)
        got = greedy(model, tokenizer, PROMPTS)
        matches[quant] = sum(a == b for a, b in zip(got, expected))
        for prompt, ours, theirs in zip(PROMPTS, got, expected):
            if ours != theirs:
                assert top2_gap_where_they_part(source, smollm_tokenizer, prompt, ours, theirs) < 0.25, prompt
        # every one of the source's 160 next-token decisions that is not a near-tie survives (teacher-forced)
        assert clear_decisions_kept(source, model, smollm_tokenizer, expected, min_margin=0.5) == [], quant
        del model
    assert matches['f16'] == 10, matches
    assert matches['q8_0'] >= 9, matches


def clear_decisions_kept(source, model, tokenizer, continuations, min_margin):
    """The positions of the source's greedy continuations where the source's best token beats its second by at
    least `min_margin` logits but `model` (fed the same tokens) picks another. q8_0 moves the source's top-2
    margin by 0.05 (median) and at most 0.38 over these 160 positions (measured 2026-12-03, docs/benchmarks.md)."""
    flipped = []
    for prompt, continuation in zip(PROMPTS, continuations):
        prompt_ids = tokenizer(prompt).input_ids
        input_ids = torch.tensor([prompt_ids + continuation])
        with torch.inference_mode():
            theirs = source(input_ids).logits[0, len(prompt_ids) - 1:-1]
            ours = model(input_ids).logits[0, len(prompt_ids) - 1:-1]
        top = theirs.topk(2).values
        clear = (top[:, 0] - top[:, 1]) >= min_margin
        flipped += [(prompt, i) for i in range(len(continuation)) if clear[i] and ours[i].argmax() != theirs[i].argmax()]
    return flipped


def top2_gap_where_they_part(model, tokenizer, prompt, ours, theirs):
    """The source's margin between its best two tokens at the first position where two continuations differ."""
    first = next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)
    input_ids = torch.tensor([tokenizer(prompt).input_ids + theirs[:first]])
    with torch.inference_mode():
        top = model(input_ids).logits[0, -1].topk(2).values
    return float(top[0] - top[1])


def test_k_quants_need_llama_cpp(tiny_model_dir, tmp_path):
    import importlib.util
    if importlib.util.find_spec('llama_cpp') is not None:
        pytest.skip('llama-cpp-python is installed: the K-quant path runs instead (scripts/verify_gguf_llamacpp.py)')
    with pytest.raises(SwiftError, match='llama-cpp-python'):
        export_main(model=str(tiny_model_dir), template='smollm2', to_gguf=True, gguf_quant='q4_k_m',
                    output_dir=str(tmp_path / 'k'))
    assert not (tmp_path / 'k').exists()


def test_pre_tokenizer_names():
    assert pre_tokenizer_name({'pre_tokenizer': {'type': 'ByteLevel', 'use_regex': True}}) == 'gpt-2'
    smollm = {'type': 'Sequence', 'pretokenizers': [{'type': 'Digits', 'individual_digits': True},
                                                    {'type': 'ByteLevel'}]}
    assert pre_tokenizer_name({'pre_tokenizer': smollm}) == 'smollm'
    assert pre_tokenizer_name({'pre_tokenizer': {'type': 'Whitespace'}}) == 'default'


def test_arguments_errors():
    with pytest.raises(SwiftError, match='gguf_quant must be one of'):
        export_main(model='x', to_gguf=True, gguf_quant='q9_0')
    with pytest.raises(SwiftError, match='one export at a time'):
        export_main(model='x', to_gguf=True, quant_method='bnb', quant_bits=4)
