"""The fallback for model families we have no template for: the tokenizer's own Jinja chat_template.

This is the only place a Jinja chat template is rendered at runtime. It is rendered by
transformers' own function, so the text is what apply_chat_template gives. Which characters
are the answer is not declared by such a template; they are found by searching each
assistant message's text in the rendering (plus an end-of-turn word right after it).
"""
import json
import re
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
        end_of_turn = self._probe_end_of_turn()
        stop_words = [w for w in (end_of_turn, eos) if w]
        meta = TemplateMeta(name=name, stop_words=list(dict.fromkeys(stop_words)),
                            description="the tokenizer's own Jinja chat_template")
        super().__init__(meta, **kwargs)

    def _probe_end_of_turn(self) -> Optional[str]:
        """The word the template writes right after an answer (e.g. <|im_end|>), which must be trained.

        Often it is not the tokenizer's eos (ChatML models with eos <|endoftext|>), so it is read
        from a rendering of a probe conversation.
        """
        probe = [{'role': 'user', 'content': 'PROBE_QUERY'}, {'role': 'assistant', 'content': 'PROBE_ANSWER'}]
        try:
            text = self._render_jinja(probe, Chat(probe))
        except SwiftError:
            return None
        after = text.split('PROBE_ANSWER', 1)[1].lstrip(' ') if 'PROBE_ANSWER' in text else ''
        word = re.match(r'<[^<>\s]+>|\[[^\[\]\s]+\]', after)
        return word.group(0) if word else None

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
            found, content = self._find_answer(text, message, position)
            if found < 0:
                continue
            end = self._end_of_answer(text, found + len(content))
            while found > position and text[found - 1] == ' ':  # '[/INST] Hello': the model writes the space
                found -= 1
            out.prompt(text[position:found])
            # Index relative to the caller's messages (a default system message may have been prepended).
            out.answer(text[found:end], index - (len(messages) - len(chat.messages)))
            position = end
        out.prompt(text[position:])

    @staticmethod
    def _find_answer(text: str, message: Dict[str, Any], position: int):
        """(where an assistant message's text starts in the rendering, that text), or (-1, '')."""
        content = message.get('content') or ''
        if message['role'] != 'assistant' or not content.strip():
            return -1, ''
        for candidate in (content, content.strip()):  # templates that trim contents write the stripped text
            found = text.find(candidate, position)
            if found >= 0:
                return found, candidate
        return -1, ''

    def _end_of_answer(self, text: str, end: int) -> int:
        """Extend an answer over the end-of-turn words after it (' </s>', '<|END_RESPONSE|><|END_OF_TURN_TOKEN|>')."""
        gap = len(text) - end - len(text[end:].lstrip())  # whitespace a trimming template kept: '  \n\n<|im_end|>'
        while True:
            word = next((w for w in self.stop_words if text.startswith(w, end + gap)), None)
            if word is None:
                return end
            end += gap + len(word)
            gap = 0

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
