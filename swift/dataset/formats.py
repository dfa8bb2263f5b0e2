"""Row formats: detect each row's format and convert it to the one standard row.

The standard row (what templates and trainers read):

    {'messages': [{'role': 'system'|'user'|'assistant'|'tool', 'content': ...}, ...],
     'rejected_response': str            # preference data (DPO, ORPO, ...), or
     'rejected_messages': [...]          # when the rejected side differs before its last turn
     'label': bool                       # KTO
     'images' / 'videos' / 'audios': [...]   # paths or URLs, carried through untouched
     'tools': [...]                      # function definitions (a JSON string is decoded)
     ...any other column, unchanged (e.g. 'solution' for GRPO reward functions)}

Formats, detected per row in this order (so one file may mix them):

    messages            {'messages': [{'role', 'content'}, ...]}          (OpenAI style)
    sharegpt            {'conversations': [{'from', 'value'}, ...]}       (+ 'chosen'/'rejected' for ranking)
    preference          {'prompt', 'chosen', 'rejected'}; chosen/rejected are strings, one message,
                        or message lists; without 'prompt' two message lists share their prefix
    hh_rlhf             {'chosen', 'rejected'} as "\\n\\nHuman: ...\\n\\nAssistant: ..." transcripts
    alpaca              {'instruction', 'input', 'output'} (+ 'system', 'history' [[q, a], ...])
    query_response      {'query', 'response'} (+ 'system', 'history')
    prompt_completion   {'prompt', 'completion'} (+ 'label' for KTO)
    text                {'text'} for pre-training

Pre-training text becomes a single assistant message, `[{'role': 'assistant', 'content': text}]`,
rather than a separate 'text' field: every row then has the same shape, and the template's
rule "train on assistant tokens" covers pre-training without a special case.

A row that cannot be converted raises RowError with a reason that names the field. So does a row a later step
would crash on or choke on: text with a lone UTF-16 surrogate (a "\\ud800" escape in the file: tokenizers raise on
it), a text field longer than MAX_TEXT_CHARS, nesting deeper than MAX_ROW_DEPTH.
"""
import json
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from swift.utils.untrusted import find_problem, indexed

ROLES = ('system', 'user', 'assistant', 'tool')
MEDIA_KEYS = ('images', 'videos', 'audios')
SHAREGPT_ROLES = {
    'human': 'user',
    'user': 'user',
    'gpt': 'assistant',
    'assistant': 'assistant',
    'system': 'system',
    'observation': 'tool',
    'tool': 'tool',
    'function_call': 'assistant',  # becomes an assistant turn with tool_calls
}
# Columns that often hold a query or a response under another name: used only for hints.
_COLUMN_HINTS = {
    'question': 'query',
    'prompt': 'query',
    'input': 'query',
    'instruction': 'query',
    'answer': 'response',
    'output': 'response',
    'completion': 'response',
    'target': 'response',
    'content': 'text',
    'conversation': 'messages',
    'dialog': 'messages',
}
# Columns that may arrive JSON-encoded (CSV cells, some parquet exports).
_STRUCTURED_COLUMNS = ('messages', 'conversations', 'history', 'tools', 'chosen', 'rejected', 'prompt',
                       'rejected_messages', 'images', 'videos', 'audios', 'objects')
_JSON_ONLY_COLUMNS = ('messages', 'conversations', 'history', 'tools', 'rejected_messages')
_HH_TURN = re.compile(r'\n\n(Human|Assistant):')
# One text field: about a million tokens, more than any model here trains on. Past it a tokenizer spends seconds
# and hundreds of MB on one row that max_length would drop or cut anyway; split such documents into several rows.
MAX_TEXT_CHARS = 4 * 1024 * 1024
MAX_ROW_DEPTH = 64  # messages nest 3 levels, a tool's JSON schema a few more


class RowError(ValueError):
    """A row that cannot be used; the message is the reason shown to the user."""


# ---------------------------------------------------------------- cleaning


def _drop_none(value: Any) -> Any:
    """Arrow-backed sources fill absent fields with None: treat them as absent."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None}
    return value


def _decode_structured(key: str, value: Any) -> Any:
    if not (isinstance(value, str) and value.lstrip()[:1] in ('[', '{')):
        return value
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):  # JSONDecodeError, a 5000-digit number, nesting past the recursion limit
        if key in _JSON_ONLY_COLUMNS:
            raise RowError(f"'{key}' is a string that is not valid JSON") from None
        return value
    if key in _JSON_ONLY_COLUMNS or key in MEDIA_KEYS:
        return decoded
    # 'prompt', 'chosen', 'rejected' may be plain text that happens to start with a bracket.
    is_messages = isinstance(decoded, dict) or (isinstance(decoded, list) and decoded
                                                and all(isinstance(item, dict) for item in decoded))
    return decoded if is_messages else value


def clean_row(row: Dict[str, Any], columns: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Drop None fields, rename columns (columns={'question': 'query'}), decode JSON-string columns."""
    if not isinstance(row, dict):
        raise RowError(f'expected an object with named fields, got {type(row).__name__}')
    row = _drop_none(row)
    if columns:
        renamed = {}
        for key, value in row.items():
            renamed[columns.get(key, key)] = value
        row = renamed
    for key in _STRUCTURED_COLUMNS:
        if key in row:
            row[key] = _decode_structured(key, row[key])
    return row


# ---------------------------------------------------------------- small converters


def _text(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # CSV/JSON numbers such as an answer "42"
    raise RowError(f"'{field}' must be a string, got {type(value).__name__}")


def _history_messages(history: Any) -> List[Dict[str, Any]]:
    """[[query, response], ...] → alternating user/assistant messages."""
    if not isinstance(history, list):
        raise RowError(f"'history' must be a list of [query, response] pairs, got {type(history).__name__}")
    messages = []
    for i, pair in enumerate(history):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise RowError(f"'history[{i}]' must be a [query, response] pair")
        messages.append({'role': 'user', 'content': _text(pair[0], f'history[{i}][0]')})
        messages.append({'role': 'assistant', 'content': _text(pair[1], f'history[{i}][1]')})
    return messages


def _parse_tool_calls(value: Any, field: str) -> List[Dict[str, Any]]:
    """A ShareGPT function_call value ('{"name": ..., "arguments": ...}', or a list) → OpenAI tool_calls."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise RowError(f'{field}: a function_call must be JSON with "name" and "arguments"') from None
    calls = value if isinstance(value, list) else [value]
    tool_calls = []
    for call in calls:
        if not isinstance(call, dict) or 'name' not in call:
            raise RowError(f'{field}: a function_call must be JSON with "name" and "arguments"')
        arguments = call.get('arguments', {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                pass  # some tools take a free-text argument string: keep it
        tool_calls.append({'type': 'function', 'function': {'name': call['name'], 'arguments': arguments}})
    return tool_calls


def _sharegpt_message(turn: Any, field: str) -> Dict[str, Any]:
    if not isinstance(turn, dict):
        raise RowError(f'{field} must be an object with "from" and "value"')
    turn = _drop_none(turn)
    speaker = turn.get('from', turn.get('role'))
    value = turn.get('value', turn.get('content'))
    if speaker is None or value is None:
        raise RowError(f'{field} needs "from" and "value" (found keys {sorted(turn)})')
    role = SHAREGPT_ROLES.get(str(speaker).lower())
    if role is None:
        raise RowError(f'{field}: unknown speaker {speaker!r}; expected one of {sorted(SHAREGPT_ROLES)}')
    if str(speaker).lower() == 'function_call':
        return {'role': 'assistant', 'content': '', 'tool_calls': _parse_tool_calls(value, field)}
    return {'role': role, 'content': _text(value, f'{field}.value')}


def _openai_message(message: Any, field: str) -> Dict[str, Any]:
    if not isinstance(message, dict):
        raise RowError(f'{field} must be an object with "role" and "content"')
    if 'role' not in message and 'from' in message:  # a ShareGPT turn inside a message list
        return _sharegpt_message(message, field)
    message = _drop_none(message)
    if 'role' not in message:
        raise RowError(f'{field} has no "role" (found keys {sorted(message)})')
    if 'content' not in message and not message.get('tool_calls'):
        raise RowError(f'{field} has no "content"')
    message.setdefault('content', '')
    if message['role'] == 'tool_call':  # ms-swift's agent rows: a call as JSON text, then its tool_response
        return {'role': 'assistant', 'content': '', 'tool_calls': _parse_tool_calls(message['content'], field)}
    if message['role'] == 'tool_response':
        return {**message, 'role': 'tool'}
    return message


def _as_messages(value: Any, field: str, default_role: str) -> List[Dict[str, Any]]:
    """A string (one message of default_role), one message object, or a list of messages."""
    if isinstance(value, str):
        return [{'role': default_role, 'content': value}]
    if isinstance(value, dict):
        return [_openai_message(value, field)]
    if isinstance(value, list):
        return [_openai_message(m, f'{field}[{i}]') for i, m in enumerate(value)]
    raise RowError(f"'{field}' must be a string, a message or a list of messages, got {type(value).__name__}")


def _with_rejected(messages: List[Dict[str, Any]], rejected: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Chosen and rejected conversations that differ only in the last assistant turn share `messages`."""
    if (len(rejected) == len(messages) and rejected[:-1] == messages[:-1] and rejected[-1]['role'] == 'assistant'):
        return {'messages': messages, 'rejected_response': rejected[-1]['content']}
    return {'messages': messages, 'rejected_messages': rejected}


# ---------------------------------------------------------------- one converter per format
# Each returns (standard fields, the input keys it consumed).

Converted = Tuple[Dict[str, Any], Tuple[str, ...]]


def _from_messages(row: Dict[str, Any]) -> Converted:
    value = row['messages']
    if not isinstance(value, list):
        raise RowError(f"'messages' must be a list, got {type(value).__name__}")
    messages = [_openai_message(m, f'messages[{i}]') for i, m in enumerate(value)]
    out = {'messages': messages}
    if 'rejected_messages' in row:
        out['rejected_messages'] = _as_messages(row['rejected_messages'], 'rejected_messages', 'assistant')
    if 'rejected_response' in row:
        out['rejected_response'] = _text(row['rejected_response'], 'rejected_response')
    return out, ('messages', 'rejected_messages', 'rejected_response')


def _from_sharegpt(row: Dict[str, Any]) -> Converted:
    value = row['conversations']
    if not isinstance(value, list):
        raise RowError(f"'conversations' must be a list, got {type(value).__name__}")
    messages = [_sharegpt_message(t, f'conversations[{i}]') for i, t in enumerate(value)]
    if 'chosen' not in row and 'rejected' not in row:
        return {'messages': messages}, ('conversations', )
    # LLaMA-Factory ranking data: the conversation is the prompt, chosen/rejected the last turn.
    if 'chosen' not in row or 'rejected' not in row:
        raise RowError("ranking data needs both 'chosen' and 'rejected'")
    chosen = _as_messages(row['chosen'], 'chosen', 'assistant')
    rejected = _as_messages(row['rejected'], 'rejected', 'assistant')
    return _with_rejected(messages + chosen, messages + rejected), ('conversations', 'chosen', 'rejected')


def _from_preference(row: Dict[str, Any]) -> Converted:
    if 'chosen' not in row or 'rejected' not in row:
        missing = 'chosen' if 'chosen' not in row else 'rejected'
        raise RowError(f"preference data needs 'prompt', 'chosen' and 'rejected': '{missing}' is missing")
    prompt = _as_messages(row['prompt'], 'prompt', 'user') if 'prompt' in row else []
    chosen = _as_messages(row['chosen'], 'chosen', 'assistant')
    rejected = _as_messages(row['rejected'], 'rejected', 'assistant')
    return _with_rejected(prompt + chosen, prompt + rejected), ('prompt', 'chosen', 'rejected')


def _hh_messages(transcript: str, field: str) -> List[Dict[str, Any]]:
    if not transcript.startswith('\n\n'):
        transcript = '\n\n' + transcript.lstrip()
    parts = _HH_TURN.split(transcript)
    if parts[0].strip():
        raise RowError(f"'{field}' must start with 'Human:'")
    messages = []
    for speaker, text in zip(parts[1::2], parts[2::2]):
        messages.append({'role': 'user' if speaker == 'Human' else 'assistant', 'content': text.strip()})
    return messages


def _from_hh_rlhf(row: Dict[str, Any]) -> Converted:
    chosen = _hh_messages(row['chosen'], 'chosen')
    rejected = _hh_messages(row['rejected'], 'rejected')
    return _with_rejected(chosen, rejected), ('chosen', 'rejected')


def _query_messages(query: str, response: Optional[str], row: Dict[str, Any]) -> List[Dict[str, Any]]:
    messages = _history_messages(row['history']) if 'history' in row else []
    messages.append({'role': 'user', 'content': query})
    if response is not None:
        messages.append({'role': 'assistant', 'content': response})
    return messages


def _from_alpaca(row: Dict[str, Any]) -> Converted:
    instruction = _text(row.get('instruction', ''), 'instruction')
    extra_input = _text(row.get('input', ''), 'input')
    query = '\n'.join(part for part in (instruction, extra_input) if part.strip())
    response = _text(row['output'], 'output')
    return {'messages': _query_messages(query, response, row)}, ('instruction', 'input', 'output', 'history')


def _from_query_response(row: Dict[str, Any]) -> Converted:
    query = _text(row['query'], 'query')
    response = _text(row['response'], 'response') if 'response' in row else None
    return {'messages': _query_messages(query, response, row)}, ('query', 'response', 'history')


def _from_prompt_completion(row: Dict[str, Any]) -> Converted:
    prompt = _as_messages(row['prompt'], 'prompt', 'user')
    completion = _as_messages(row['completion'], 'completion', 'assistant')
    return {'messages': prompt + completion}, ('prompt', 'completion')


def _from_text(row: Dict[str, Any]) -> Converted:
    return {'messages': [{'role': 'assistant', 'content': _text(row['text'], 'text')}]}, ('text', )


def _is_hh_transcript(value: Any) -> bool:
    return isinstance(value, str) and '\n\nHuman:' in value and '\n\nAssistant:' in value


# (format name, test on the row's keys, converter): the first match wins.
FORMATS: List[Tuple[str, Callable[[Dict[str, Any]], bool], Callable[[Dict[str, Any]], Converted]]] = [
    ('messages', lambda r: 'messages' in r, _from_messages),
    ('sharegpt', lambda r: 'conversations' in r, _from_sharegpt),
    ('hh_rlhf', lambda r: 'prompt' not in r and _is_hh_transcript(r.get('chosen')), _from_hh_rlhf),
    ('preference', lambda r: 'chosen' in r or 'rejected' in r, _from_preference),
    ('alpaca', lambda r: 'instruction' in r and 'output' in r, _from_alpaca),
    ('query_response', lambda r: 'query' in r, _from_query_response),
    ('prompt_completion', lambda r: 'prompt' in r and 'completion' in r, _from_prompt_completion),
    ('text', lambda r: 'text' in r, _from_text),
]


def _unknown_format(row: Dict[str, Any]) -> RowError:
    keys = sorted(row)
    hint = {k: _COLUMN_HINTS[k] for k in keys if k in _COLUMN_HINTS}
    message = (f'unknown format: columns {keys}; expected messages, conversations, instruction+output, '
               'query+response, prompt+chosen+rejected, prompt+completion or text')
    if hint:
        message += f'; map columns, e.g. columns={json.dumps(hint)}'
    return RowError(message)


def detect_format(row: Dict[str, Any]) -> str:
    for name, matches, _ in FORMATS:
        if matches(row):
            return name
    raise _unknown_format(row)


# ---------------------------------------------------------------- the fields every format shares


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ('true', 'false', '1', '0'):
        return value.strip().lower() in ('true', '1')
    raise RowError(f"'label' must be true or false (KTO), a number or a list of numbers, got {value!r:.60}")


def _label(value: Any) -> Any:
    """KTO's true/false (also written 1/0), or a class index, a score or a list of them (swift sft --task_type
    seq_cls, embedding losses with labels): kept as numbers."""
    if isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value not in (0, 1):
        return value
    return _as_bool(value)


def _add_shared_fields(row: Dict[str, Any], out: Dict[str, Any], consumed: Tuple[str, ...]) -> None:
    for key, value in row.items():
        if key in consumed:
            continue
        if key == 'system':
            system = _text(value, 'system')
            if system.strip() and out['messages'][:1] and out['messages'][0].get('role') != 'system':
                out['messages'].insert(0, {'role': 'system', 'content': system})
                if 'rejected_messages' in out:
                    out['rejected_messages'].insert(0, {'role': 'system', 'content': system})
        elif key in MEDIA_KEYS:
            out[key] = [value] if isinstance(value, str) else value
        elif key == 'tools':
            if isinstance(value, str) and not value.strip():
                continue  # an empty CSV cell: no tools
            if isinstance(value, dict):
                value = [value]
            if not isinstance(value, list):
                raise RowError(f"'tools' must be a list of function definitions (or their JSON), got {value!r:.60}")
            out['tools'] = value
        elif key == 'label':
            out['label'] = _label(value)
        else:
            out[key] = value


# ---------------------------------------------------------------- validation


def _has_content(message: Dict[str, Any]) -> bool:
    content = message.get('content')
    if isinstance(content, str):
        return bool(content.strip())
    return bool(content)  # a list of content parts (multimodal)


def validate_messages(messages: List[Dict[str, Any]], field: str = 'messages', require_response: bool = True,
                      has_media: bool = False) -> None:
    """Roles and order: [system] user assistant (user assistant)*, tool turns after tool calls."""
    if not messages:
        raise RowError(f"'{field}' is empty")
    for i, message in enumerate(messages):
        role = message.get('role')
        if role not in ROLES:
            raise RowError(f'{field}[{i}]: unknown role {role!r}; expected one of {list(ROLES)}')
        content = message.get('content')
        if not isinstance(content, (str, list)):
            raise RowError(f'{field}[{i}]: content must be a string or a list of parts, got {type(content).__name__}')
        if role == 'system' and i > 0:
            raise RowError(f'{field}[{i}]: a system message may only come first')
    turns = messages[1:] if messages[0]['role'] == 'system' else messages
    if not turns:
        raise RowError(f"'{field}' has only a system message")
    if [m['role'] for m in turns] == ['assistant']:
        if not _has_content(turns[0]):
            raise RowError(f'{field}: empty text')
        return  # pre-training text
    offset = len(messages) - len(turns)
    previous = None
    for j, message in enumerate(turns):
        i, role = j + offset, message['role']
        if previous is None and role != 'user':
            raise RowError(f'{field}[{i}]: the conversation must start with a user turn, got {role!r}')
        if role == 'user' and previous == 'user':
            raise RowError(f'{field}[{i}]: two user turns in a row (roles must alternate user/assistant)')
        if role == 'user' and previous == 'tool':
            raise RowError(f'{field}[{i}]: a tool result must be followed by an assistant turn, got a user turn')
        if role == 'assistant' and previous == 'assistant' and not turns[j - 1].get('tool_calls'):
            raise RowError(f'{field}[{i}]: two assistant turns in a row (roles must alternate user/assistant)')
        if role == 'tool' and previous not in ('tool', 'assistant'):
            raise RowError(f'{field}[{i}]: a tool result must follow an assistant tool call')
        if role == 'tool' and previous == 'assistant' and not turns[j - 1].get('tool_calls'):
            raise RowError(f'{field}[{i}]: a tool result follows an assistant turn without tool_calls')
        if role == 'assistant' and not _has_content(message) and not message.get('tool_calls'):
            raise RowError(f'{field}[{i}]: empty assistant turn')
        if role == 'user' and not _has_content(message) and not has_media:
            raise RowError(f'{field}[{i}]: empty user turn')
        previous = role
    if require_response and previous != 'assistant':
        raise RowError(f'{field}: the last turn is {previous!r}; a training row must end with an assistant turn')


def rejected_messages(row: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The rejected conversation of a standard preference row: its rejected_messages, or its messages with the
    last answer replaced by rejected_response."""
    if row.get('rejected_messages'):
        return row['rejected_messages']
    if row.get('rejected_response') is not None:
        return row['messages'][:-1] + [{'role': 'assistant', 'content': row['rejected_response']}]
    raise ValueError('this row has no rejected answer: preference training needs "rejected_response" or '
                     '"rejected_messages" (or prompt/chosen/rejected columns)')


def validate_standard_row(row: Dict[str, Any], require_response: bool = True) -> None:
    has_media = any(row.get(k) for k in MEDIA_KEYS)
    validate_messages(row['messages'], 'messages', require_response, has_media)
    if 'rejected_response' in row:
        rejected = row['rejected_response']
        if not isinstance(rejected, str) or not rejected.strip():
            raise RowError('empty rejected response')
        if rejected == row['messages'][-1].get('content'):
            raise RowError('the rejected response equals the chosen one')
    if 'rejected_messages' in row:
        validate_messages(row['rejected_messages'], 'rejected_messages', True, has_media)


def check_row_values(row: Dict[str, Any]) -> None:
    """RowError naming the field for text a later step would crash on, or that is too long to tokenize sensibly."""
    problem = find_problem(row, max_depth=MAX_ROW_DEPTH, max_chars=MAX_TEXT_CHARS, finite=False)
    if problem is None:
        return
    if problem.kind == 'too_deep':  # named by its column: the full path would be MAX_ROW_DEPTH steps long
        raise RowError(f"'{problem.path[0]}' {problem.message}")
    place = indexed(problem.path).encode('utf-8', 'backslashreplace').decode('utf-8')  # a key may hold it
    if problem.kind == 'too_long':
        raise RowError(f"'{place}' {problem.message} characters of one text field; split it into several rows")
    raise RowError(f"'{place}' {problem.message}; fix the escape in the file (a surrogate pair needs both halves)")


def standardize_row(row: Dict[str, Any], columns: Optional[Dict[str, str]] = None,
                    require_response: bool = True) -> Tuple[str, Dict[str, Any]]:
    """Any supported row → (format name, standard row). Raises RowError with the reason."""
    row = clean_row(row, columns)
    check_row_values(row)
    name = detect_format(row)
    converter = next(convert for fmt, _, convert in FORMATS if fmt == name)
    out, consumed = converter(row)
    _add_shared_fields(row, out, consumed)
    validate_standard_row(out, require_response)
    return name, out
