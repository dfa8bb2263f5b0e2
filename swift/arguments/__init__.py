"""Argument dataclasses shared by several commands; each command composes the parts it needs.

    @dataclass
    class InferArguments(GenerationArguments, TemplateArguments, ModelArguments, BaseArguments): ...

Parse any of them with swift.utils.args.parse_args (flags, YAML/JSON file or keywords).
"""
from .base import BaseArguments
from .model import ModelArguments
from .template import TemplateArguments
from .generation import GenerationArguments
