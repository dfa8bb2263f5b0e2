"""Chat templates: one per model family, written in Python and proven equal to the official Jinja.

    from swift.template import get_template
    template = get_template('qwen2_5')                   # or a model ID: 'Qwen/Qwen2.5-7B-Instruct'
    text = template.render(messages, add_generation_prompt=True)
    template = get_template('qwen2_5', tokenizer=tokenizer)
    encoded = template.encode({'messages': messages})   # input_ids, labels, attention_mask, length

Importing this package registers the built-in templates; it does not import torch or transformers.
"""
from .agent import AGENT_TEMPLATES, get_agent_template, tool_parser_for
from .base import Segment, Template, TemplateMeta
from .encoding import IGNORE_INDEX, MaxLengthError
from .jinja_template import JinjaChatTemplate
from .official import official_reference_status
from .registry import (TEMPLATE_REGISTRY, check_template_name, configure_template, get_template, list_templates,
                       template_for_args,
                       register_template)
from . import templates  # noqa: F401,E402  (registers the built-in families)

__all__ = [
    'Template', 'TemplateMeta', 'Segment', 'JinjaChatTemplate', 'TEMPLATE_REGISTRY', 'get_template', 'list_templates',
    'register_template', 'official_reference_status', 'IGNORE_INDEX', 'MaxLengthError', 'AGENT_TEMPLATES',
    'get_agent_template', 'tool_parser_for', 'configure_template', 'template_for_args'
]
