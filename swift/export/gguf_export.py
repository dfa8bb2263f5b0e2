"""`swift export --to_gguf` and `--to_ollama`: load (and merge), then write the GGUF (gguf.py) and, for
Ollama, a Modelfile next to it (ollama.py). The directory appears complete or not at all.

    <output_dir>/<model>-<QUANT>.gguf      the model, tokenizer and chat template
    <output_dir>/Modelfile                 --to_ollama: FROM ./<model>-<QUANT>.gguf, TEMPLATE, SYSTEM, stops
    <output_dir>/args.json                 how it was made (swift's record)
"""
from pathlib import Path

from swift.arguments import ExportArguments
from swift.utils import atomic_dir, get_logger
from swift.utils.checkpoint import write_run_args

from .checks import default_output_dir
from .gguf import gguf_file_name, write_gguf
from .merge_lora import load_export_model

logger = get_logger()


def export_gguf(args: ExportArguments) -> Path:
    output_dir = default_output_dir(args)
    # Weights are read in float32 so every GGUF type is made from the stored values, not a bf16 round trip.
    loaded = load_export_model(args, dtype='float32')
    modelfile = None
    if args.to_ollama:  # checked before the slow part: a template with no Go equivalent fails here
        from .ollama import modelfile_for
        modelfile = modelfile_for(loaded.template, loaded.tokenizer)
    name = Path(str(loaded.info.model_id).rstrip('/')).name
    file_name = gguf_file_name(name, args.gguf_quant)
    with atomic_dir(output_dir) as tmp:
        write_gguf(loaded.model, loaded.tokenizer, loaded.tokenizer.chat_template, Path(tmp) / file_name,
                   args.gguf_quant, name)
        if modelfile is not None:
            (Path(tmp) / 'Modelfile').write_text(modelfile.text(f'./{file_name}'), encoding='utf-8')
        write_run_args(tmp, {'model': loaded.info.model_id, 'model_type': loaded.info.model_type,
                             'template': loaded.template.name, 'system': args.system, 'adapters': args.adapters,
                             'gguf_file': file_name, 'gguf_quant': args.gguf_quant})
    size = (output_dir / file_name).stat().st_size
    logger.info(f'wrote {output_dir / file_name} ({args.gguf_quant}, {size / 2**20:.1f} MiB; chat template: '
                f'{loaded.chat_template_source})')
    return output_dir
