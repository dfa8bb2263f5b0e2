"""`swift export --to_gguf [--gguf_quant f16]`: one GGUF file for llama.cpp, Ollama and LM Studio.

Written with the `gguf` package (gguf-py, llama.cpp's own writer) the way llama.cpp's
convert_hf_to_gguf.py writes a llama-architecture model:
  - tensor names from gguf's tensor map (model.layers.0.self_attn.q_proj → blk.0.attn_q, ...);
  - q_proj/k_proj rows permuted from Hugging Face's rotary layout (halves) into llama.cpp's
    (interleaved pairs), which is what `LlamaModel.permute` does there and what transformers undoes
    when it reads the file back (`gguf_file=`);
  - norms and other 1-D tensors kept in F32, matrices in the chosen type;
  - the tokenizer as metadata: byte-level BPE tokens, their types, merges, the special token ids,
    add_bos, and the chat template that renders like swift's template.

Simple types (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1) are quantized by gguf-py in numpy, q8_0 with a
scale chosen for weights that were quantized before (`quantize_q8_0`). K-quants
(q4_k_m, q6_k, ...) have no quantizer in gguf-py: an f16 file is written first and llama.cpp's own
quantizer (`llama_model_quantize` from llama-cpp-python, the `gguf` extra) turns it into the K-quant.
"""
import json
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from swift.utils import SwiftError, get_logger

logger = get_logger()

# --gguf_quant → GGMLQuantizationType name for the matrices; gguf-py quantizes these itself.
SIMPLE_TYPES = {'f32': 'F32', 'f16': 'F16', 'bf16': 'BF16', 'q8_0': 'Q8_0', 'q4_0': 'Q4_0', 'q4_1': 'Q4_1',
                'q5_0': 'Q5_0', 'q5_1': 'Q5_1'}
# --gguf_quant → llama.cpp's LLAMA_FTYPE_* name (llama_cpp module constants); done by llama.cpp's quantizer.
K_QUANTS = {'q2_k': 'LLAMA_FTYPE_MOSTLY_Q2_K', 'q3_k_s': 'LLAMA_FTYPE_MOSTLY_Q3_K_S',
            'q3_k_m': 'LLAMA_FTYPE_MOSTLY_Q3_K_M', 'q3_k_l': 'LLAMA_FTYPE_MOSTLY_Q3_K_L',
            'q4_k_s': 'LLAMA_FTYPE_MOSTLY_Q4_K_S', 'q4_k_m': 'LLAMA_FTYPE_MOSTLY_Q4_K_M',
            'q5_k_s': 'LLAMA_FTYPE_MOSTLY_Q5_K_S', 'q5_k_m': 'LLAMA_FTYPE_MOSTLY_Q5_K_M',
            'q6_k': 'LLAMA_FTYPE_MOSTLY_Q6_K'}
GGUF_QUANTS = tuple(SIMPLE_TYPES) + tuple(K_QUANTS)

# model_type → (gguf architecture, whether q/k rows are permuted). Llama-style decoders share llama.cpp's
# 'llama' graph; Qwen2 has its own (biases on q/k/v, NEOX rotary: no permutation).
ARCHITECTURES = {'llama': ('llama', True), 'mistral': ('llama', True), 'qwen2': ('qwen2', False)}

# A pre-tokenizer split regex in tokenizer.json → llama.cpp's tokenizer.ggml.pre name.
_LLAMA3_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                 "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
_QWEN2_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
_PRE_BY_SPLIT = {_LLAMA3_SPLIT: 'llama-bpe', _QWEN2_SPLIT: 'qwen2'}


def gguf_file_name(model_name: str, quant: str) -> str:
    return f'{model_name}-{quant.upper()}.gguf'


def write_gguf(model, tokenizer, chat_template: Optional[str], path: Path, quant: str, name: str) -> Path:
    """Write `model` (a transformers causal LM) and its tokenizer to the GGUF file `path`."""
    if quant in K_QUANTS:
        llama_cpp = _llama_cpp()
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            f16 = Path(tmp) / 'f16.gguf'
            write_gguf(model, tokenizer, chat_template, f16, 'f16', name)
            _quantize_with_llama_cpp(llama_cpp, f16, path, quant)
        return path
    if quant not in SIMPLE_TYPES:
        raise SwiftError(f'--gguf_quant {quant!r} is not known; choose one of: {", ".join(GGUF_QUANTS)}')
    import gguf
    config = model.config
    arch, permute = _architecture(config)
    writer = gguf.GGUFWriter(str(path), arch)
    _write_hparams(writer, config, name, quant)
    _write_tokenizer(writer, tokenizer, chat_template, config)
    qtype = gguf.GGMLQuantizationType[SIMPLE_TYPES[quant]]
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], config.num_hidden_layers)
    for hf_name, tensor in model.state_dict().items():
        if hf_name.endswith('rotary_emb.inv_freq'):
            continue  # recomputed from rope.freq_base
        if hf_name == 'lm_head.weight' and getattr(config, 'tie_word_embeddings', False):
            continue  # tied: llama.cpp reuses token_embd
        gguf_name = name_map.get_name(hf_name, try_suffixes=('.weight', '.bias'))
        if gguf_name is None:
            raise SwiftError(f'GGUF export: no llama.cpp name for tensor {hf_name!r} of {config.model_type}')
        data = tensor.detach().float().cpu().numpy()
        if permute and hf_name.endswith(('q_proj.weight', 'k_proj.weight')):
            heads = config.num_attention_heads if 'q_proj' in hf_name else config.num_key_value_heads
            data = permute_rotary(data, heads)
        _add_tensor(writer, gguf, gguf_name, data, qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def permute_rotary(weights, heads: int):
    """Hugging Face's rotate-half row order → llama.cpp's interleaved pairs (convert_hf_to_gguf's permute)."""
    return (weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def _add_tensor(writer, gguf, name: str, data, qtype) -> None:
    """1-D tensors (norms, biases) stay F32 as llama.cpp keeps them; matrices take the chosen type, or F16
    when their rows do not split into the type's blocks (llama.cpp's convert falls back the same way)."""
    import numpy as np
    if data.ndim <= 1 or qtype == gguf.GGMLQuantizationType.F32:
        writer.add_tensor(name, data.astype(np.float32))
        return
    if qtype == gguf.GGMLQuantizationType.F16:
        writer.add_tensor(name, data.astype(np.float16))
        return
    block, _ = gguf.GGML_QUANT_SIZES[qtype]
    if data.shape[-1] % block:
        logger.warning(f'{name}: rows of {data.shape[-1]} do not split into {qtype.name} blocks of {block}; F16')
        writer.add_tensor(name, data.astype(np.float16))
        return
    if qtype == gguf.GGMLQuantizationType.Q8_0:
        writer.add_tensor(name, quantize_q8_0(data), raw_dtype=qtype)
        return
    writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)


def quantize_q8_0(data):
    """Q8_0 blocks (per 32 weights: an f16 scale d and 32 int8 q, the weight being q * d), laid out as gguf-py's
    `quants.quantize(data, Q8_0)` lays them out, for any reader of Q8_0 (llama.cpp, transformers `gguf_file=`).

    llama.cpp's rounding takes d = max|w| / 127. Weights that were quantized before (a dequantized GGUF or GPTQ
    checkpoint, or their untouched tensors after a LoRA merge; the embedded SmolLM2's projections are Q4_1: 16
    levels `m + k * step` per block of 32) sit on a coarser uniform grid, and max/127 rounds each of them again.
    So each block also tries the scales that divide its grid step, d = step / n for every n >= 1 that keeps
    |q| <= 127 (at most 16 of them), and keeps the one with the least squared error; the grid's levels then fall
    on Q8_0 levels up to one offset per block. On the embedded model this cuts the weights' relative error from
    0.54% to 0.22% and the greedy continuations kept from 7 to 10 of 10 in transformers (docs/benchmarks.md).
    Blocks without such a grid (the step found is too fine for any n), or where no divisor does better, keep
    llama.cpp's bytes."""
    import gguf
    import numpy as np
    blocks = np.ascontiguousarray(data, dtype=np.float32).reshape(-1, 32)
    llama_cpp = gguf.quants.quantize(blocks, gguf.GGMLQuantizationType.Q8_0)  # (blocks, 2 + 32) bytes
    llama_d = llama_cpp[:, :2].copy().view(np.float16).astype(np.float32).ravel()
    llama_err = ((llama_cpp[:, 2:].view(np.int8) * llama_d[:, None] - blocks) ** 2).sum(axis=1)
    best_d, best_err = llama_d.copy(), llama_err.copy()
    amax = np.abs(blocks).max(axis=1)
    gaps = np.diff(np.sort(blocks, axis=1), axis=1)
    gaps[gaps <= 0] = np.inf
    step = gaps.min(axis=1)  # the grid step where the block's values take a few levels; inf if all equal
    with np.errstate(divide='ignore', invalid='ignore'):
        most = np.floor(127 * step / amax)  # the finest division of the step that keeps |q| <= 127
    for k in range(16):
        rows = np.nonzero(np.isfinite(most) & (most - k >= 1))[0]
        if not rows.size:
            break
        d = _as_stored(step[rows] / (most[rows] - k))
        err = _q8_error(blocks[rows], d)
        better = err < best_err[rows]
        best_d[rows[better]], best_err[rows[better]] = d[better], err[better]
    searched = best_err < llama_err
    llama_cpp[searched, :2] = best_d[searched].astype(np.float16).view(np.uint8).reshape(-1, 2)
    llama_cpp[searched, 2:] = _q8_levels(blocks[searched], best_d[searched]).astype(np.int8).view(np.uint8)
    return llama_cpp.reshape(*data.shape[:-1], -1)


def _as_stored(d):
    """The scale as the file stores it (f16), back in f32."""
    import numpy as np
    return d.astype(np.float16).astype(np.float32)


def _q8_levels(blocks, d):
    import numpy as np
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.clip(np.round(np.where(d[:, None] > 0, blocks / d[:, None], 0)), -127, 127)


def _q8_error(blocks, d):
    return ((_q8_levels(blocks, d) * d[:, None] - blocks) ** 2).sum(axis=1)


def _architecture(config) -> Tuple[str, bool]:
    found = ARCHITECTURES.get(config.model_type)
    if found is None:
        raise SwiftError(f'--to_gguf supports model types {", ".join(sorted(ARCHITECTURES))}; this model is '
                         f'{config.model_type!r}. Use llama.cpp\'s convert_hf_to_gguf.py on an exported directory.')
    rope = _rope(config)
    if rope.get('rope_type', 'default') not in ('default', None):
        raise SwiftError(f'--to_gguf: rope scaling {rope.get("rope_type")!r} is not written by swift\'s GGUF export '
                         '(the file would run with plain rotary embeddings and answer wrongly past the trained length)')
    return found


def _rope(config) -> Dict:
    """transformers 5 keeps rope_theta and scaling in config.rope_parameters; older configs at the top level."""
    rope = getattr(config, 'rope_parameters', None) or getattr(config, 'rope_scaling', None) or {}
    rope = dict(rope)
    rope.setdefault('rope_theta', getattr(config, 'rope_theta', 10000.0))
    return rope


def _write_hparams(writer, config, name: str, quant: str) -> None:
    import gguf
    head_dim = getattr(config, 'head_dim', None) or config.hidden_size // config.num_attention_heads
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(float(_rope(config)['rope_theta']))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_rope_dimension_count(head_dim)
    if head_dim * config.num_attention_heads != config.hidden_size:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(getattr(gguf.LlamaFileType, f'MOSTLY_{SIMPLE_TYPES[quant]}', gguf.LlamaFileType.ALL_F32))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


# ---- the tokenizer ----
def _write_tokenizer(writer, tokenizer, chat_template: Optional[str], config) -> None:
    """Byte-level BPE as llama.cpp's `_set_vocab_gpt2` writes it; gguf's SpecialVocab reads merges and ids."""
    import gguf
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        spec = json.loads((Path(tmp) / 'tokenizer.json').read_text(encoding='utf-8'))
        _require_byte_level(spec)
        tokens, types = vocab_tokens(tokenizer, config.vocab_size)
        writer.add_tokenizer_model('gpt2')
        writer.add_tokenizer_pre(pre_tokenizer_name(spec))
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        special = gguf.SpecialVocab(tmp, load_merges=True, n_vocab=len(tokens))
        special.chat_template = None  # ours, below, renders like swift's template
        special.add_to_gguf(writer, quiet=True)
    writer.add_add_bos_token(bool(getattr(tokenizer, 'add_bos_token', False)))
    if chat_template:
        writer.add_chat_template(chat_template)


def _require_byte_level(spec: Dict) -> None:
    model = spec.get('model') or {}
    parts = json.dumps(spec.get('pre_tokenizer')) + json.dumps(spec.get('decoder'))
    if model.get('type') != 'BPE' or 'ByteLevel' not in parts:
        raise SwiftError(f'--to_gguf writes byte-level BPE tokenizers (GPT-2, Llama 3, Qwen, SmolLM); this model\'s '
                         f'tokenizer is {model.get("type")} without ByteLevel. Convert it with llama.cpp\'s '
                         'convert_hf_to_gguf.py from the exported directory instead.')


def vocab_tokens(tokenizer, vocab_size: int) -> Tuple[List[str], List[int]]:
    """Every id up to the model's vocab_size: its token and llama.cpp token type (NORMAL 1, CONTROL 3,
    USER_DEFINED 4, UNUSED 5 for padding rows the tokenizer has no token for)."""
    by_id = {index: token for token, index in tokenizer.get_vocab().items()}
    added = tokenizer.added_tokens_decoder
    if len(by_id) > vocab_size:
        raise SwiftError(f'the tokenizer has {len(by_id)} tokens but the model only {vocab_size} embeddings')
    tokens, types = [], []
    for index in range(vocab_size):
        if index not in by_id:
            tokens.append(f'[PAD{index}]')
            types.append(5)
        elif index in added:
            tokens.append(by_id[index])
            types.append(3 if added[index].special else 4)
        else:
            tokens.append(by_id[index])
            types.append(1)
    return tokens, types


def pre_tokenizer_name(spec: Dict) -> str:
    """llama.cpp's name for how this tokenizer splits text before BPE (tokenizer.ggml.pre)."""
    pre = spec.get('pre_tokenizer') or {}
    steps = pre.get('pretokenizers', [pre])
    splits = [s.get('pattern', {}).get('Regex') for s in steps if s.get('type') == 'Split']
    for split in splits:
        if split in _PRE_BY_SPLIT:
            return _PRE_BY_SPLIT[split]
    kinds = [s.get('type') for s in steps]
    if kinds == ['Digits', 'ByteLevel'] and steps[0].get('individual_digits'):
        return 'smollm'  # StarCoder's split: GPT-2's regex with one digit per token (SmolLM, StarCoder)
    if kinds == ['ByteLevel'] and steps[0].get('use_regex', True):
        return 'gpt-2'
    logger.warning(f'GGUF export: pre-tokenizer {kinds} has no llama.cpp name here; writing "default". '
                   'llama.cpp then splits text with its default regex, which may tokenize differently.')
    return 'default'


# ---- K-quants through llama.cpp ----
def _llama_cpp():
    try:
        import llama_cpp
    except ImportError as error:
        raise SwiftError(f'--gguf_quant with a K-quant ({", ".join(K_QUANTS)}) uses llama.cpp\'s quantizer: '
                         'pip install "swift[gguf]" (llama-cpp-python), or export --gguf_quant f16 and run '
                         f'llama.cpp\'s llama-quantize on it. ({error})') from error
    return llama_cpp


def _quantize_with_llama_cpp(llama_cpp, source: Path, target: Path, quant: str) -> None:
    import ctypes
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, K_QUANTS[quant])
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    if status != 0 or not target.is_file():
        raise SwiftError(f'llama.cpp could not quantize {source} to {quant} (llama_model_quantize returned {status})')
