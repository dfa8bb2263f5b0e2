"""`swift export --quant_method ...`: BNB 4/8-bit directories load in plain transformers and keep perplexity
close; every export reports perplexity before/after and size; bad input gets a clear error."""
import json
import math
from pathlib import Path

import pytest
import torch

from swift.export.main import export_main
from swift.utils import SwiftError

ROWS = [{'messages': [{'role': 'user', 'content': f'Tell me fact number {i} about the sea.'},
                      {'role': 'assistant', 'content': f'Fact {i}: the sea covers most of the Earth and is salty.'}]}
        for i in range(12)]


@pytest.fixture(scope='module')
def rows_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('rows') / 'rows.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in ROWS))
    return path


@pytest.mark.parametrize('bits,quant_type', [(4, 'nf4'), (8, 'nf4')])
def test_bnb_export_loads_in_plain_transformers(tiny_model_dir, rows_file, tmp_path, bits, quant_type, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    out = Path(export_main(model=str(tiny_model_dir), template='smollm2', quant_method='bnb', quant_bits=bits,
                           bnb_4bit_quant_type=quant_type, dataset=[str(rows_file)], quant_n_samples=4,
                           output_dir=str(tmp_path / 'q')).output_dir)
    report = json.loads((out / 'export_report.json').read_text())
    assert report['held_out_rows'] == 8 and report['calibration_rows'] == 4
    assert f'perplexity {report["perplexity_before"]:.3f}' in capsys.readouterr().out
    model = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    config = model.config.quantization_config
    assert (config.load_in_4bit if bits == 4 else config.load_in_8bit)
    if bits == 4:
        assert config.bnb_4bit_quant_type == quant_type and config.bnb_4bit_use_double_quant
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    assert tokenizer.chat_template and (out / 'generation_config.json').is_file()
    ids = tokenizer('The sea is', return_tensors='pt').input_ids
    with torch.inference_mode():
        assert torch.isfinite(model(ids).logits).all()
    # a random tiny model: perplexity is huge either way; the quantized one stays within 10% of it
    assert abs(report['perplexity_after'] / report['perplexity_before'] - 1) < 0.1
    if bits == 4:  # swift infer --model <exported dir>: the template comes from its args.json
        from swift.infer import InferRequest, RequestConfig
        from swift.infer.transformers_engine import PtEngine
        with PtEngine(str(out), max_batch_size=1) as engine:
            assert engine.template.name == 'smollm2'
            response = engine.infer([InferRequest([{'role': 'user', 'content': 'Hi'}])],
                                    RequestConfig(max_tokens=4, temperature=0))[0]
            assert response.usage.completion_tokens == 4


def test_bits_and_methods_are_checked():
    with pytest.raises(SwiftError, match='quant_method must be one of'):
        export_main(model='x', quant_method='gguf', quant_bits=4)
    with pytest.raises(SwiftError, match='writes 4-bit weights, not --quant_bits 8'):
        export_main(model='x', quant_method='awq', quant_bits=8)
    with pytest.raises(SwiftError, match='fp8 writes 8-bit weights, not --quant_bits 4'):
        export_main(model='x', quant_method='fp8', quant_bits=4)
    with pytest.raises(SwiftError, match='gptq writes 4 or 8-bit weights, not --quant_bits 3'):
        export_main(model='x', quant_method='gptq', quant_bits=3)
    with pytest.raises(SwiftError, match='bnb writes 4 or 8-bit weights, not --quant_bits None'):
        export_main(model='x', quant_method='bnb')
    with pytest.raises(SwiftError, match='needs --quant_method'):
        export_main(model='x', to_gguf=True, quant_bits=4)
    with pytest.raises(SwiftError, match='fp8_scheme must be one of'):
        export_main(model='x', quant_method='fp8', quant_bits=8, fp8_scheme='w4a16')
    with pytest.raises(SwiftError, match='--fp8_scheme w8a16 is for --quant_method fp8, not gptq'):
        export_main(model='x', quant_method='gptq', quant_bits=8, fp8_scheme='w8a16')


def test_existing_output_dir_is_refused(tiny_model_dir, tmp_path):
    (tmp_path / 'q').mkdir()
    (tmp_path / 'q' / 'x').write_text('mine')
    with pytest.raises(SwiftError, match='already exists'):
        export_main(model=str(tiny_model_dir), quant_method='bnb', quant_bits=4, output_dir=str(tmp_path / 'q'))


def test_calibration_dataset_without_rows(tiny_model_dir, tmp_path):
    empty = tmp_path / 'empty.jsonl'
    empty.write_text(json.dumps({'messages': [{'role': 'user', 'content': ''}]}) + '\n')
    with pytest.raises(SwiftError, match='no usable rows'):
        export_main(model=str(tiny_model_dir), template='smollm2', quant_method='bnb', quant_bits=4,
                    dataset=[str(empty)], output_dir=str(tmp_path / 'q'))
    assert not (tmp_path / 'q').exists()


# (method, bits): the grid every quantized weight must lie on after transformers decompresses it
LLMC_GRIDS = {('gptq', 4): 'int4', ('awq', 4): 'int4', ('fp8', 8): 'fp8'}
# compressed-tensors' format per (method, --fp8_scheme): weight-only FP8 is "naive-quantized" (the same FP8 tensors;
# vLLM's compressed-tensors loader maps it, weights FP8 and no input activations, to its W8A16-FP8 scheme)
FORMATS = {('gptq', 'w8a8'): 'pack-quantized', ('awq', 'w8a8'): 'pack-quantized', ('fp8', 'w8a8'): 'float-quantized',
           ('fp8', 'w8a16'): 'naive-quantized'}


@pytest.mark.parametrize('method,bits,fp8_scheme', [('gptq', 4, 'w8a8'), ('awq', 4, 'w8a8'), ('fp8', 8, 'w8a8'),
                                                    ('fp8', 8, 'w8a16')],
                         ids=['gptq-4', 'awq-4', 'fp8-8', 'fp8-8-w8a16'])
def test_llm_compressor_export_loads_in_plain_transformers(tiny_model_dir, rows_file, tmp_path, method, bits,
                                                           fp8_scheme):
    """GPTQ / AWQ / FP8 really run (llm-compressor on CPU) and write compressed-tensors that transformers
    opens (plain from_pretrained for FP8; asymmetric int4 with `CompressedTensorsConfig(dequantize=True)`, the
    documented way: transformers 5.24 cannot load packed zero points into compressed layers): every quantized
    Linear's weight, decompressed, lies on its 4-bit grid (integer steps of its group scale, at most 16 levels
    per group of 32) or on the FP8 grid (× its channel scale) and differs from the source weight; perplexity
    stays close. vLLM would get quantization='compressed-tensors'. FP8 W8A8 quantizes activations per token at
    run time; FP8 W8A16 (--fp8_scheme w8a16) does not: its logits are exactly those of its weights."""
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM, CompressedTensorsConfig
    from swift.infer.backends.vllm_engine import vllm_quantization
    extra_args = {'fp8_scheme': fp8_scheme} if method == 'fp8' else {}
    out = Path(export_main(model=str(tiny_model_dir), template='smollm2', quant_method=method, quant_bits=bits,
                           group_size=32, dataset=[str(rows_file)], quant_n_samples=2,  # 2: the mechanics, fast
                           output_dir=str(tmp_path / method), **extra_args).output_dir)
    config = json.loads((out / 'config.json').read_text())['quantization_config']
    assert config['quant_method'] == 'compressed-tensors' and config['ignore'] == ['lm_head']
    assert config['format'] == FORMATS[(method, fp8_scheme)]
    group = config['config_groups']['group_0']
    assert group['weights']['symmetric'] == (method == 'fp8')
    if method == 'fp8':  # e4m3 weights per output channel, static; activations FP8 per token (w8a8) or none
        assert (group['weights']['type'], group['weights']['strategy'], group['weights']['dynamic']) == \
            ('float', 'channel', False)
        activations = group['input_activations']
        assert activations is None if fp8_scheme == 'w8a16' else \
            (activations['type'], activations['strategy'], activations['dynamic']) == ('float', 'token', True)
    assert vllm_quantization(str(out)) == 'compressed-tensors'
    assert (out / 'recipe.yaml').is_file() and (out / 'chat_template.jinja').is_file()
    source = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)).eval()
    extra = {} if method == 'fp8' else {'quantization_config': CompressedTensorsConfig(dequantize=True)}
    model = AutoModelForCausalLM.from_pretrained(str(out), **extra).eval()
    with torch.inference_mode():
        model(torch.tensor([[1, 2, 3]]))  # compressed-tensors decompresses on the first forward pass
    with safe_open(str(out / 'model.safetensors'), 'pt') as saved:
        scales = {key[:-len('.weight_scale')]: saved.get_tensor(key) for key in saved.keys()
                  if key.endswith('.weight_scale')}
    assert len(scales) == 14  # 7 projections × 2 layers; lm_head stays unquantized
    for name, scale in scales.items():
        weight = model.get_submodule(name).weight.detach()
        if LLMC_GRIDS[(method, bits)] == 'int4':  # (q - zero point) × scale, one scale per 32 inputs
            steps = weight.view(weight.shape[0], -1, 32) / scale[:, :, None]
            assert torch.allclose(steps, steps.round(), atol=1e-3)
            assert (steps.amax(-1) - steps.amin(-1)).max() <= 15 + 1e-3
        else:  # FP8 e4m3 per output channel
            steps = weight / scale
            assert torch.allclose(steps, steps.to(torch.float8_e4m3fn).float(), rtol=1e-5, atol=1e-6)
        original = source.get_submodule(name).weight.detach()
        assert not torch.equal(weight, original) and (weight - original).abs().max() < 0.5 * original.abs().max()
    if method == 'fp8':  # the decompressed weights in a plain model: same logits iff activations stay 16/32-bit
        plain = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)).eval()
        loaded = plain.load_state_dict({f'{name}.weight': model.get_submodule(name).weight.detach()
                                        for name in scales}, strict=False)
        assert not loaded.unexpected_keys
        with torch.inference_mode():
            ids = torch.tensor([[5, 17, 300, 2000, 41, 9]])
            same = torch.equal(model(ids).logits, plain(ids).logits)
        assert same == (fp8_scheme == 'w8a16')
    report = json.loads((out / 'export_report.json').read_text())
    assert report['calibration_rows'] == 2 and report['held_out_rows'] == 10
    assert report.get('fp8_scheme') == (fp8_scheme if method == 'fp8' else None)
    change = report['perplexity_after'] / report['perplexity_before'] - 1
    assert change != 0 and abs(change) < 0.1
    if method == 'gptq':  # swift infer --model <exported dir> serves it (template from its args.json)
        from swift.infer import InferRequest, RequestConfig
        from swift.infer.transformers_engine import PtEngine
        with PtEngine(str(out), max_batch_size=1) as engine:
            assert engine.template.name == 'smollm2'
            response = engine.infer([InferRequest([{'role': 'user', 'content': 'Hi'}])],
                                    RequestConfig(max_tokens=4, temperature=0))[0]
            assert response.usage.completion_tokens == 4
        _lora_trains_on(out, rows_file, tmp_path / 'run')


def _lora_trains_on(exported, rows_file, run_dir):
    """`swift sft --model <compressed-tensors dir> --tuner_type lora` on CPU: the base loads dequantized (its
    weights are the quantized values, frozen), one step gives a finite loss and moves the adapter."""
    from safetensors.torch import load_file
    from swift.training.sft import sft_main
    result = sft_main(dict(model=str(exported), dataset=[str(rows_file)], output_dir=str(run_dir), add_version=False,
                           max_steps=1, save_steps=1, logging_steps=1, per_device_train_batch_size=4,
                           learning_rate=5e-2, lora_dropout=0.0, warmup_ratio=0.0, report_to=['none'], seed=1,
                           tuner_type='lora'))
    losses = [entry['loss'] for entry in result.log_history if 'loss' in entry]
    assert len(losses) == 1 and math.isfinite(losses[0])
    weights = load_file(str(Path(result.last_checkpoint) / 'adapter_model.safetensors'))
    assert any('lora_B' in name and tensor.abs().max() > 0 for name, tensor in weights.items())


def test_llm_compressor_methods_say_what_to_install(tiny_model_dir, tmp_path, monkeypatch):
    import importlib.util
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'llmcompressor'
                        else find_spec(name, *a))
    for method, bits in (('gptq', 4), ('awq', 4), ('fp8', 8)):
        with pytest.raises(SwiftError, match=r'llmcompressor not installed\): install the `llm-compressor` extra'):
            export_main(model=str(tiny_model_dir), quant_method=method, quant_bits=bits,
                        output_dir=str(tmp_path / method))
        assert not (tmp_path / method).exists()


def test_group_size_must_divide_the_layer_widths(tiny_model_dir, rows_file, tmp_path):
    """The default --group_size 128 does not tile the tiny model's 64-wide projections (nor SmolLM2-135M's 576):
    a clear error before calibration, nothing written."""
    with pytest.raises(SwiftError, match=r'--group_size 128 does not divide the input width 64 of '
                                         r'model\.layers\.0\.self_attn\.q_proj'):
        export_main(model=str(tiny_model_dir), template='smollm2', quant_method='gptq', quant_bits=4,
                    dataset=[str(rows_file)], output_dir=str(tmp_path / 'q'))
    assert not (tmp_path / 'q').exists()


@pytest.mark.parametrize('strategy, pieces', [('delete', []), ('right', [[1, 2, 3, 4]]), ('left', [[3, 4, 5, 6]]),
                                              ('split', [[1, 2, 3, 4], [5, 6]])])
def test_calibration_rows_follow_the_truncation_strategy(strategy, pieces):
    from types import SimpleNamespace

    from swift.export.quantize import _fit
    args = SimpleNamespace(calibration_length=4, truncation_strategy=strategy)
    assert _fit([1, 2, 3, 4, 5, 6], args) == pieces
    assert _fit([1, 2, 3], args) == [[1, 2, 3]]
    with pytest.raises(SwiftError, match='over --max_length 4'):
        _fit([1, 2, 3, 4, 5, 6], SimpleNamespace(calibration_length=4, truncation_strategy='error'))


def test_qlora_trains_on_a_bnb_export(tiny_model_dir, rows_file, tmp_path):
    """QLoRA on top of an exported 4-bit directory (`swift sft --model <bnb dir> --tuner_type lora`), on CPU:
    the LoRA layers wrap bitsandbytes' Linear4bit, the loss is finite, the adapter moves and `swift infer
    --adapters <checkpoint>` loads it on the 4-bit base named in the checkpoint's args.json."""
    import bitsandbytes as bnb
    from safetensors.torch import load_file
    from swift.infer import InferRequest, RequestConfig
    from swift.infer.transformers_engine import PtEngine
    from swift.training.sft import sft_main
    from swift.utils.checkpoint import read_run_args
    out = export_main(model=str(tiny_model_dir), template='smollm2', quant_method='bnb', quant_bits=4,
                      dataset=[str(rows_file)], quant_n_samples=4, output_dir=str(tmp_path / 'q')).output_dir
    result = sft_main(dict(model=out, dataset=[str(rows_file)], output_dir=str(tmp_path / 'run'), add_version=False,
                           max_steps=2, save_steps=2, logging_steps=1, per_device_train_batch_size=4,
                           learning_rate=5e-2, lora_dropout=0.0, warmup_ratio=0.0, report_to=['none'], seed=1,
                           tuner_type='lora'))
    losses = [entry['loss'] for entry in result.log_history if 'loss' in entry]
    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses)
    checkpoint = Path(result.last_checkpoint)
    weights = load_file(str(checkpoint / 'adapter_model.safetensors'))
    assert any('lora_B' in name and tensor.abs().max() > 0 for name, tensor in weights.items())
    assert read_run_args(checkpoint)['model'] == out
    with PtEngine(out, adapters=[str(checkpoint)], max_batch_size=1) as engine:
        lora_layers = [m for m in engine.model.modules() if hasattr(m, 'lora_A')]
        assert lora_layers and all(isinstance(m.base_layer, bnb.nn.Linear4bit) for m in lora_layers)
        response = engine.infer([InferRequest([{'role': 'user', 'content': 'Hi'}])],
                                RequestConfig(max_tokens=4, temperature=0))[0]
        assert response.usage.completion_tokens == 4


@pytest.mark.parametrize('bits,axis,limit', [(8, 1, 0.01), (4, 1, 0.2), (3, 1, 0.35), (2, 0, 0.7)])
def test_hqq_export_loads_with_hqqs_loader(tiny_model_dir, rows_file, tmp_path, bits, axis, limit, capsys,
                                          monkeypatch):
    """The directory opens with hqq's own loader (no swift), its Linear layers are HQQLinear at the requested bits,
    group size and axis, and its logits stay close to the source model's. Relative error of the logits, measured on
    this random tiny model at group 32: 0.004 / 0.106 / 0.208 / 0.449 for 8 / 4 / 3 / 2 bits along hqq's default
    axis 1, 0.006 / 0.095 / 0.160 / 0.471 along axis 0 (a model of zeros would give 1.0). Four cases, not eight:
    each costs 10-25 s on the shared machine."""
    from hqq.core.quantize import HQQLinear
    from hqq.models.hf.base import AutoHQQHFModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    out = Path(export_main(model=str(tiny_model_dir), template='smollm2', quant_method='hqq', quant_bits=bits,
                           group_size=32, hqq_axis=axis, dataset=[str(rows_file)], quant_n_samples=4,
                           output_dir=str(tmp_path / 'q')).output_dir)
    report = json.loads((out / 'export_report.json').read_text())
    assert report['method'] == 'hqq' and report['bits'] == bits and report['group_size'] == 32
    assert report['hqq_axis'] == axis
    assert report['held_out_rows'] == 8 and f'hqq {bits}-bit: perplexity' in capsys.readouterr().out
    model = AutoHQQHFModel.from_quantized(str(out), device='cpu', compute_dtype=torch.float32).eval()
    layers = [m for m in model.modules() if isinstance(m, HQQLinear)]
    assert len(layers) == 7 * model.config.num_hidden_layers  # every projection; lm_head stays as it was
    assert all(m.meta['nbits'] == bits and m.meta['group_size'] == 32 and m.meta['axis'] == axis for m in layers)
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    assert tokenizer.chat_template and (out / 'generation_config.json').is_file()
    source = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32).eval()
    ids = tokenizer('The sea is salty because rivers carry minerals into it', return_tensors='pt').input_ids
    with torch.inference_mode():
        reference, logits = source(ids).logits, model(ids).logits
    error = float((logits - reference).norm() / reference.norm())
    assert error < limit, f'{bits}-bit logits differ by {error:.3f} (relative), over {limit}'
    assert math.isfinite(report['perplexity_after'])
    if bits == 4 and axis == 1:  # swift infer --model <exported dir>: hqq's loader, the template from its args.json
        from swift.infer import InferRequest, RequestConfig
        from swift.infer.transformers_engine import PtEngine
        with PtEngine(str(out), max_batch_size=1) as engine:
            assert engine.template.name == 'smollm2'
            assert sum(isinstance(m, HQQLinear) for m in engine.model.modules()) == len(layers)
            response = engine.infer([InferRequest([{'role': 'user', 'content': 'Hi'}])],
                                    RequestConfig(max_tokens=4, temperature=0))[0]
            assert response.usage.completion_tokens == 4
        # QLoRA on the export (swift sft --model <hqq dir> --tuner_type lora): peft's HQQ LoRA layer, then the
        # checkpoint served on that base (swift infer --model <hqq dir> --adapters <checkpoint>)
        from swift.training.sft import sft_main
        result = sft_main(dict(model=str(out), dataset=[str(rows_file)], output_dir=str(tmp_path / 'run'),
                               add_version=False, max_steps=2, save_steps=2, logging_steps=1,
                               per_device_train_batch_size=4, learning_rate=5e-2, lora_dropout=0.0, warmup_ratio=0.0,
                               report_to=['none'], seed=1, tuner_type='lora'))
        assert all(math.isfinite(e['loss']) for e in result.log_history if 'loss' in e)
        with PtEngine(str(out), adapters=[result.last_checkpoint], max_batch_size=1) as engine:
            lora_layers = [m for m in engine.model.modules() if hasattr(m, 'lora_A')]
            assert len(lora_layers) == len(layers) and all(isinstance(m.base_layer, HQQLinear) for m in lora_layers)
            assert engine.infer([InferRequest([{'role': 'user', 'content': 'Hi'}])],
                                RequestConfig(max_tokens=4, temperature=0))[0].usage.completion_tokens == 4
        # vLLM does not read hqq's qmodel.pt: one clear error before the library runs (a stand-in module)
        import sys
        import types

        from swift.infer.backends import get_infer_engine
        monkeypatch.setitem(sys.modules, 'vllm', types.ModuleType('vllm'))
        with pytest.raises(SwiftError, match="in hqq's own format .* which vllm does not read"):
            get_infer_engine('vllm', str(out))


def test_hqq_bits_and_group_size_are_checked(tiny_model_dir, tmp_path):
    with pytest.raises(SwiftError, match='hqq writes 2 or 3 or 4 or 8-bit weights, not --quant_bits 5'):
        export_main(model='x', quant_method='hqq', quant_bits=5)
    with pytest.raises(SwiftError, match='--hqq_axis 2: 0 or 1'):
        export_main(model='x', quant_method='hqq', quant_bits=4, hqq_axis=2)
    with pytest.raises(SwiftError, match='only with --quant_method hqq'):
        export_main(model='x', quant_method='gptq', quant_bits=4, hqq_axis=0)
    with pytest.raises(SwiftError, match=r'--group_size 48 does not divide the input width 64 .* \(--hqq_axis 1\)'):
        export_main(model=str(tiny_model_dir), quant_method='hqq', quant_bits=4, group_size=48,
                    output_dir=str(tmp_path / 'q'))
    with pytest.raises(SwiftError, match=r'--group_size 48 does not divide the weight count 4096 .* \(--hqq_axis 0\)'):
        export_main(model=str(tiny_model_dir), quant_method='hqq', quant_bits=4, group_size=48, hqq_axis=0,
                    output_dir=str(tmp_path / 'q2'))


def test_hqq_says_what_to_install(tiny_model_dir, tmp_path, monkeypatch):
    import importlib.util
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'hqq' else find_spec(name, *a))
    with pytest.raises(SwiftError, match=r'--quant_method hqq needs the hqq package: DISABLE_CUDA=1 pip install'):
        export_main(model=str(tiny_model_dir), quant_method='hqq', quant_bits=4, output_dir=str(tmp_path / 'q'))
    assert not (tmp_path / 'q').exists()
