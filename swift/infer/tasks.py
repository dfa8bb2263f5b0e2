"""Models trained with `swift sft --task_type seq_cls | embedding | reranker | generative_reranker`: the inputs
they read, how they score, and loading one to serve. Training (swift.training.tasks) builds its inputs and scores
with these same functions, so what `swift deploy` serves is exactly what was trained.

    model = TaskModel.load('output/.../checkpoint-20')            # the task comes from its args.json
    model.embed(['a query', 'a passage'])                         # embedding: L2-normalised vectors
    model.classify(['great film!'])                               # seq_cls: class probabilities
    model.rerank('query', ['doc 1', 'doc 2'])                     # reranker / generative_reranker: scores

- Inputs are chat messages rendered by the model's template, up to the generation prompt when they end with a
  user turn (a plain text is one user message); a reranker reads one user message, `<Query>: ...\\n<Document>: ...`, after a system prompt
  that asks for yes or no (ms-swift's Qwen3-Reranker layout).
- embedding: the backbone's last hidden state at the last token, L2-normalised (as Qwen3-Embedding pools).
- seq_cls / reranker: the classification head at the last token (reward_model.sequence_logits).
- generative_reranker: a causal LM; the score is logit("yes") - logit("no") at the position after the
  generation prompt (GENERATIVE_RERANKER_POSITIVE_TOKEN / _NEGATIVE_TOKEN choose the words).
"""
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import torch

from swift.model.loader import get_model_tokenizer
from swift.template import configure_template
from swift.tuners import load_adapters
from swift.utils import SwiftError, get_logger
from swift.utils.checkpoint import adapter_paths, read_run_args

from .reward_model import load_seq_cls_model, sequence_logits, trained_template

logger = get_logger()
CLASSIFIER_TASKS = ('seq_cls', 'reranker')
SERVED_TASKS = ('seq_cls', 'embedding', 'reranker', 'generative_reranker')
RERANK_SYSTEM = ('Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
                 'Note that the answer can only be "yes" or "no".')
RERANK_INSTRUCT = 'Given a web search query, retrieve relevant passages that answer the query'
Messages = List[Dict[str, Any]]


# ---------------------------------------------------------------- inputs


def as_messages(item: Union[str, Messages]) -> Messages:
    return [{'role': 'user', 'content': item}] if isinstance(item, str) else list(item)


def _text_of(messages: Messages, role_order=('user', 'assistant')) -> str:
    """The text of a query or document given as messages: its user (else assistant) contents, joined."""
    for role in role_order:
        texts = [m.get('content') or '' for m in messages if m.get('role') == role]
        if texts:
            return '\n'.join(texts)
    return '\n'.join(m.get('content') or '' for m in messages)


def _instruction(query: Messages, document: Messages) -> str:
    """ms-swift's priority: a system message in the document, else in the query, else the default instruction."""
    for messages in (document, query):
        system = next((m.get('content') for m in messages if m.get('role') == 'system'), None)
        if system:
            return system
    return RERANK_INSTRUCT


def rerank_messages(query: Union[str, Messages], document: Union[str, Messages]) -> Messages:
    """The conversation a reranker scores for one (query, document) pair."""
    query, document = as_messages(query), as_messages(document)
    text = (f'<Instruct>: {_instruction(query, document)}\n<Query>: {_text_of(query)}\n'
            f'<Document>: {_text_of(document)}')
    return [{'role': 'system', 'content': RERANK_SYSTEM}, {'role': 'user', 'content': text}]


def task_input_ids(template, messages: Messages, task_type: str) -> List[int]:
    """Token ids of what a task model reads: a conversation that ends with a user turn is rendered up to the
    generation prompt, where a causal LM's state sums up what it is about to answer (and where a generative
    reranker's next token is its yes/no); one that ends with an assistant turn is rendered whole."""
    if task_type == 'generative_reranker':
        messages = [m for m in messages if m.get('role') != 'assistant']
    ends_with_answer = bool(messages) and messages[-1].get('role') == 'assistant'
    return list(template.encode({'messages': messages}, for_inference=not ends_with_answer)['input_ids'])


def yes_no_ids(tokenizer) -> List[int]:
    """The token ids of the positive and negative words of a generative reranker."""
    ids = []
    for variable, default in (('GENERATIVE_RERANKER_POSITIVE_TOKEN', 'yes'),
                              ('GENERATIVE_RERANKER_NEGATIVE_TOKEN', 'no')):
        word = os.environ.get(variable, default)
        pieces = tokenizer.encode(word, add_special_tokens=False)
        if len(pieces) != 1:
            raise SwiftError(f'{variable}={word!r} is {len(pieces)} tokens for this tokenizer; a generative '
                             'reranker needs one-token words')
        ids.append(pieces[0])
    return ids


# ---------------------------------------------------------------- scoring


def _base_and_backbone(model):
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    return base, getattr(base, base.base_model_prefix)


def _last_hidden(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """[rows, hidden]: the backbone's last hidden state at each right-padded row's last token (adapters,
    injected into the backbone's layers, take part)."""
    _, backbone = _base_and_backbone(model)
    hidden = backbone(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
    last = attention_mask.sum(dim=1) - 1
    return hidden[torch.arange(hidden.size(0), device=hidden.device), last]


def embeddings(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """L2-normalised last-token embeddings, float32."""
    return torch.nn.functional.normalize(_last_hidden(model, input_ids, attention_mask).float(), dim=-1)


def generative_scores(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, yes_no: Sequence[int]
                      ) -> torch.Tensor:
    """logit(yes) - logit(no) of the next token after each row (the LM head on the last position only)."""
    base, _ = _base_and_backbone(model)
    pooled = _last_hidden(model, input_ids, attention_mask)
    head = base.get_output_embeddings()
    logits = head(pooled.to(head.weight.dtype)).float()[:, list(yes_no)]
    return logits[:, 0] - logits[:, 1]


def task_scores(model, task_type: str, input_ids, attention_mask, yes_no: Optional[Sequence[int]] = None):
    """What a task model outputs for a batch: embeddings, class logits, or one relevance score per row."""
    if task_type == 'embedding':
        return embeddings(model, input_ids, attention_mask)
    if task_type == 'generative_reranker':
        return generative_scores(model, input_ids, attention_mask, yes_no)
    logits = sequence_logits(model, input_ids, attention_mask)
    return logits.squeeze(-1) if task_type == 'reranker' else logits


# ---------------------------------------------------------------- a trained model, to serve


def checkpoint_task_type(model: Optional[str], adapters: Sequence[str] = ()) -> str:
    """The --task_type a checkpoint was trained with (its args.json), causal_lm when it says none."""
    path = adapter_paths(adapters)[0] if adapters else model
    if not path or not Path(str(path)).expanduser().is_dir():
        return 'causal_lm'
    return read_run_args(path).get('task_type') or 'causal_lm'


class TaskModel:
    """A seq_cls / embedding / reranker / generative_reranker model, frozen, with its template."""

    def __init__(self, model, tokenizer, template, task_type: str, batch_size: int = 16):
        self.model = model.eval()
        self.model.requires_grad_(False)
        self.tokenizer = tokenizer
        self.template = template
        self.task_type = task_type
        self.batch_size = batch_size
        self.yes_no = yes_no_ids(tokenizer) if task_type == 'generative_reranker' else None
        config = getattr(model, 'config', None)
        self.problem_type = getattr(config, 'problem_type', None)
        self.num_labels = getattr(config, 'num_labels', None)

    @classmethod
    def load(cls, model: Optional[str], adapters: Sequence[str] = (), template: Optional[str] = None,
             system: Optional[str] = None, model_kwargs: Optional[Dict[str, Any]] = None,
             args: Any = None) -> 'TaskModel':
        """The model of a task checkpoint; base model, task, labels and template come from its args.json."""
        adapters = adapter_paths(adapters)
        saved = read_run_args(adapters[0] if adapters else model)
        task_type = saved.get('task_type') or 'causal_lm'
        if task_type not in SERVED_TASKS:
            raise SwiftError(f'{adapters[0] if adapters else model} is a {task_type} model, not a task model')
        base = model or saved.get('model')
        if task_type in CLASSIFIER_TASKS:
            hf_model, tokenizer = load_seq_cls_model(base, model_kwargs, num_labels=saved.get('num_labels') or 1)
            if saved.get('problem_type'):
                hf_model.config.problem_type = saved['problem_type']
        else:
            hf_model, tokenizer = get_model_tokenizer(base, **(model_kwargs or {}))
        if adapters:
            hf_model = load_adapters(hf_model, adapters)
        chat_template = trained_template(tokenizer, saved, template, system)
        configure_template(chat_template, args if args is not None else _Saved(saved))
        logger.info(f'{task_type} model: {base}' + (f' + {", ".join(adapters)}' if adapters else ''))
        return cls(hf_model, tokenizer, chat_template, task_type)

    def encode(self, messages: Messages) -> List[int]:
        return task_input_ids(self.template, messages, self.task_type)

    @torch.no_grad()
    def forward_ids(self, sequences: Sequence[List[int]]) -> torch.Tensor:
        """The task's outputs for encoded inputs, batch_size at a time (embeddings, logits or scores)."""
        outputs = []
        device = next(self.model.parameters()).device
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        for start in range(0, len(sequences), self.batch_size):
            batch = [list(ids) for ids in sequences[start:start + self.batch_size]]
            width = max(len(ids) for ids in batch)
            input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch], device=device)
            mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch], device=device)
            outputs.append(task_scores(self.model, self.task_type, input_ids, mask, self.yes_no).cpu())
        return torch.cat(outputs)

    def score_ids(self, sequences: Sequence[List[int]]) -> List[float]:
        """One number per encoded conversation (RewardEngine's scorer interface): the class index for seq_cls,
        the relevance score for a reranker."""
        outputs = self.forward_ids(sequences)
        if self.task_type == 'seq_cls' and self.problem_type != 'regression':
            return [float(i) for i in outputs.argmax(dim=-1).tolist()]
        return outputs.view(len(sequences), -1)[:, 0].tolist()

    def embed(self, items: Sequence[Union[str, Messages]]) -> List[List[float]]:
        self._require('embedding')
        return self.forward_ids([self.encode(as_messages(item)) for item in items]).tolist()

    def classify(self, items: Sequence[Union[str, Messages]]) -> List[List[float]]:
        """Per item: class probabilities (softmax; sigmoid per class for multi-label; the value for regression)."""
        self._require('seq_cls')
        logits = self.forward_ids([self.encode(as_messages(item)) for item in items])
        if self.problem_type == 'regression':
            return logits.tolist()
        if self.problem_type == 'multi_label_classification':
            return torch.sigmoid(logits).tolist()
        return torch.softmax(logits, dim=-1).tolist()

    def rerank(self, query: Union[str, Messages], documents: Sequence[Union[str, Messages]]) -> List[float]:
        """One relevance score per document, in (0, 1): the sigmoid of the model's score."""
        self._require('reranker', 'generative_reranker')
        scores = self.forward_ids([self.encode(rerank_messages(query, d)) for d in documents])
        return torch.sigmoid(scores).tolist()

    def _require(self, *tasks: str) -> None:
        if self.task_type not in tasks:
            raise SwiftError(f'this is a {self.task_type} model; that needs a {" or ".join(tasks)} model')


class _Saved:
    """A run's saved arguments, read as attributes (configure_template reads --agent_template and the like)."""

    def __init__(self, saved: Dict[str, Any]):
        self.__dict__.update(saved)


# ---------------------------------------------------------------- as an engine: swift infer / swift deploy


def task_engine(args):
    """The engine `swift infer` / `swift deploy` serve a task checkpoint with (None for a causal LM)."""
    if checkpoint_task_type(args.model, args.adapters) == 'causal_lm':
        return None
    from .engine import ChoiceUpdate
    from .reward_engine import RewardEngine, format_score

    class TaskEngine(RewardEngine):
        """A chat request's answer is the model's output: seq_cls the predicted class index, a reranker the
        relevance score of the conversation; an embedding model answers /v1/embeddings only."""

        def _encode(self, request):
            if self.scorer.task_type == 'embedding':
                from .protocol import InferError
                raise InferError('this is an embedding model: POST /v1/embeddings (chat completions need a causal '
                                 'LM)')
            return self.scorer.encode(request.messages) if request.messages else super()._encode(request)

        async def _generate(self, prepared):
            score = await self._score(prepared.prompt_ids)
            classifier = self.scorer.task_type == 'seq_cls' and self.scorer.problem_type != 'regression'
            text = str(int(score)) if classifier else format_score(score)  # a class index, or the score
            yield [ChoiceUpdate(i, text, finish_reason='stop') for i in range(prepared.config.n)]

    scorer = TaskModel.load(args.model, args.adapters, template=args.template, system=args.system,
                            model_kwargs=args.load_kwargs(), args=args)
    scorer.batch_size = args.max_batch_size
    engine = TaskEngine(scorer, max_batch_size=args.max_batch_size)
    engine.task_model = scorer
    return engine
