"""Serving a reward model (`swift rlhf --rlhf_type rm`) as a scorer, behind the InferEngine interface.

    engine = RewardEngine(RewardModel.load('output/.../checkpoint-40'))       # adapter + head, or a full checkpoint
    engine = RewardEngine.from_args(args)                                     # what swift infer / deploy build
    engine.infer([InferRequest(conversation)])[0].choices[0].message.content  # '1.2345': the reward, as a string

A request's messages are the whole conversation, answer included, encoded as in training (as
RewardModel.score does); every choice's content is the conversation's score, as ms-swift answers for
reward models. Requests that arrive together are scored in one padded batch.

`swift infer` and `swift deploy` pick this engine when the checkpoint is a reward model (its args.json
says rlhf_type rm, or its config.json is a sequence classifier with one label):

- pipe mode: one conversation per stdin line (a JSON list of messages, a JSON row with "messages", or
  plain text, scored as one user message), one reward per stdout line;
- batch mode (`--val_dataset`): one line per row, {"index", "messages", "reward", "response"} with the
  row's final answer scored (not removed as for generation), plus "rejected_reward" for a pair row;
  resumed like generation's batch mode;
- `swift deploy`: POST /v1/chat/completions answers with the score as the message content.
"""
import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, TextIO

from swift.dataset import rejected_messages
from swift.utils import SwiftError, get_logger
from swift.utils.checkpoint import REWARD_MODEL, adapter_paths, checkpoint_kind

from .batch import finished_indices
from .engine import ChoiceUpdate, InferEngine, PreparedRequest
from .protocol import InferError, InferRequest, RequestConfig
from .reward_model import RewardModel

logger = get_logger()


class RewardEngine(InferEngine):
    """An InferEngine whose "answer" to a conversation is its reward (reward_model.RewardModel)."""

    def __init__(self, scorer, model_name: Optional[str] = None, max_batch_size: int = 32):
        self.scorer = scorer
        self.template = scorer.template
        self.tokenizer = scorer.tokenizer
        info = getattr(scorer.tokenizer, 'model_info', None)
        self.model_name = model_name or (info.model_id if info else 'reward-model')
        self.max_model_len = getattr(scorer.model.config, 'max_position_embeddings', None)
        self.max_batch_size = max_batch_size
        self._executor = ThreadPoolExecutor(1, thread_name_prefix='swift-reward')  # one forward at a time
        self._queues: Dict[asyncio.AbstractEventLoop, List] = {}  # per event loop: [(ids, future)] waiting
        self._draining = set()
        self._tasks = set()  # the running drains (the loop keeps only weak references to tasks)

    @classmethod
    def from_args(cls, args) -> 'RewardEngine':
        """The scorer `swift infer` / `swift deploy` serve for a reward model checkpoint."""
        if args.infer_backend != 'transformers':
            logger.warning(f'a reward model is scored with PyTorch; --infer_backend {args.infer_backend} is ignored')
        scorer = RewardModel.load(args.model, adapter_paths(args.adapters), template=args.template, system=args.system,
                                  model_kwargs=args.load_kwargs())
        scorer.batch_size = args.max_batch_size
        return cls(scorer, max_batch_size=args.max_batch_size)

    def _encode(self, request: InferRequest) -> List[int]:
        if request.prompt is not None and not request.messages:
            return list(self.tokenizer(request.prompt)['input_ids'])
        media = [key for key in ('images', 'videos', 'audios') if getattr(request, key)]
        if media:  # reward models are sequence classifiers trained on text rows (rlhf_type rm refuses media rows)
            raise InferError(f'a reward model scores text conversations: this request has {media[0]}, which swift '
                             'reward models do not take (swift rlhf --rlhf_type rm trains on text rows only); '
                             'send the conversation as text')
        return list(self.template.encode({'messages': request.messages, 'tools': request.tools})['input_ids'])

    async def _generate(self, prepared: PreparedRequest):
        text = format_score(await self._score(prepared.prompt_ids))
        yield [ChoiceUpdate(i, text, finish_reason='stop') for i in range(prepared.config.n)]

    async def _score(self, ids: List[int]) -> float:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queues.setdefault(loop, []).append((ids, future))
        if loop not in self._draining:
            self._draining.add(loop)
            task = loop.create_task(self._drain(loop))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self, loop) -> None:
        """Score what is waiting, max_batch_size conversations per forward pass, until nothing is."""
        queue = self._queues[loop]
        try:
            await asyncio.sleep(0)  # requests submitted together join the first batch
            while queue:
                batch = [(ids, f) for ids, f in queue[:self.max_batch_size] if not f.done()]
                del queue[:self.max_batch_size]
                if not batch:
                    continue
                try:
                    scores = await loop.run_in_executor(self._executor, self.scorer.score_ids, [b[0] for b in batch])
                except Exception as e:  # noqa: BLE001 (handed to the requests that wait for it)
                    scores = [e] * len(batch)
                for (_, future), score in zip(batch, scores):
                    if not future.done():
                        (future.set_exception if isinstance(score, Exception) else future.set_result)(score)
        finally:
            self._draining.discard(loop)

    def close(self) -> None:
        super().close()
        self._executor.shutdown(wait=True)


def format_score(score: float) -> str:
    """The message content for a score: the shortest text that reads back as the same float."""
    return repr(float(score))


# ---------------------------------------------------------------- choosing it


def is_reward_model(args) -> bool:
    """Whether `swift infer` / `swift deploy` args name a reward model checkpoint (adapter or full)."""
    path = adapter_paths(args.adapters)[0] if args.adapters else str(args.model)
    return checkpoint_kind(path) == REWARD_MODEL


# ---------------------------------------------------------------- swift infer: rewards instead of answers


def parse_conversation(line: str) -> List[Dict[str, Any]]:
    """A stdin line: a JSON list of messages, a JSON object with "messages", or plain text (one user message)."""
    try:
        value = json.loads(line)
    except ValueError:
        value = None
    if isinstance(value, dict) and 'messages' in value:
        return list(value['messages'])
    if isinstance(value, list):
        return value
    return [{'role': 'user', 'content': line}]


def score_lines(engine: RewardEngine, stdin: TextIO, stdout: TextIO) -> int:
    """One conversation per input line, its reward on one output line; returns how many were scored."""
    if stdin.isatty():
        stdout.write('Score conversations, one per line: JSON messages, or plain text; exit to stop\n')
    scored = 0
    for number, line in enumerate(stdin, 1):
        line = line.rstrip('\n')
        if line.strip() == 'exit':
            break
        if not line.strip():
            continue
        try:
            response = engine.infer([InferRequest(parse_conversation(line))])[0]
        except SwiftError as e:
            raise SwiftError(f'stdin line {number}: {e}') from None
        stdout.write(response.choices[0].message.content + '\n')
        stdout.flush()
        scored += 1
    return scored


def score_rows(engine: RewardEngine, rows: Sequence[Dict[str, Any]], result_path: str) -> Dict[str, int]:
    """Score every row not yet in result_path (its whole conversation, and its rejected one for a pair)."""
    path = Path(result_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = finished_indices(path)
    todo = [i for i in range(len(rows)) if i not in done]
    counts = {'done': 0, 'errors': 0, 'skipped': len(done)}
    chunk = max(1, engine.max_batch_size // 2)  # two conversations per pair row
    with open(path, 'a', encoding='utf-8') as out:
        for start in range(0, len(todo), chunk):
            indices = todo[start:start + chunk]
            pairs = [bool(rows[i].get('rejected_response') is not None or rows[i].get('rejected_messages'))
                     for i in indices]
            conversations = [list(rows[i]['messages']) for i in indices]
            conversations += [rejected_messages(rows[i]) for i, pair in zip(indices, pairs) if pair]
            scores = engine.run_coroutine(_score_all(engine, conversations))
            rejected = iter(scores[len(indices):])
            for index, messages, pair, score in zip(indices, conversations, pairs, scores):
                record = {'index': index, 'messages': messages}
                rejected_score = next(rejected) if pair else None
                if isinstance(score, Exception) or isinstance(rejected_score, Exception):
                    record['error'] = str(score if isinstance(score, Exception) else rejected_score)
                else:
                    record.update(reward=score, response=format_score(score))
                    if pair:
                        record['rejected_reward'] = rejected_score
                out.write(json.dumps(record, ensure_ascii=False) + '\n')
                out.flush()
                counts['errors' if 'error' in record else 'done'] += 1
    return counts


async def _score_all(engine: RewardEngine, conversations: List[List[Dict[str, Any]]]) -> List[Any]:
    """The score of each conversation, or the error that refused it (a malformed row, a too long prompt)."""

    async def one(messages):
        try:
            response = await engine.infer_async(InferRequest(messages), RequestConfig(max_tokens=None))
        except SwiftError as e:
            return e
        return float(response.choices[0].message.content)

    return await asyncio.gather(*(one(m) for m in conversations))
