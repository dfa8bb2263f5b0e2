"""QLoRA: BitsAndBytesConfig building, and 4-bit LoRA training on CPU when bitsandbytes is installed; HQQ QLoRA
(hqq's own quantizer, peft's HQQ LoRA layer)."""
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from swift.arguments import ArgumentGroup, QuantizeArguments, TunerArguments
from swift.tuners import build_quantization_config, count_parameters, load_adapters, prepare_tuner, save_tuned_model
from swift.tuners.quant import keep_4bit_weights_trainable
from swift.utils import SwiftError
from tests.tuners.conftest import load_model, logits, train

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::FutureWarning')
needs_bnb = pytest.mark.skipif(importlib.util.find_spec('bitsandbytes') is None, reason='bitsandbytes not installed')


@dataclass
class QloraArgs(TunerArguments, QuantizeArguments, ArgumentGroup):
    torch_dtype: str = 'float32'


def test_no_quantisation_means_no_config():
    assert build_quantization_config(QloraArgs()) is None
    assert build_quantization_config(object()) is None  # arguments without quant fields at all


@needs_bnb
def test_4bit_config_is_the_qlora_recipe():
    config = build_quantization_config(QloraArgs(quant_method='bnb', quant_bits=4))
    assert config.load_in_4bit and not config.load_in_8bit
    assert config.bnb_4bit_quant_type == 'nf4' and config.bnb_4bit_use_double_quant
    assert config.bnb_4bit_compute_dtype == torch.float32  # from torch_dtype
    config = build_quantization_config(QloraArgs(quant_method='bnb', quant_bits=4, bnb_4bit_compute_dtype='bf16',
                                                 bnb_4bit_use_double_quant=False, bnb_4bit_quant_type='fp4'))
    assert config.bnb_4bit_compute_dtype == torch.bfloat16
    assert config.bnb_4bit_quant_type == 'fp4' and not config.bnb_4bit_use_double_quant


@needs_bnb
def test_8bit_config():
    config = build_quantization_config(QloraArgs(quant_method='bnb', quant_bits=8))
    assert config.load_in_8bit and not config.load_in_4bit


@pytest.mark.parametrize('fields, message', [
    (dict(quant_bits=4), 'needs --quant_method'),
    (dict(quant_method='bnbb', quant_bits=4), 'Did you mean: bnb'),
    (dict(quant_method='bnb', quant_bits=3), '--quant_bits 4 or 8'),
    (dict(quant_method='bnb'), '--quant_bits 4 or 8'),
])
def test_config_errors(fields, message):
    with pytest.raises(SwiftError, match=message):
        build_quantization_config(QloraArgs(**fields))


@needs_bnb
def test_bad_4bit_options():
    with pytest.raises(SwiftError, match='must be one of nf4, fp4'):
        build_quantization_config(QloraArgs(quant_method='bnb', quant_bits=4, bnb_4bit_quant_type='int4'))
    with pytest.raises(SwiftError, match='--bnb_4bit_compute_dtype'):
        build_quantization_config(QloraArgs(quant_method='bnb', quant_bits=4, bnb_4bit_compute_dtype='fp7'))


def test_missing_bitsandbytes_says_what_to_install(monkeypatch):
    import swift.tuners.quant as quant
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(quant.importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'bitsandbytes' else real_find_spec(name, *a))
    with pytest.raises(SwiftError, match='pip install bitsandbytes'):
        build_quantization_config(QloraArgs(quant_method='bnb', quant_bits=4))


@pytest.fixture(scope='module')
def qlora_args():
    return QloraArgs(tuner_type='lora', quant_method='bnb', quant_bits=4, lora_dropout=0.0)


def load_4bit(path, args):
    return load_model(path, quantization_config=build_quantization_config(args), device_map='cpu',
                      dtype=torch.float32)


@needs_bnb
def test_qlora_trains_saves_and_reloads_on_cpu(tiny_dir, tokens, tmp_path, qlora_args):
    full_precision_total = count_parameters(load_model(tiny_dir))[1]
    model = prepare_tuner(load_4bit(tiny_dir, qlora_args), qlora_args)
    q_proj = model.base_model.model.model.layers[0].self_attn.q_proj
    assert type(q_proj.base_layer).__name__ == 'Linear4bit'
    assert type(q_proj).__module__ == 'peft.tuners.lora.bnb'  # PEFT's own 4-bit LoRA layer, not the fused one
    trainable, total = count_parameters(model)
    assert total == full_precision_total + trainable  # 4-bit weights counted unpacked

    losses = train(model, tokens, steps=3)
    assert losses[-1] < losses[0]
    expected = logits(model, tokens)
    save_tuned_model(model, tmp_path)
    reloaded = load_adapters(load_4bit(tiny_dir, qlora_args), [str(tmp_path)])
    keep_4bit_weights_trainable(reloaded)  # the same 4-bit kernels as the trained model (not CPU inference's)
    assert torch.allclose(logits(reloaded, tokens), expected, atol=1e-6, rtol=0)


def _adapter_grads(model, tokens):
    model.zero_grad()
    model.train()
    model(input_ids=tokens, labels=tokens).loss.backward()
    return [name for name, param in model.named_parameters() if 'lora_' in name and param.grad is not None]


@needs_bnb
@pytest.mark.parametrize('evaluated_before', [False, True], ids=['prepared-then-evaluated', 'evaluated-then-prepared'])
def test_qlora_keeps_learning_after_an_evaluation(tiny_dir, tokens, qlora_args, evaluated_before):
    """An eval-mode forward without gradients (evaluation, the chunked-loss check, a chat before training) must
    not cut the adapters' gradients: bitsandbytes repacks 4-bit weights for CPU inference there."""
    model = load_4bit(tiny_dir, qlora_args)
    if evaluated_before:
        logits(model, tokens)
    model = prepare_tuner(model, qlora_args)
    expected = _adapter_grads(model, tokens)
    assert expected
    logits(model, tokens)  # eval mode, no gradients
    assert _adapter_grads(model, tokens) == expected


@needs_bnb
def test_quantised_models_reject_full_training_and_cpu_loftq(tiny_dir, qlora_args):
    from dataclasses import replace
    with pytest.raises(SwiftError, match='quantised model cannot'):
        prepare_tuner(load_4bit(tiny_dir, qlora_args), replace(qlora_args, tuner_type='full'))
    if not torch.cuda.is_available():
        with pytest.raises(SwiftError, match='CUDA or XPU'):
            prepare_tuner(load_4bit(tiny_dir, qlora_args), replace(qlora_args, init_weights='loftq'))


# ---- HQQ (--quant_method hqq): hqq's own API quantizes the loaded model, peft's HQQ LoRA layer trains on it ----

def test_hqq_config_and_its_errors():
    from swift.model.hqq_format import HqqQuantization
    assert build_quantization_config(QloraArgs(quant_method='hqq', quant_bits=3)) == HqqQuantization(bits=3)
    assert build_quantization_config(QloraArgs(quant_method='hqq', quant_bits=4, hqq_axis=0)).axis == 0
    with pytest.raises(SwiftError, match='--quant_bits 2 or 3 or 4 or 8, not 5'):
        QloraArgs(quant_method='hqq', quant_bits=5)
    with pytest.raises(SwiftError, match='--hqq_axis 0: 0 or 1, and only with --quant_method hqq'):
        QloraArgs(quant_method='bnb', quant_bits=4, hqq_axis=0)


def load_hqq(path, bits=4):
    from swift.model.hqq_format import quantize_with_hqq
    return quantize_with_hqq(load_model(path, dtype=torch.float32), bits, group_size=64).eval()


def test_hqq_qlora_trains_saves_and_reloads_on_cpu(tiny_dir, tokens, tmp_path):
    """Every projection becomes hqq's HQQLinear, --target_modules all-linear finds them (PEFT's own shorthand
    knows nn.Linear only), peft's HQQ LoRA layer trains, and the saved adapter gives the same logits on a freshly
    quantized base (HQQ is deterministic: no calibration)."""
    from dataclasses import replace
    args = QloraArgs(tuner_type='lora', quant_method='hqq', quant_bits=4, lora_dropout=0.0)
    model = prepare_tuner(load_hqq(tiny_dir), args)
    layers = model.base_model.model.model.layers
    wrapped = [layers[0].self_attn.q_proj, layers[0].mlp.down_proj, layers[1].self_attn.o_proj]
    assert all(type(m.base_layer).__name__ == 'HQQLinear' for m in wrapped)
    assert all(type(m).__module__ == 'peft.tuners.lora.hqq' for m in wrapped)
    assert sum(type(m).__module__ == 'peft.tuners.lora.hqq' for m in model.modules()) == 2 * 7
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    assert before and all('lora_' in n for n in before)  # the quantized base is frozen
    losses = train(model, tokens, steps=3)
    assert losses[-1] < losses[0]
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters() if n in before)
    expected = logits(model, tokens)
    save_tuned_model(model, tmp_path)
    reloaded = load_adapters(load_hqq(tiny_dir), [str(tmp_path)])
    assert torch.allclose(logits(reloaded, tokens), expected, atol=1e-6, rtol=0)
    with pytest.raises(SwiftError, match='quantised model cannot'):
        prepare_tuner(load_hqq(tiny_dir), replace(args, tuner_type='full'))


def test_swift_sft_quant_method_hqq(tiny_model_dir, tmp_path, monkeypatch):
    """`swift sft --quant_method hqq --quant_bits 4` end to end: the loader quantizes with hqq, LoRA trains,
    and the checkpoint serves on the unquantized base (as a bnb QLoRA checkpoint does)."""
    import json

    from swift.infer import InferRequest, RequestConfig
    from swift.infer.transformers_engine import PtEngine
    import swift.model.loader as loader
    from swift.training.sft import sft_main
    quantized, real_quantizer = [], loader.quantize_with_hqq

    def record(*args, **kwargs):  # the real quantizer, watched: the model it quantized
        quantized.append(real_quantizer(*args, **kwargs))
        return quantized[-1]
    monkeypatch.setattr(loader, 'quantize_with_hqq', record)
    rows = tmp_path / 'rows.jsonl'
    rows.write_text(''.join(json.dumps({'messages': [{'role': 'user', 'content': f'Say {w}'},
                                                     {'role': 'assistant', 'content': w}]}) + '\n'
                            for w in ['one', 'two', 'three', 'four'] * 2))
    result = sft_main(model=str(tiny_model_dir), dataset=[str(rows)], quant_method='hqq', quant_bits=4,
                      tuner_type='lora', max_steps=3, per_device_train_batch_size=2, save_steps=3, logging_steps=1,
                      report_to=[], output_dir=str(tmp_path / 'run'))
    assert len(quantized) == 1 and sum(type(m).__name__ == 'HQQLinear' for m in quantized[0].modules()) == 2 * 7
    saved = json.loads((Path(result.last_checkpoint) / 'args.json').read_text())
    assert saved['quant_method'] == 'hqq' and saved['quant_bits'] == 4
    with PtEngine(str(tiny_model_dir), adapters=[result.last_checkpoint], max_batch_size=1) as engine:
        answer = engine.infer([InferRequest([{'role': 'user', 'content': 'Say one'}])],
                              RequestConfig(max_tokens=3, temperature=0))[0]
    assert answer.usage.completion_tokens >= 1
