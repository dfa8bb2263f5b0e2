"""`swift export`: turn a training result into a standalone model.

    swift export --adapters output/v0-.../checkpoint-100 --merge_lora true [--output_dir merged]

    from swift.export import export_main
    export_main(['--adapters', 'checkpoint-100', '--merge_lora', 'true'])

Modules: merge_lora (LoRA/DoRA/rsLoRA merged into the base weights, safetensors out),
chat_template (a Jinja chat_template that renders like swift's template), quantize (bnb, llm-compressor),
gguf / gguf_export / ollama (GGUF files, Ollama Modelfiles), push + model_card (--push_to_hub: the upload and
the README.md it adds), cached_dataset (pre-tokenized data for --cached_dataset), checks (what is checked before
loading), main (export_main). The flags are swift.arguments.ExportArguments.
"""
from swift.utils.lazy import lazy_exports

_LAZY = {
    'export_main': 'swift.export.main',
    'ExportResult': 'swift.export.main',
    'merge_lora': 'swift.export.merge_lora',
    'export_cached_dataset': 'swift.export.cached_dataset',
    'jinja_for': 'swift.export.chat_template',
    'chat_template_for_export': 'swift.export.chat_template',
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
