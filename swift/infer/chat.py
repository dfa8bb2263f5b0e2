"""The conversation modes of `swift infer`: chat on a terminal (streamed, multi-turn), and one answer per
stdin line when piped. Batch mode (a dataset into a JSONL file) is batch.py.

Terminal commands: `clear` (forget history and media), `reset-system` (set a new system prompt),
`multi-line` (end a message with #), `exit`.

With a multimodal model, `<image>`, `<video>` and `<audio>` tags in a message bring media, as in ms-swift's
`swift infer`: a tag directly followed by a URL, a data: URI or an existing file (`<image>shapes/a.png What
colour?`) takes that item; any other tag asks for it (`Input an image path or URL <<< `). The media of earlier
turns stay in the conversation until `clear`. Piped input takes `<image>path` too (a tag without an item reads it
from the next line, without a prompt).
"""
import io
import os
import re
import sys
from typing import Dict, List, Optional, TextIO, Tuple

from swift.utils import SwiftError

from .protocol import InferRequest, RequestConfig


def _read_message(stdin: TextIO, stdout: TextIO, multi_line: bool) -> Optional[str]:
    stdout.write('<<< ')
    stdout.flush()
    if not multi_line:
        line = stdin.readline()
        return None if line == '' else line.rstrip('\n')
    lines = []
    while True:
        line = stdin.readline()
        if line == '':
            return None
        if line.rstrip('\n').endswith('#'):
            lines.append(line.rstrip('\n')[:-1])
            return '\n'.join(lines)
        lines.append(line.rstrip('\n'))


MEDIA_TAGS = {'<image>': 'images', '<video>': 'videos', '<audio>': 'audios'}
_TAG_AND_REST = re.compile(r'(<image>|<video>|<audio>)(\S*)')


def _is_media_item(text: str) -> bool:
    return bool(text) and (text.startswith(('http://', 'https://', 'data:')) or os.path.isfile(text))


def take_media(text: str, stdin: TextIO, stdout: TextIO) -> Tuple[str, Dict[str, List[str]]]:
    """(the message with its tags kept and inline items removed, the media it brings per kind): an item right after
    its tag is taken from the line, any other tag is asked for on its own line."""
    media: Dict[str, List[str]] = {key: [] for key in MEDIA_TAGS.values()}
    out, last = [], 0
    for match in _TAG_AND_REST.finditer(text):
        tag, rest = match.group(1), match.group(2)
        out.append(text[last:match.start()] + tag)
        last = match.end()
        if _is_media_item(rest):
            item = rest
            last = match.end() + (1 if text[match.end():match.end() + 1] == ' ' else 0)  # '<image>a.png What'
        else:
            out.append(rest)
            kind = tag[1:-1]
            stdout.write(f'Input {"an" if kind[0] in "ia" else "a"} {kind} path or URL <<< ')
            stdout.flush()
            item = stdin.readline().strip()
        media[MEDIA_TAGS[tag]].append(os.path.abspath(item) if os.path.isfile(item) else item)
    out.append(text[last:])
    return ''.join(out), media


def interactive_chat(engine, config: RequestConfig, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                     system: Optional[str] = None, stream: bool = True) -> int:
    """Chat until `exit` or the end of input; returns the number of answers."""
    history: List[Dict[str, str]] = []
    history_media: Dict[str, List[str]] = {key: [] for key in MEDIA_TAGS.values()}
    multimodal = getattr(getattr(engine, 'template', None), 'is_multimodal', False)
    answers = 0
    multi_line = False
    stdout.write('Chat with the model. Commands: clear, reset-system, multi-line, single-line, exit\n')
    while True:
        text = _read_message(stdin, stdout, multi_line)
        if text is None or text.strip() == 'exit':
            stdout.write('\n')
            return answers
        command = text.strip()
        if command == 'clear':
            history = []
            history_media = {key: [] for key in MEDIA_TAGS.values()}
            continue
        if command == 'reset-system':
            stdout.write('System: ')
            stdout.flush()
            system = stdin.readline().rstrip('\n') or None
            history = []
            history_media = {key: [] for key in MEDIA_TAGS.values()}
            continue
        if command in ('multi-line', 'single-line'):
            multi_line = command == 'multi-line'
            continue
        if not command:
            continue
        media = {key: [] for key in MEDIA_TAGS.values()}
        if multimodal:
            text, media = take_media(text, stdin, stdout)
        messages = ([{'role': 'system', 'content': system}] if system else []) + history
        messages.append({'role': 'user', 'content': text})
        request = InferRequest(messages, **{k: history_media[k] + v for k, v in media.items() if history_media[k] + v})
        stdout.write('>>> ')
        try:
            reply = _answer(engine, request, config, stdout, stream)
        except SwiftError as e:  # an unreadable image, a media kind the model does not take: say so, keep chatting
            stdout.write(f'[error] {e}\n')
            continue
        stdout.write('\n')
        answers += 1
        history += [{'role': 'user', 'content': text}, {'role': 'assistant', 'content': reply}]
        for key, items in media.items():
            history_media[key] += items


def _answer(engine, request: InferRequest, config: RequestConfig, stdout: TextIO, stream: bool) -> str:
    if not stream:
        reply = engine.infer([request], config)[0].choices[0].message.content
        stdout.write(reply)
        return reply
    reply = ''
    try:
        for delta in engine.stream(request, config):
            reply += delta
            stdout.write(delta)
            stdout.flush()
    except KeyboardInterrupt:  # Ctrl-C stops this reply (and frees its batch slot), not the chat
        stdout.write(' [stopped]')
    return reply


def pipe_answers(engine, config: RequestConfig, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                 system: Optional[str] = None) -> int:
    """One query per input line, one answer per output line (newlines inside an answer are escaped); returns the
    number of answers."""
    answers = 0
    multimodal = getattr(getattr(engine, 'template', None), 'is_multimodal', False)
    for line in iter(stdin.readline, ''):
        query = line.rstrip('\n')
        if not query.strip():
            continue
        media = {}
        if multimodal:  # `<image>path` on the line, or the path on the next line (no prompt: stdout is answers)
            query, media = take_media(query, stdin, io.StringIO())
        messages = ([{'role': 'system', 'content': system}] if system else []) + [{'role': 'user', 'content': query}]
        request = InferRequest(messages, **{k: v for k, v in media.items() if v})
        reply = engine.infer([request], config)[0].choices[0].message.content
        stdout.write(reply.replace('\\', '\\\\').replace('\n', '\\n') + '\n')
        stdout.flush()
        answers += 1
    return answers
