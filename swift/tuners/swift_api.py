"""The ms-swift-compatible `Swift` API over PEFT.

    from swift.tuners import Swift, LoRAConfig
    model = Swift.prepare_model(model, LoRAConfig(r=8, target_modules=['q_proj', 'v_proj'], lora_alpha=32,
                                                  dropout=0.1))
    Swift.save_pretrained(model, 'out')                     # standard PEFT adapter format
    model = Swift.from_pretrained(base_model, 'out')        # = peft.PeftModel.from_pretrained
    merged = Swift.merge_and_unload(model)                  # a plain transformers model again

The config classes are PEFT's (LoRAConfig adds ms-swift's `dropout=` spelling).
"""
from typing import Dict, Optional, Union

from peft import AdaLoraConfig, BOFTConfig, IA3Config, LoraConfig, PeftConfig, PeftModel, VeraConfig, get_peft_model

from swift.utils import SwiftError

from .saving import save_tuned_model

__all__ = ['Swift', 'LoRAConfig', 'LoraConfig', 'AdaLoraConfig', 'VeraConfig', 'BOFTConfig', 'IA3Config']


class LoRAConfig(LoraConfig):
    """peft.LoraConfig; `dropout=` is accepted as ms-swift's name for `lora_dropout`.

    Saved adapters are plain PEFT LoRA adapters (this subclass adds no fields).
    """

    def __init__(self, *args, dropout: Optional[float] = None, **kwargs):
        if dropout is not None:
            if kwargs.get('lora_dropout', dropout) != dropout:
                raise SwiftError(f'LoRAConfig: dropout={dropout} and lora_dropout={kwargs["lora_dropout"]} disagree; '
                                 f'pass one of them')
            kwargs['lora_dropout'] = dropout
        super().__init__(*args, **kwargs)


class Swift:
    """Static helpers, as in ms-swift: prepare, save, load, merge."""

    @staticmethod
    def prepare_model(model, config: Union[PeftConfig, Dict[str, PeftConfig]], adapter_name: str = 'default',
                      **kwargs) -> PeftModel:
        """Wrap `model` with the adapter(s) of `config` (one config, or {adapter_name: config})."""
        configs = config if isinstance(config, dict) else {adapter_name: config}
        if not configs:
            raise SwiftError('Swift.prepare_model: no config given')
        for name, cfg in configs.items():
            if not isinstance(cfg, PeftConfig):
                raise SwiftError(f'Swift.prepare_model: adapter {name!r} needs a PEFT config such as LoRAConfig, '
                                 f'got {type(cfg).__name__}')
            try:
                if isinstance(model, PeftModel):
                    model.add_adapter(name, cfg)
                else:
                    model = get_peft_model(model, cfg, adapter_name=name, **kwargs)
            except ValueError as e:  # PEFT's word on a bad combination (e.g. LoRA + IA3 in one model)
                raise SwiftError(f'Swift.prepare_model: adapter {name!r}: {e}') from None
        return model

    @staticmethod
    def save_pretrained(model, save_directory: str, **kwargs) -> None:
        """Save the adapter(s) (PEFT format); extra keywords go to PeftModel.save_pretrained."""
        if kwargs:
            model.save_pretrained(save_directory, **kwargs)
            return
        save_tuned_model(model, save_directory)

    @staticmethod
    def from_pretrained(model, model_id: str, adapter_name: str = 'default', is_trainable: bool = False,
                        **kwargs) -> PeftModel:
        """Load a saved adapter onto `model` (or add it to an existing PeftModel under `adapter_name`)."""
        if isinstance(model, PeftModel):
            model.load_adapter(model_id, adapter_name=adapter_name, is_trainable=is_trainable, **kwargs)
            return model
        return PeftModel.from_pretrained(model, model_id, adapter_name=adapter_name, is_trainable=is_trainable,
                                         **kwargs)

    @staticmethod
    def merge_and_unload(model):
        """Fold the active adapter into the base weights; returns the plain transformers model."""
        if not isinstance(model, PeftModel):
            return model
        return model.merge_and_unload()
