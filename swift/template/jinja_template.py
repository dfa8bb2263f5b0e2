"""The fallback for model families we have no template for: the tokenizer's own Jinja chat_template.

This is the only place a Jinja chat template is rendered at runtime. It is rendered by
transformers' own function, so the text is what apply_chat_template gives. Which characters
are the answer is not declared by such a template; they are found by searching each
assistant message's text in the rendering (plus an end-of-turn word right after it).
"""
import json
from pathlib import Path
from typing import Any, Dict, Optional

from swift.utils import SwiftError, get_logger

from .base import Chat, Rendering, Template, TemplateMeta

logger = get_logger()
_SPECIAL_TOKENS = ('bos_token', 'eos_token', 'pad_token', 'unk_token')


class JinjaChatTemplate(Template):
    supports_tools = True
    supports_thinking = True

    def __init__(self, chat_template: str, special_tokens: Dict[str, str], name: str = 'jinja', **kwargs):
        if not chat_template:
            raise SwiftError(f'{name}: the tokenizer has no chat_template; pass --template to choose one')
        self.chat_template = chat_template
        self.special_tokens = {k: v for k, v in special_tokens.items() if k in _SPECIAL_TOKENS and v}
        eos = self.special_tokens.get('eos_token')
        meta = TemplateMeta(name=name, stop_words=[eos] if eos else [],
                            description="the tokenizer's own Jinja chat_template")
        super().__init__(meta, **kwargs)

    @classmethod
    def from_tokenizer(cls, tokenizer, name: str = 'jinja', **kwargs) -> 'JinjaChatTemplate':
        tokens = {k: getattr(tokenizer, k, None) for k in _SPECIAL_TOKENS}
        return cls(tokenizer.chat_template, tokens, name=name, tokenizer=tokenizer, **kwargs)

    @classmethod
    def from_model_dir(cls, path: str, tokenizer=None, **kwargs) -> 'JinjaChatTemplate':
        name = f'jinja:{Path(path).name}'
        if tokenizer is not None:
            return cls.from_tokenizer(tokenizer, name=name, **kwargs)
        chat_template, tokens = read_chat_template(Path(path))
        return cls(chat_template, tokens, name=name, **kwargs)

    def _render(self, chat: Chat, out: Rendering) -> None:
        messages = chat.messages
        if self.default_system is not None and messages[0]['role'] != 'system':
            messages = [{'role': 'system', 'content': self.default_system}] + messages
        text = self._render_jinja(messages, chat)
        position = 0
        for index, message in enumerate(messages):
            content = (message.get('content') or '').strip()
            found = text.find(content, position) if message['role'] == 'assistant' and content else -1
            if found < 0:
                continue
            end = found + len(content)
            end += next((len(w) for w in self.stop_words if text.startswith(w, end)), 0)
            out.prompt(text[position:found])
            # Index relative to the caller's messages (a default system message may have been prepended).
            out.answer(text[found:end], index - (len(messages) - len(chat.messages)))
            position = end
        out.prompt(text[position:])

    def _render_jinja(self, messages, chat: Chat) -> str:
        import jinja2
        from transformers.utils.chat_template_utils import render_jinja_template
        options = dict(chat.options)
        if chat.enable_thinking is not None:
            options['enable_thinking'] = chat.enable_thinking
        try:
            rendered, _ = render_jinja_template([messages], tools=chat.tools, chat_template=self.chat_template,
                                                add_generation_prompt=chat.add_generation_prompt,
                                                **self.special_tokens, **options)
        except jinja2.TemplateError as e:
            raise SwiftError(f'{self.name}: the chat template cannot render this conversation: {e}') from e
        return rendered[0]


def read_chat_template(directory: Path):
    """(chat_template, special tokens) from a model directory's tokenizer files, without loading the tokenizer."""
    config_path = directory / 'tokenizer_config.json'
    config: Dict[str, Any] = json.loads(config_path.read_text()) if config_path.is_file() else {}
    tokens = {k: _token_text(config.get(k)) for k in _SPECIAL_TOKENS}
    chat_template: Optional[Any] = None
    if (directory / 'chat_template.jinja').is_file():
        chat_template = (directory / 'chat_template.jinja').read_text()
    elif (directory / 'chat_template.json').is_file():
        chat_template = json.loads((directory / 'chat_template.json').read_text()).get('chat_template')
    else:
        chat_template = config.get('chat_template')
    if isinstance(chat_template, list):  # named templates: the 'default' one
        chat_template = next((t['template'] for t in chat_template if t.get('name') == 'default'), None)
    if not chat_template:
        raise SwiftError(f'{directory}: no chat template found (chat_template.jinja, chat_template.json or '
                         'tokenizer_config.json); pass --template to choose one')
    return chat_template, tokens


def _token_text(value: Any) -> Optional[str]:
    if isinstance(value, dict):  # serialized AddedToken
        return value.get('content')
    return value
