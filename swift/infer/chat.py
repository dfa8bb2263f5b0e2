"""`swift infer`: chat on a terminal (streamed, multi-turn), one answer per stdin line when piped,
or a whole dataset into a JSONL file (`--val_dataset ... --result_path ...`, see batch.py).

Terminal commands: `clear` (forget history), `reset-system` (set a new system prompt),
`multi-line` (end a message with #), `exit`.
"""
import sys
from typing import Dict, List, Optional, TextIO

from .arguments import InferArguments
from .protocol import InferRequest, RequestConfig


def request_config_from(args: InferArguments) -> RequestConfig:
    return RequestConfig(max_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                         top_k=args.top_k, repetition_penalty=args.repetition_penalty, stop=list(args.stop_words),
                         seed=args.seed)


def build_engine(args: InferArguments):
    from .backends import get_infer_engine
    return get_infer_engine(args.infer_backend, args.model, template=args.template, default_system=args.system,
                            adapters=args.adapters, merge_lora=args.merge_lora, max_batch_size=args.max_batch_size,
                            engine_kwargs=args.engine_kwargs, **args.model_kwargs())


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
                     system: Optional[str] = None, stream: bool = True) -> None:
    history: List[Dict[str, str]] = []
    multi_line = False
    stdout.write('Chat with the model. Commands: clear, reset-system, multi-line, single-line, exit\n')
    while True:
        text = _read_message(stdin, stdout, multi_line)
        if text is None or text.strip() == 'exit':
            stdout.write('\n')
            return
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
        history += [{'role': 'user', 'content': text}, {'role': 'assistant', 'content': reply}]


def pipe_answers(engine, config: RequestConfig, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                 system: Optional[str] = None) -> None:
    """One query per input line, one answer per output line (newlines inside an answer are escaped)."""
    for line in stdin:
        query = line.rstrip('\n')
        if not query.strip():
            continue
        messages = ([{'role': 'system', 'content': system}] if system else []) + [{'role': 'user', 'content': query}]
        reply = engine.infer([InferRequest(messages)], config)[0].choices[0].message.content
        stdout.write(reply.replace('\\', '\\\\').replace('\n', '\\n') + '\n')
        stdout.flush()


def batch_answers(engine, args: InferArguments, config: RequestConfig, stdout: TextIO = sys.stdout) -> None:
    from .batch import load_rows, run_batch
    result_path = args.result_path or 'infer_result.jsonl'
    counts = run_batch(engine, load_rows(args), result_path, config, system=args.system)
    stdout.write(f'{result_path}: {counts["done"]} rows answered, {counts["skipped"]} already there, '
                 f'{counts["errors"]} errors\n')


def infer_main(args: InferArguments, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    engine = build_engine(args)
    config = request_config_from(args)
    try:
        if args.val_dataset:
            batch_answers(engine, args, config, stdout)
        elif stdin.isatty():
            interactive_chat(engine, config, stdin, stdout, system=args.system,
                             stream=True if args.stream is None else args.stream)
        else:
            pipe_answers(engine, config, stdin, stdout, system=args.system)
    finally:
        engine.close()
    return 0
