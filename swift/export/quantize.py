"""`swift export --quant_method bnb|gptq|awq|fp8|hqq --quant_bits N`: a quantized model directory that its consumer
loads without swift, with the tokenizer, chat template and generation config beside it.

    bnb   bitsandbytes NF4/FP4 (double quantization) or LLM.int8, saved with transformers' serialization:
          plain `AutoModelForCausalLM.from_pretrained(dir)` loads it (CPU and GPU).
    gptq  llm-compressor's GPTQModifier (W4A16_ASYM / W8A16), compressed-tensors format: vLLM, SGLang, transformers.
    awq   llm-compressor's AWQModifier + W4A16_ASYM. AutoAWQ is archived upstream (its authors point to
          llm-compressor) and pins old torch/transformers; llm-compressor is where AWQ is maintained now.
    fp8   llm-compressor's GPTQModifier with an FP8 scheme: FP8_DYNAMIC (W8A8, dynamic per-token activations), or
          FP8 weights only with --fp8_scheme w8a16; GPTQ picks the e4m3 weights on the calibration rows.
    hqq   hqq's HQQ (2/3/4/8-bit, no calibration), in hqq's own format: hqq's AutoHQQHFModel.from_quantized loads
          it (swift/export/hqq.py says why not transformers').
    (swift/export/llm_compressor.py has the recipes.)

Quality is measured, not assumed: the rows of --dataset are split into calibration rows (the first
--quant_n_samples) and held-out rows; perplexity on the held-out rows is printed before and after, with the
size on disk, and written to the directory's export_report.json. For GPTQ/AWQ/FP8 the "after" number is
measured on the directory as a consumer opens it (reloaded with plain transformers; HQQ: with hqq's loader), not on
the in-memory model.
"""
import importlib.util
import math
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple

from swift.arguments import ExportArguments
from swift.utils import SwiftError, atomic_dir, get_logger
from swift.utils.checkpoint import write_run_args
from swift.utils.io import atomic_write_json

from . import hqq, llm_compressor
from .checks import default_output_dir
from .merge_lora import load_export_model

logger = get_logger()

HELD_OUT_ROWS = 32  # perplexity rows: enough for a stable number, few enough for CPU


def export_quantized(args: ExportArguments) -> Path:
    output_dir = default_output_dir(args)
    if args.quant_method == 'hqq':
        hqq.require_hqq('--quant_method hqq')
    elif args.quant_method != 'bnb':
        llm_compressor.require_llm_compressor(args.quant_method)
    loaded = load_export_model(args, dtype='float32')
    llm_compressor.check_group_size(loaded.model, args.quant_method, args.group_size)
    if args.quant_method == 'hqq':
        hqq.check_group_size(loaded.model, args.group_size, args.hqq_axis)
    calibration, held_out = _rows(args, loaded.template, loaded.tokenizer)
    before = perplexity(loaded.model, held_out)
    logger.info(f'perplexity before quantization: {before:.3f} on {len(held_out)} held-out rows')
    with atomic_dir(output_dir) as tmp:
        if args.quant_method == 'bnb':
            model = _bnb(args, loaded)
            after = perplexity(model, held_out)
            model.save_pretrained(str(tmp), max_shard_size=args.max_shard_size)
        elif args.quant_method == 'hqq':  # no calibration: the calibration rows are only held out of perplexity
            hqq.save(hqq.quantize(loaded.model, args.quant_bits, args.group_size, args.hqq_axis), tmp)
            after = perplexity(hqq.load(tmp, device=str(next(loaded.model.parameters()).device)), held_out)
        else:
            llm_compressor.quantize(loaded.model, args.quant_method, args.quant_bits, args.group_size, calibration,
                                    args.calibration_length, args.quant_batch_size, args.fp8_scheme)
            loaded.model.save_pretrained(str(tmp), max_shard_size=args.max_shard_size, save_compressed=True)
            after = perplexity(_reload(tmp), held_out)
        loaded.tokenizer.save_pretrained(str(tmp))
        scheme = {'fp8_scheme': args.fp8_scheme} if args.quant_method == 'fp8' else \
            {'group_size': args.group_size, 'hqq_axis': args.hqq_axis} if args.quant_method == 'hqq' else {}
        report = {'method': args.quant_method, 'bits': args.quant_bits, **scheme, 'perplexity_before': before,
                  'perplexity_after': after, 'held_out_rows': len(held_out), 'calibration_rows': len(calibration),
                  'size_bytes': directory_size(tmp)}
        write_run_args(tmp, {'model': loaded.info.model_id, 'model_type': loaded.info.model_type,
                             'template': loaded.template.name, 'system': args.system, 'adapters': args.adapters,
                             'quant_method': args.quant_method, 'quant_bits': args.quant_bits, **scheme})
        atomic_write_json(Path(tmp) / 'export_report.json', report)
    change = 100 * (after / before - 1)
    what = f'{args.quant_method} {args.quant_bits}-bit' + \
        (f' ({args.fp8_scheme})' if args.quant_method == 'fp8' else '')
    message = (f'{what}: perplexity {before:.3f} → {after:.3f} ({change:+.1f}%), '
               f'{report["size_bytes"] / 2**20:.1f} MiB on disk in {output_dir}')
    logger.info(message)
    print(message)
    return output_dir


# ---- bitsandbytes ----
def _bnb(args: ExportArguments, loaded):
    """Quantized by transformers at load time: save the (merged) fp32 model, reload it with a BitsAndBytesConfig."""
    if importlib.util.find_spec('bitsandbytes') is None:
        raise SwiftError('--quant_method bnb needs bitsandbytes: pip install "swift-llm[qlora]"')
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    if args.quant_bits == 8:
        config = BitsAndBytesConfig(load_in_8bit=True)
    else:
        config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=args.bnb_4bit_quant_type,
                                    bnb_4bit_use_double_quant=args.bnb_4bit_use_double_quant,
                                    bnb_4bit_compute_dtype='float32')
    with tempfile.TemporaryDirectory() as tmp:
        loaded.model.save_pretrained(tmp)
        model = AutoModelForCausalLM.from_pretrained(tmp, quantization_config=config, dtype='float32')
    model.generation_config = loaded.model.generation_config
    return model.eval()


def _reload(directory):
    """The compressed-tensors directory as transformers opens it (decompressed on CPU; asymmetric int4 with
    `CompressedTensorsConfig(dequantize=True)`, as swift/model/loader.py and docs/export.md load it)."""
    from transformers import AutoModelForCausalLM
    from swift.model.loader import checkpoint_quantization_config
    config = checkpoint_quantization_config(directory)
    extra = {} if config is None else {'quantization_config': config}
    return AutoModelForCausalLM.from_pretrained(str(directory), dtype='float32', **extra).eval()


# ---- rows and perplexity ----
def _rows(args: ExportArguments, template, tokenizer) -> Tuple[List[Dict], List[Dict]]:
    """(calibration rows, held-out rows), each {'input_ids': [...]}, rendered with the model's template."""
    from swift.dataset import load_datasets
    specs = args.dataset or ['swift/self-cognition']
    rows = load_datasets(specs, use_hf=args.use_hf, seed=args.seed, model_name=['Swift', 'Swift'],
                         model_author=['ModelScope', 'ModelScope'], log=False).train
    encoded = []
    for row in rows:
        text = template.render(row['messages'], add_generation_prompt=False)
        ids = tokenizer(text, add_special_tokens=False).input_ids
        encoded += [{'input_ids': piece} for piece in _fit(ids, args) if len(piece) >= 2]
    if not encoded:
        raise SwiftError(f'--dataset {" ".join(specs)} yielded no rows with text to calibrate on or measure with')
    if len(encoded) < 2:
        raise SwiftError(f'--dataset {" ".join(specs)} yielded 1 row: at least 2 are needed (calibration and '
                         'held-out perplexity)')
    n_calibration = min(args.quant_n_samples, len(encoded) // 2) if len(encoded) <= args.quant_n_samples \
        else args.quant_n_samples
    return encoded[:n_calibration], encoded[n_calibration:n_calibration + HELD_OUT_ROWS]


def _fit(ids: List[int], args: ExportArguments) -> List[List[int]]:
    """A row's token ids within --max_length (default 512) by --truncation_strategy: delete drops a longer row,
    left / right keep its last / first tokens, split cuts it into pieces, error stops."""
    length = args.calibration_length
    if len(ids) <= length:
        return [ids]
    strategy = args.truncation_strategy
    if strategy == 'error':
        raise SwiftError(f'a calibration row has {len(ids)} tokens, over --max_length {length} '
                         '(--truncation_strategy error)')
    if strategy == 'delete':
        return []
    if strategy == 'split':
        return [ids[i:i + length] for i in range(0, len(ids), length)]
    return [ids[-length:] if strategy == 'left' else ids[:length]]


def perplexity(model, rows: List[Dict]) -> float:
    """exp(mean next-token loss) over all tokens of the rows, one row per forward pass (no padding effects)."""
    import torch
    total, count = 0.0, 0
    device = next(model.parameters()).device
    with torch.inference_mode():
        for row in rows:
            input_ids = torch.tensor([row['input_ids']], device=device)
            logits = model(input_ids=input_ids).logits[0, :-1].float()
            loss = torch.nn.functional.cross_entropy(logits, input_ids[0, 1:], reduction='sum')
            total += float(loss)
            count += input_ids.shape[1] - 1
    return math.exp(total / count)


def directory_size(path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob('*') if f.is_file())

