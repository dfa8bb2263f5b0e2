"""Which `model` names the server answers to, and which adapter each one selects.

- The served model name (`--served_model_name`, default: the model's last path component).
  With `--adapters checkpoint-N` (unnamed), that name means the fine-tuned model: the first
  adapter is applied, as `swift infer --adapters` does. When every adapter is named
  (`--adapters name=path ...`), the served name means the bare base model.
- Each adapter by its name; the request's `model` picks it, in the same batch as the others.
"""
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from swift.utils.checkpoint import parse_adapter_spec

from ..protocol import BASE_ADAPTER
from .errors import model_not_found


@dataclass
class ServedModels:
    base_name: str
    base_adapter: Optional[str]  # what the base name selects: None = the engine's default adapter
    adapters: Dict[str, str] = field(default_factory=dict)  # listed name → engine adapter name
    hidden: Dict[str, str] = field(default_factory=dict)  # accepted but not listed (the unnamed default adapter)
    created: int = field(default_factory=lambda: int(time.time()))
    owned_by: str = 'swift'

    @classmethod
    def for_engine(cls, engine, served_model_name: Optional[str], adapter_specs: Sequence[str],
                   owned_by: str = 'swift') -> 'ServedModels':
        base_name = served_model_name or default_served_name(engine.model_name)
        loaded = list(getattr(engine, 'adapters', ()) or ())
        if not loaded:  # no adapters, or merged into the weights
            return cls(base_name, None, owned_by=owned_by)
        first_named = bool(adapter_specs) and parse_adapter_spec(adapter_specs[0], 0)[1] != adapter_specs[0]
        default = getattr(engine, 'default_adapter', None)
        if first_named:
            return cls(base_name, BASE_ADAPTER, {name: name for name in loaded}, owned_by=owned_by)
        return cls(base_name, None, {name: name for name in loaded if name != default},
                   {default: default} if default else {}, owned_by=owned_by)

    @property
    def names(self) -> List[str]:
        return [self.base_name] + list(self.adapters)

    def adapter_for(self, name: Optional[str]) -> Optional[str]:
        """The engine adapter a request's `model` selects; a 404 APIError for an unknown name."""
        if name is None or name == self.base_name:
            return self.base_adapter
        if name in self.adapters:
            return self.adapters[name]
        if name in self.hidden:
            return self.hidden[name]
        raise model_not_found(name, self.names)

    def listing(self) -> Dict[str, Any]:
        """The body of GET /v1/models."""
        entries = [self._entry(self.base_name, None)] + [self._entry(name, self.base_name) for name in self.adapters]
        return {'object': 'list', 'data': entries}

    def _entry(self, name: str, parent: Optional[str]) -> Dict[str, Any]:
        return {'id': name, 'object': 'model', 'created': self.created, 'owned_by': self.owned_by, 'root': name,
                'parent': parent}


def default_served_name(model_name: str) -> str:
    """'/data/models/Qwen2.5-7B-Instruct/' → 'Qwen2.5-7B-Instruct'; a registry or hub ID stays as it is."""
    path = Path(model_name.rstrip('/'))
    return path.name if path.is_dir() else model_name
