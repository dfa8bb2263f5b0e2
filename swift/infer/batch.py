"""Batch mode of `swift infer`: answer every row of a dataset into a JSONL file, resumably.

    swift infer --model M --val_dataset data.jsonl --result_path out.jsonl

Each output line is one row: {"index", "messages", "response", "labels", "finish_reason", "usage"}
("error" instead of a response when the row could not be run, e.g. a prompt longer than the
context). `index` is the row's position in the dataset; rows whose index is already in the
result file are not run again, so a killed run continues where it stopped. Lines are appended
and flushed one by one, so a kill loses at most the rows still in flight (a torn last line is
cut off on resume). Rows run concurrently (up to a few batches in flight), so lines are in
completion order, not dataset order.
"""
import asyncio
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, TextIO

from swift.dataset import PYTHON_ROWS, load_datasets
from swift.utils import SwiftError, get_logger
from swift.utils.checkpoint import adapter_paths, read_run_args

from .protocol import InferError, InferRequest, RequestConfig

logger = get_logger()


def finished_indices(result_path: Path) -> Set[int]:
    """Indices already answered in an existing result file; a torn last line is removed."""
    if not result_path.is_file():
        return set()
    data = result_path.read_bytes()
    if data and not data.endswith(b'\n'):
        cut = data.rfind(b'\n') + 1  # the last complete line ends here (0: no complete line)
        with open(result_path, 'r+b') as f:
            f.truncate(cut)
        logger.warning(f'{result_path}: removed a torn last line (the run was killed while writing it)')
        data = data[:cut]
    done = set()
    for number, line in enumerate(data.decode('utf-8').splitlines(), 1):
        if not line.strip():
            continue
        try:
            done.add(int(json.loads(line)['index']))
        except (ValueError, KeyError, TypeError) as e:
            raise SwiftError(f'{result_path}:{number}: not a result line of swift infer ({e}); '
                             'pass another --result_path or remove the file') from None
    return done


def split_row(row: Dict[str, Any]):
    """(prompt messages, reference answer or None): a final assistant message is the label."""
    messages = list(row['messages'])
    labels = None
    if messages and messages[-1].get('role') == 'assistant':
        labels = messages[-1].get('content')
        messages = messages[:-1]
    return messages, labels


def load_rows(args) -> Sequence[Dict[str, Any]]:
    if getattr(args, 'load_data_args', False):
        rows = training_val_rows(args)
    else:
        rows = load_datasets([], val_dataset=args.val_dataset, require_response=False, use_hf=args.use_hf,
                             seed=args.seed).val
    limit = getattr(args, 'val_dataset_sample', None)
    if limit and limit < len(rows):  # --val_dataset_sample: the first N, in the order they were loaded
        logger.info(f'--val_dataset_sample {limit}: answering the first {limit} of {len(rows)} rows')
        rows = rows[:limit]
    return rows


def training_val_rows(args) -> Sequence[Dict[str, Any]]:
    """--load_data_args: the validation rows of the run that saved the checkpoint, split again exactly as that
    run split them (its datasets, --split_dataset_ratio, seed and shuffles from its args.json)."""
    saved = saved_data_args(args)
    seed = saved.get('data_seed') if saved.get('data_seed') is not None else saved.get('seed', 42)
    result = load_datasets(saved.get('dataset') or [], val_dataset=saved.get('val_dataset') or [],
                           split_dataset_ratio=saved.get('split_dataset_ratio', 0.0), seed=seed,
                           columns=saved.get('columns') or None, strict=saved.get('strict', False),
                           use_hf=saved.get('use_hf', False), model_name=saved.get('model_name') or None,
                           model_author=saved.get('model_author') or None,
                           shuffle=saved.get('dataset_shuffle', False), val_shuffle=saved.get('val_dataset_shuffle',
                                                                                               False))
    if not result.val:
        raise SwiftError('--load_data_args: the training run had no validation rows (no --val_dataset, '
                         '--split_dataset_ratio 0): pass --val_dataset instead')
    return result.val


def saved_data_args(args) -> Dict[str, Any]:
    """The args.json of the first adapter checkpoint (or the model directory) that has one, with its data."""
    for path in [*adapter_paths(args.adapters), args.model]:
        saved = read_run_args(path) if path else {}
        if saved.get('dataset') or saved.get('val_dataset'):
            if PYTHON_ROWS in (saved.get('dataset') or []):
                raise SwiftError(f'--load_data_args: {path} was trained on rows passed from Python, which it did '
                                 'not save: pass them as --val_dataset')
            return saved
    raise SwiftError('--load_data_args reads the training run\'s args.json, and --adapters / --model has none with '
                     'a dataset: pass --adapters a swift checkpoint, or --val_dataset')


def run_batch(engine, rows: Sequence[Dict[str, Any]], result_path: str, config: RequestConfig,
              system: Optional[str] = None, in_flight: Optional[int] = None, progress: bool = True,
              indices: Optional[Sequence[int]] = None) -> Dict[str, int]:
    """Answer the rows (those at `indices` only, when given: one rank's share) not yet in result_path; returns
    counts {'done', 'skipped', 'errors'}."""
    path = Path(result_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = finished_indices(path)
    todo = [i for i in (range(len(rows)) if indices is None else indices) if i not in done]
    if done:
        logger.info(f'{path}: {len(done)} rows already answered, {len(todo)} to go')
    in_flight = in_flight or 4 * getattr(engine, 'max_batch_size', 8)
    with open(path, 'a', encoding='utf-8') as out:
        counts = engine.run_coroutine(_answer_all(engine, rows, todo, out, config, system, in_flight,
                                                  progress, len(rows), len(done)))
    counts['skipped'] = len(done)
    return counts


async def _answer_all(engine, rows, todo: List[int], out: TextIO, config: RequestConfig, system: Optional[str],
                      in_flight: int, progress: bool, total: int, initial: int) -> Dict[str, int]:
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=total, initial=initial, desc='infer', dynamic_ncols=True)
    limit = asyncio.Semaphore(in_flight)
    counts = {'done': 0, 'errors': 0}

    async def answer(index: int) -> None:
        async with limit:
            record = await _answer_row(engine, index, rows[index], config, system)
        out.write(json.dumps(record, ensure_ascii=False) + '\n')
        out.flush()  # one line at a time: a kill loses at most the rows in flight
        counts['errors' if 'error' in record else 'done'] += 1
        if bar is not None:
            bar.update(1)

    try:
        await asyncio.gather(*(answer(i) for i in todo))
    finally:
        if bar is not None:
            bar.close()
    return counts


async def _answer_row(engine, index: int, row: Dict[str, Any], config: RequestConfig,
                      system: Optional[str]) -> Dict[str, Any]:
    messages, labels = split_row(row)
    if system is not None and not (messages and messages[0].get('role') == 'system'):
        messages = [{'role': 'system', 'content': system}] + messages
    record: Dict[str, Any] = {'index': index, 'messages': messages}
    for key in ('images', 'videos', 'audios'):  # media as the data layer resolved them (paths, URLs)
        if row.get(key) and all(isinstance(item, str) for item in row[key]):
            record[key] = row[key]
    try:
        media = {key: row[key] for key in ('images', 'videos', 'audios') if row.get(key)}
        response = await engine.infer_async(InferRequest(messages, tools=row.get('tools'), objects=row.get('objects'),
                                                         **media), config)
    except InferError as e:
        record['error'] = str(e)
        return record
    choice = response.choices[0]
    record.update(response=choice.message.content, labels=labels, finish_reason=choice.finish_reason,
                  usage=response.usage.to_dict())
    if len(response.choices) > 1:
        record['responses'] = [c.message.content for c in response.choices]
    if choice.logprobs is not None:  # --logprobs (OpenAI's format, as swift deploy returns it)
        record['logprobs'] = choice.logprobs.to_dict()
    return record
