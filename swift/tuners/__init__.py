"""Tuners: how a model is trained (full, freeze, LoRA and other PEFT adapters, LLaMA-Pro).

    model = prepare_tuner(model, args)          # the trainer's one call
    save_tuned_model(model, 'out', tokenizer)   # adapter or full weights
    model = load_adapters(base_model, ['out'])  # inference

and the ms-swift `Swift` API (Swift, LoRAConfig, ...). Names are imported on first use, so
`import swift.tuners` loads neither torch nor peft.
"""
from swift.utils.lazy import lazy_exports

_LAZY = {
    'TunerArguments': 'swift.tuners.arguments',
    'Tuner': 'swift.tuners.registry',
    'TUNER_REGISTRY': 'swift.tuners.registry',
    'register_tuner': 'swift.tuners.registry',
    'get_tuner': 'swift.tuners.registry',
    'list_tuners': 'swift.tuners.registry',
    'prepare_tuner': 'swift.tuners.prepare',
    'count_parameters': 'swift.tuners.prepare',
    'log_trainable_parameters': 'swift.tuners.prepare',
    'on_optimizer_step': 'swift.tuners.prepare',
    'tuner_callback': 'swift.tuners.prepare',
    'resolve_target_modules': 'swift.tuners.target_modules',
    'lora_plus_param_groups': 'swift.tuners.optim',
    'save_tuned_model': 'swift.tuners.saving',
    'load_adapters': 'swift.tuners.saving',
    'adapter_names': 'swift.tuners.saving',
    'QuantizeArguments': 'swift.tuners.quant',
    'build_quantization_config': 'swift.tuners.quant',
    'Swift': 'swift.tuners.swift_api',
    'LoRAConfig': 'swift.tuners.swift_api',
    'LoraConfig': 'swift.tuners.swift_api',
    'AdaLoraConfig': 'swift.tuners.swift_api',
    'VeraConfig': 'swift.tuners.swift_api',
    'BOFTConfig': 'swift.tuners.swift_api',
    'IA3Config': 'swift.tuners.swift_api',
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
