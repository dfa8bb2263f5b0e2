"""The conversation modes of `swift infer`: chat on a terminal (streamed, multi-turn), and one answer per
stdin line when piped. Batch mode (a dataset into a JSONL file) is batch.py.

Terminal commands: `clear` (forget history), `reset-system` (set a new system prompt),
`multi-line` (end a message with #), `exit`.
"""
import sys
from typing import Dict, List, Optional, TextIO

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


def interactive_chat(engine, config: RequestConfig, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                     system: Optional[str] = None, stream: bool = True) -> int:
    """Chat until `exit` or the end of input; returns the number of answers."""
    history: List[Dict[str, str]] = []
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
            continue
        if command == 'reset-system':
            stdout.write('System: ')
            stdout.flush()
            system = stdin.readline().rstrip('\n') or None
            history = []
            continue
        if command in ('multi-line', 'single-line'):
            multi_line = command == 'multi-line'
            continue
        if not command:
            continue
        messages = ([{'role': 'system', 'content': system}] if system else []) + history
        messages.append({'role': 'user', 'content': text})
        stdout.write('>>> ')
        if stream:
            reply = ''
            try:
                for delta in engine.stream(InferRequest(messages), config):
                    reply += delta
                    stdout.write(delta)
                    stdout.flush()
            except KeyboardInterrupt:  # Ctrl-C stops this reply (and frees its batch slot), not the chat
                stdout.write(' [stopped]')
        else:
            reply = engine.infer([InferRequest(messages)], config)[0].choices[0].message.content
            stdout.write(reply)
        stdout.write('\n')
        answers += 1
        history += [{'role': 'user', 'content': text}, {'role': 'assistant', 'content': reply}]


def pipe_answers(engine, config: RequestConfig, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                 system: Optional[str] = None) -> int:
    """One query per input line, one answer per output line (newlines inside an answer are escaped); returns the
    number of answers."""
    answers = 0
    for line in stdin:
        query = line.rstrip('\n')
        if not query.strip():
            continue
        messages = ([{'role': 'system', 'content': system}] if system else []) + [{'role': 'user', 'content': query}]
        reply = engine.infer([InferRequest(messages)], config)[0].choices[0].message.content
        stdout.write(reply.replace('\\', '\\\\').replace('\n', '\\n') + '\n')
        stdout.flush()
        answers += 1
    return answers
