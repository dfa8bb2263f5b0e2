"""TEMPLATE_REGISTRY and get_template: a template by name, by registered model ID, or by model directory."""
import json
from pathlib import Path
from typing import Dict, List, Optional

from swift.model.embedded import BUILT_MARKER
from swift.model.registry import all_model_ids, lookup_model
from swift.utils import SwiftError, did_you_mean, get_logger

from .base import Template, TemplateMeta
from .jinja_template import JinjaChatTemplate

logger = get_logger()

TEMPLATE_REGISTRY: Dict[str, TemplateMeta] = {}


def register_template(meta: TemplateMeta, exist_ok: bool = False) -> TemplateMeta:
    """Add a template. With exist_ok=False a second registration of the same name is an error."""
    if not isinstance(meta, TemplateMeta):
        raise SwiftError(f'register_template expects a TemplateMeta, got {type(meta).__name__}')
    if meta.name in TEMPLATE_REGISTRY and not exist_ok:
        raise SwiftError(f'template {meta.name!r} is already registered (pass exist_ok=True to replace it)')
    TEMPLATE_REGISTRY[meta.name] = meta
    return meta


def list_templates() -> List[str]:
    return sorted(TEMPLATE_REGISTRY)


def check_template_name(name: Optional[str]) -> None:
    """A SwiftError for a --template that is not registered (None: the model's own, always fine)."""
    if name and name not in TEMPLATE_REGISTRY:
        raise SwiftError(f'--template {name!r} is not a registered template.{did_you_mean(name, TEMPLATE_REGISTRY)} '
                         f'Templates: {", ".join(list_templates())}')


def get_template(name_or_model: str,
                 tokenizer=None,
                 default_system: Optional[str] = None,
                 max_length: Optional[int] = None,
                 loss_scale: str = 'default',
                 truncation_strategy: str = 'delete',
                 media_kwargs: Optional[dict] = None) -> Template:
    """A Template by template name, registered model ID/alias/model_type, or local model directory.

    default_system: None keeps the family's default system prompt; a string replaces it ('' removes it).
    A model directory of an unknown family falls back to its tokenizer's own Jinja chat_template.
    media_kwargs: media size controls (max_pixels, ...) for a multimodal template (swift/template/media_options.py).
    """
    if not isinstance(name_or_model, str) or not name_or_model:
        raise SwiftError(f'get_template needs a template name, model ID or model directory, got {name_or_model!r}; '
                         f'templates: {", ".join(list_templates())}')
    kwargs = dict(tokenizer=tokenizer, default_system=default_system, max_length=max_length,
                  loss_scale=loss_scale, truncation_strategy=truncation_strategy)
    name = name_or_model if name_or_model in TEMPLATE_REGISTRY else template_name_for_model(name_or_model)
    if name is not None:
        if name not in TEMPLATE_REGISTRY:
            raise SwiftError(f'{name_or_model!r} is registered with template {name!r}, which does not exist.'
                             f'{did_you_mean(name, TEMPLATE_REGISTRY)} Pass --template with one of: '
                             f'{", ".join(list_templates())}')
        meta = TEMPLATE_REGISTRY[name]
        template_cls = meta.template_cls or Template
        if getattr(template_cls, 'plugin', None) is not None:  # a multimodal template (media.py)
            kwargs['media_kwargs'] = media_kwargs
        return template_cls(meta, **kwargs)
    if Path(name_or_model).is_dir():
        logger.warning(f'{name_or_model}: unknown model family; using the chat_template shipped with its tokenizer. '
                       'Pass --template to choose one of ours instead.')
        return JinjaChatTemplate.from_model_dir(name_or_model, **kwargs)
    raise SwiftError(f'unknown template or model {name_or_model!r}.'
                     f'{did_you_mean(name_or_model, list(TEMPLATE_REGISTRY) + all_model_ids())} '
                     f'Templates: {", ".join(list_templates())}')


def template_name_for_model(model: str) -> Optional[str]:
    """The template name the model registry gives a hub ID, alias, model_type or local model directory."""
    for candidate in [model] + _ids_from_directory(model):
        found = lookup_model(candidate)
        if found is not None:
            meta, entry = found
            return meta.template_for(entry)
    return None


def _ids_from_directory(path: str) -> List[str]:
    """Model IDs a local directory reveals: swift's embedded-model marker, or hub cache directory names."""
    directory = Path(path)
    if not directory.is_dir():
        return []
    ids = []
    marker = directory / BUILT_MARKER
    if marker.is_file():
        ids.append(json.loads(marker.read_text())['model_id'])
    hf_cache_name = directory.parent.parent.name  # .../models--org--name/snapshots/<hash>
    if hf_cache_name.startswith('models--'):
        ids.append(hf_cache_name[len('models--'):].replace('--', '/'))
    ids.append(directory.name.replace('___', '.'))  # ModelScope's cache writes 'Qwen2.5' as 'Qwen2___5'
    return ids


def template_for_args(args, tokenizer, info=None) -> Template:
    """The template a command's flags ask for, as training encodes with it (swift sft / pt / rlhf and
    swift export --to_cached_dataset, whose samples must be the same): --use_chat_template false is plain text,
    else --template or the model's own; then --system, --max_length, --loss_scale and configure_template."""
    info = info or getattr(tokenizer, 'model_info', None)
    if not getattr(args, 'use_chat_template', True):
        name = 'raw'
    else:
        name = args.template or (info.template if info else None) or (info.model_dir if info else None)
    template = get_template(name, tokenizer=tokenizer, default_system=args.system, max_length=args.max_length,
                            loss_scale=args.loss_scale)
    return configure_template(template, args)


def configure_template(template: Template, args) -> Template:
    """Apply the template flags every command shares beyond the name: --agent_template, --enable_thinking."""
    from .agent import get_agent_template
    if getattr(args, 'agent_template', None):
        template.agent_template = get_agent_template(args.agent_template)
    if getattr(args, 'enable_thinking', None) is not None:
        template.enable_thinking = args.enable_thinking
    return template
