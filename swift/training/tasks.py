"""`swift sft --task_type seq_cls | embedding | reranker | generative_reranker`: the same run as a causal LM's
(runner.TrainingRun), with the task's model, rows, batches and loss.

Rows, in ms-swift's formats:

    seq_cls              {"messages": [{"role": "user", "content": "text"}], "label": 1}
                         (label: a class index; a number for regression; a list of 0/1 for multi-label)
    embedding            {"messages": [anchor], "positive_messages": [[positive]], "negative_messages": [[...], ...]}
                         (+ "label": a similarity for cosine_similarity, 0/1 for (online_)contrastive)
    reranker,            {"messages": [query], "positive_messages": [[doc], ...], "negative_messages": [[doc], ...]}
    generative_reranker

A reranker row becomes groups of one positive and up to MAX_NEGATIVE_SAMPLES (default 7) negatives, up to
MAX_POSITIVE_SAMPLES (default 1) groups per row; each group trains in one batch.

The model reads inputs and scores as swift.infer.tasks says (so serving reads them the same way); the losses
are losses.py's.
"""
import os
import random
from typing import Any, Dict, List, Optional, Sequence

import torch

from swift.dataset import encode_rows
from swift.infer.reward_model import load_seq_cls_model
from swift.infer.tasks import CLASSIFIER_TASKS, rerank_messages, task_input_ids, task_scores, yes_no_ids
from swift.tuners import prepare_tuner
from swift.utils import SwiftError, get_logger

from . import task_losses
from .rlhf.reward_model import prepare_reward_model
from .trainer import SwiftTrainer

logger = get_logger()
NEGATIVE_PREFIX = 'negative{}_'


# ---------------------------------------------------------------- rows → samples


def _message_lists(row: Dict[str, Any], key: str) -> List[List[Dict[str, Any]]]:
    value = row.get(key) or []
    if not isinstance(value, list) or not all(isinstance(m, list) and m for m in value):
        raise ValueError(f'"{key}" must be a list of message lists, e.g. [[{{"role": "user", "content": "..."}}]]')
    return value


class TaskEncoder:
    """encode(row) → the sample of one row (what encode_rows calls a template's encode)."""

    def __init__(self, args, template):
        self.args = args
        self.task_type = args.task_type
        self.template = template
        self.max_positives = int(os.environ.get('MAX_POSITIVE_SAMPLES', 1))
        self.max_negatives = int(os.environ.get('MAX_NEGATIVE_SAMPLES', 7))
        self.random = random.Random(args.seed)

    def ids(self, messages) -> List[int]:
        return task_input_ids(self.template, list(messages), self.task_type)

    def encode(self, row: Dict[str, Any]) -> Dict[str, Any]:
        if self.task_type == 'seq_cls':
            return self._seq_cls(row)
        if self.task_type == 'embedding':
            return self._embedding(row)
        return self._reranker(row)

    def _seq_cls(self, row):
        if 'label' not in row:
            raise ValueError('a seq_cls row needs a "label" (a class index, a number for regression, or a list '
                             'of 0/1 for multi-label)')
        label = row['label']
        label = int(label) if isinstance(label, bool) else label
        num_labels = self.args.num_labels
        if isinstance(label, int) and self.args.problem_type != 'regression' and not 0 <= label < num_labels:
            raise ValueError(f'label {label} is not a class index in [0, {num_labels}) (--num_labels {num_labels})')
        if isinstance(label, list) and len(label) != num_labels:
            raise ValueError(f'a multi-label "label" needs {num_labels} values (--num_labels), got {len(label)}')
        return {'input_ids': self.ids(row['messages']), 'task_label': label}

    def _embedding(self, row):
        positives = _message_lists(row, 'positive_messages')
        if len(positives) != 1:
            raise ValueError(f'an embedding row needs exactly one "positive_messages" entry, got {len(positives)}')
        sample = {'input_ids': self.ids(row['messages']), 'positive_input_ids': self.ids(positives[0])}
        for i, negative in enumerate(_message_lists(row, 'negative_messages')):
            sample[NEGATIVE_PREFIX.format(i) + 'input_ids'] = self.ids(negative)
        if self.args.loss_type != 'infonce':
            if 'label' not in row:
                raise ValueError(f'--loss_type {self.args.loss_type} needs a "label" per row '
                                 '(a similarity, or 1/0 for similar/dissimilar)')
            sample['task_label'] = float(row['label'])
        return sample

    def _reranker(self, row):
        positives = _message_lists(row, 'positive_messages')
        negatives = _message_lists(row, 'negative_messages')
        if not positives:
            raise ValueError('a reranker row needs "positive_messages" (and "negative_messages")')
        if len(positives) > self.max_positives:
            positives = self.random.sample(positives, self.max_positives)
        if len(negatives) > self.max_negatives:
            negatives = self.random.sample(negatives, self.max_negatives)
        sample = {}
        for g, positive in enumerate(positives):  # group g: its positive first, then the negatives
            for d, document in enumerate([positive] + negatives):
                sample[f'group{g}_doc{d}_input_ids'] = self.ids(rerank_messages(row['messages'], document))
        return sample


# ---------------------------------------------------------------- samples → batches


def _padded(sequences: List[List[int]], pad: int):
    width = max(len(s) for s in sequences)
    ids = torch.tensor([s + [pad] * (width - len(s)) for s in sequences], dtype=torch.long)
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in sequences], dtype=torch.long)
    return ids, mask


class TaskCollator:
    """One batch: every sequence of every sample in one right-padded tensor, and where each one belongs.

    seq_cls: input_ids + labels. embedding: anchors, then positives, then all negatives (`negatives_per_row`
    says how many each row has). reranker: the documents of every group (`group_sizes`)."""

    def __init__(self, task_type: str, pad_token_id: int, problem_type: Optional[str] = None):
        self.task_type = task_type
        self.pad = pad_token_id if pad_token_id is not None else 0
        self.problem_type = problem_type

    def __call__(self, features: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
        if self.task_type == 'seq_cls':
            ids, mask = _padded([f['input_ids'] for f in features], self.pad)
            labels = [f['task_label'] for f in features]
            dtype = torch.long if self.problem_type == 'single_label_classification' else torch.float32
            return {'input_ids': ids, 'attention_mask': mask, 'task_labels': torch.tensor(labels, dtype=dtype)}
        if self.task_type == 'embedding':
            negatives = [sorted(k for k in f if k.startswith('negative')) for f in features]
            sequences = ([f['input_ids'] for f in features] + [f['positive_input_ids'] for f in features]
                         + [f[k] for f, keys in zip(features, negatives) for k in keys])
            ids, mask = _padded(sequences, self.pad)
            batch = {'input_ids': ids, 'attention_mask': mask,
                     'negatives_per_row': torch.tensor([len(k) for k in negatives], dtype=torch.long)}
            if 'task_label' in features[0]:
                batch['task_labels'] = torch.tensor([f['task_label'] for f in features], dtype=torch.float32)
            return batch
        sequences, sizes = [], []
        for f in features:
            groups = sorted({k.split('_doc')[0] for k in f if k.startswith('group')}, key=lambda g: int(g[5:]))
            for group in groups:
                docs = sorted((k for k in f if k.startswith(group + '_doc')),
                              key=lambda k: int(k[len(group) + 4:].split('_')[0]))
                sequences += [f[k] for k in docs]
                sizes.append(len(docs))
        ids, mask = _padded(sequences, self.pad)
        return {'input_ids': ids, 'attention_mask': mask, 'group_sizes': torch.tensor(sizes, dtype=torch.long)}


# ---------------------------------------------------------------- the trainer


class TaskTrainer(SwiftTrainer):
    """The task's loss on the task's outputs; logs `acc` where the task has one (classification, ranking)."""

    def __init__(self, *args, task_args=None, yes_no=None, **kwargs):
        super().__init__(*args, chunked_loss=False, **kwargs)
        self.task_args = task_args
        self.yes_no = yes_no
        self._hits, self._seen = 0, 0

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        task = self.task_args.task_type
        outputs = task_scores(model, task, inputs['input_ids'], inputs['attention_mask'], self.yes_no)
        if task == 'seq_cls':
            loss, hits = task_losses.seq_cls_loss(outputs, inputs['task_labels'], self.task_args.problem_type)
        elif task == 'embedding':
            loss, hits = task_losses.embedding_loss(self.task_args.loss_type, outputs, inputs['negatives_per_row'],
                                                    inputs.get('task_labels'))
        else:
            loss, hits = task_losses.reranker_loss(self.task_args.loss_type, outputs, inputs['group_sizes'])
        if hits is not None and model.training:
            self._hits += int(hits.sum())
            self._seen += hits.numel()
        return (loss, {'scores': outputs}) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs: Dict[str, float], start_time: Optional[float] = None) -> None:
        if 'loss' in logs and self._seen:
            logs['acc'] = round(self._hits / self._seen, 6)
            self._hits, self._seen = 0, 0
        super().log(logs, start_time)


# ---------------------------------------------------------------- the run


def load_task_model(args, run, model=None, tokenizer=None):
    """A sequence classifier (num_labels outputs) for seq_cls / reranker; the causal LM otherwise."""
    if model is not None or args.task_type not in CLASSIFIER_TASKS:
        return run.load_model(model, tokenizer)
    model, tokenizer = load_seq_cls_model(args.model, args.load_kwargs(), num_labels=args.num_labels)
    if args.problem_type is None:
        args.problem_type = 'regression' if args.num_labels == 1 else 'single_label_classification'
    model.config.problem_type = args.problem_type
    return model, tokenizer


def train_task(args, run, model=None, tokenizer=None, rows=None, callbacks: Sequence = ()):
    """The run of a non-causal_lm --task_type (sft_main hands over after TrainingRun.start)."""
    if args.packing or args.padding_free:
        raise SwiftError(f'--packing / --padding_free are for causal_lm training, not --task_type {args.task_type}')
    model, tokenizer = load_task_model(args, run, model, tokenizer)
    template = run.template(model, tokenizer)
    loaded = run.load_rows(rows, require_response=False)
    encoder = TaskEncoder(args, template)
    train, _ = encode_rows(loaded.train, encoder, max_length=args.max_length,
                           truncation_strategy=args.truncation_strategy, strict=args.strict)
    val = encode_rows(loaded.val, encoder, max_length=args.max_length, truncation_strategy=args.truncation_strategy,
                      strict=args.strict)[0] if loaded.val else []
    if not train:
        raise SwiftError('no training samples left after validation and truncation: see the data report above')
    logger.info(f'--task_type {args.task_type}: {len(train)} training rows, {len(val)} validation rows'
                + (f', loss {args.loss_type}' if args.loss_type else ''))
    model = prepare_reward_model(model, args) if args.task_type in CLASSIFIER_TASKS else prepare_tuner(model, args)
    yes_no = yes_no_ids(tokenizer) if args.task_type == 'generative_reranker' else None
    collator = TaskCollator(args.task_type, tokenizer.pad_token_id, args.problem_type)
    return run.train(TaskTrainer, model=model, tokenizer=tokenizer, template=template, train=train, val=val,
                     collator=collator, callbacks=callbacks, task_args=args, yes_no=yes_no)
