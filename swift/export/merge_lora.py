"""`swift export --adapters checkpoint-N --merge_lora true`: a standalone merged model.

The output directory holds safetensors weights, config.json, generation_config.json, the
tokenizer with a chat_template that renders exactly like the swift template used in training
(chat_template.py), and args.json, which records the template and system prompt for swift.
It loads with plain `transformers.AutoModelForCausalLM.from_pretrained(dir)`.

The directory is written atomically: it appears complete or not at all.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from swift.arguments import ExportArguments
from swift.model.loader import get_model_dir, get_model_tokenizer
from swift.template import get_template
from swift.tuners import Swift, load_adapters
from swift.utils import atomic_dir, get_logger
from swift.utils.checkpoint import MODEL_CONFIG, adapter_paths, read_json_object, write_run_args

from .chat_template import chat_template_for_export
from .checks import default_output_dir

logger = get_logger()


@dataclass
class ExportModel:
    """The model an export writes: the base with --adapters merged in, its tokenizer (chat_template set to
    one that renders like swift's template) and swift template."""
    model: Any
    tokenizer: Any
    template: Any
    info: Any  # the base model's ModelInfo
    dtype: str
    chat_template_source: str


def load_export_model(args: ExportArguments, dtype: Optional[str] = None) -> ExportModel:
    """Load --model (in its stored dtype unless --torch_dtype or `dtype` says otherwise), merge --adapters."""
    model_dir = get_model_dir(args.model, use_hf=args.use_hf or None, revision=args.revision,
                              offline=args.offline or None)
    dtype = dtype or (args.torch_dtype if args.torch_dtype != 'auto' else stored_dtype(model_dir))
    model, tokenizer = get_model_tokenizer(args.model, **{**args.load_kwargs(), 'torch_dtype': dtype})
    template = _template(args, model, tokenizer)
    info = model.model_info
    if args.adapters:
        adapter_dir = adapter_paths(args.adapters)[0]
        model = Swift.merge_and_unload(load_adapters(model, [adapter_dir]))
        logger.info(f'merged {adapter_dir} into {args.model} ({dtype})')
    chat_template, source = chat_template_for_export(template, tokenizer)
    tokenizer.chat_template = chat_template
    _set_end_of_turn_tokens(model, tokenizer, template.stop_words)
    return ExportModel(model, tokenizer, template, info, dtype, source)


def merge_lora(args: ExportArguments) -> Path:
    """Merge the adapter into its base model and save the result; returns the output directory."""
    adapter_dir = adapter_paths(args.adapters)[0]
    output_dir = default_output_dir(args)
    loaded = load_export_model(args)
    merged, tokenizer, template = loaded.model, loaded.tokenizer, loaded.template
    info, dtype = loaded.info, loaded.dtype
    source = loaded.chat_template_source
    with atomic_dir(output_dir) as tmp:
        merged.save_pretrained(str(tmp), max_shard_size=args.max_shard_size)
        tokenizer.save_pretrained(str(tmp))
        write_run_args(tmp, {
            'model': info.model_id, 'model_type': info.model_type, 'template': template.name,
            'system': args.system, 'merged_adapter': str(adapter_dir), 'torch_dtype': str(dtype)})
    logger.info(f'wrote the merged model to {output_dir} (chat_template: {source})')
    return output_dir


def stored_dtype(model_dir: Path) -> str:
    """The dtype the base model's weights are stored in (config.json), so a merge keeps the model's size."""
    config_file = Path(model_dir) / MODEL_CONFIG
    config = read_json_object(config_file) if config_file.is_file() else {}
    text_config = config.get('text_config') or {}
    dtype = config.get('dtype') or config.get('torch_dtype') or text_config.get('dtype') or \
        text_config.get('torch_dtype')
    return dtype if dtype in ('float32', 'float16', 'bfloat16') else 'float32'


def _template(args: ExportArguments, model, tokenizer):
    info = model.model_info
    name = args.template or info.template or info.model_dir
    return get_template(name, tokenizer=tokenizer, default_system=args.system)


def _set_end_of_turn_tokens(model, tokenizer, stop_words) -> None:
    """Make plain `model.generate` stop at the template's end of turn (e.g. <|im_end|>), not only at EOS."""
    config = getattr(model, 'generation_config', None)
    if config is None:
        return
    current = config.eos_token_id
    ids = list(current) if isinstance(current, (list, tuple)) else [current] if current is not None else []
    vocab = tokenizer.get_vocab()
    ids += [vocab[w] for w in stop_words if w in vocab and vocab[w] not in ids]
    config.eos_token_id = ids[0] if len(ids) == 1 else (ids or None)

