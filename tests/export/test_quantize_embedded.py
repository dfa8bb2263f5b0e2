"""`swift export --quant_method fp8` on the embedded SmolLM2-135M-Instruct: the issue's 8-bit target (perplexity
within 2% of the source's) holds for the default W8A8 scheme (FP8_DYNAMIC), measured by the export itself on the
directory reloaded with plain transformers. Round-to-nearest FP8 (llm-compressor's QuantizationModifier, what
swift wrote before) gave +6.9% on these rows; GPTQ's choice of the e4m3 weights gives +1.5% (docs/benchmarks.md,
the same rows). Costs ~95 s of CPU (calibration on 16 rows, perplexity on 32 before and after)."""
import json

from swift.export.main import export_main


def test_fp8_w8a8_export_stays_within_two_percent_of_the_source(smollm_dir, shared_data, tmp_path, capsys):
    output = tmp_path / 'fp8'
    export_main(model=str(smollm_dir), dataset=[f'{shared_data}/alpaca_en/alpaca_data_4000.json#96'],
                quant_n_samples=16, max_length=256, quant_method='fp8', quant_bits=8, output_dir=str(output))
    report = json.loads((output / 'export_report.json').read_text())
    assert report['fp8_scheme'] == 'w8a8' and report['calibration_rows'] == 16 and report['held_out_rows'] >= 30
    change = report['perplexity_after'] / report['perplexity_before'] - 1
    assert change < 0.02, (f'FP8 W8A8 perplexity {report["perplexity_before"]:.3f} → '
                           f'{report["perplexity_after"]:.3f} ({change:+.1%}), over the 2% target')
    config = json.loads((output / 'config.json').read_text())['quantization_config']
    assert config['format'] == 'float-quantized'  # the FP8_DYNAMIC layout vLLM loads, whatever chose the values
    assert 'perplexity' in capsys.readouterr().out
