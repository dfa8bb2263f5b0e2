"""Run one benchmark task on a model: ask the questions not yet answered, log every sample, aggregate.

Scoring modes:
- loglikelihood: multiple choice, each choice scored as a continuation (acc, acc_norm);
- generated_letter: multiple choice asked as a lettered question, the letter in the reply scored
  (acc only; used when the model is a server without prompt log-probabilities);
- generation: the benchmark's own answer extraction (GSM8K's final number).
"""
import math
import time
from dataclasses import dataclass
from typing import Any, Dict, List

from swift.utils import get_logger

from .metrics import extract_letter, mean, multiple_choice_scores
from .prompts import chat_messages, continuation, lettered, text_context
from .registry import GENERATION, Doc
from .samples import SampleLog
from .tasks import SubsetTask, Task

logger = get_logger()

LETTER_MAX_NEW_TOKENS = 32


def scoring_mode(task: Task, lm) -> str:
    if task.benchmark.kind == GENERATION:
        return 'generation'
    return 'loglikelihood' if lm.supports_loglikelihood else 'generated_letter'


def metric_names(benchmark, mode: str) -> List[str]:
    if mode == 'generated_letter':
        return ['acc']
    return list(benchmark.metrics)


@dataclass
class _Question:
    doc: Doc
    prompt: Any  # str, or chat messages
    requests: List  # (context, continuation) pairs, for log-likelihood scoring


class TaskRunner:

    def __init__(self, task: Task, lm, log: SampleLog, chunk_size: int = 32):
        self.task = task
        self.lm = lm
        self.log = log
        self.mode = scoring_mode(task, lm)
        self.chunk_size = max(1, chunk_size)
        self.chat = bool(getattr(lm, 'chat', False))

    def run(self, progress: bool = True) -> Dict[str, Any]:
        pending = [(s, d) for s in self.task.subsets for d in s.docs if not self.log.done(d.id)]
        started = time.time()
        bar = _progress_bar(len(pending), self.task.benchmark.name, progress)
        try:
            for subset in self.task.subsets:
                docs = [d for d in subset.docs if not self.log.done(d.id)]
                for i in range(0, len(docs), self.chunk_size):
                    chunk = docs[i:i + self.chunk_size]
                    self.log.add(self._score(subset, chunk))
                    bar.update(len(chunk))
        finally:
            bar.close()
        elapsed = time.time() - started
        return self._summary(len(pending), elapsed)

    # ---- asking ----
    def _question(self, subset: SubsetTask, doc: Doc) -> _Question:
        shots = subset.shots
        if self.mode == 'generated_letter':
            doc, shots = lettered(doc), [lettered(s) for s in shots]
        if doc.images:  # a model sees images only through its chat template: always chat, images alongside
            prompt = {'messages': chat_messages(subset.description, shots, doc),
                      'images': [image for shot in shots for image in shot.images] + list(doc.images)}
        elif self.chat:
            prompt = chat_messages(subset.description, shots, doc)
        else:
            prompt = text_context(subset.description, shots, doc)
        requests = []
        if self.mode == 'loglikelihood':
            context = self.lm.render_chat(prompt) if self.chat else prompt
            requests = [(context, continuation(choice, self.chat)) for choice in doc.choices]
            prompt = context
        return _Question(doc, prompt, requests)

    def _score(self, subset: SubsetTask, docs: List[Doc]) -> List[Dict[str, Any]]:
        questions = [self._question(subset, doc) for doc in docs]
        if self.mode == 'loglikelihood':
            return self._score_loglikelihood(questions)
        if self.mode == 'generated_letter':
            until = () if self.chat else ('\n\n', )
            outputs = self.lm.generate([q.prompt for q in questions], until, LETTER_MAX_NEW_TOKENS)
            return [self._letter_record(q, out) for q, out in zip(questions, outputs)]
        benchmark = self.task.benchmark
        outputs = self.lm.generate([q.prompt for q in questions], benchmark.until, self.task.settings.max_new_tokens)
        return [self._generation_record(q, out) for q, out in zip(questions, outputs)]

    def _score_loglikelihood(self, questions: List[_Question]) -> List[Dict[str, Any]]:
        flat = [r for q in questions for r in q.requests]
        logliks = self.lm.loglikelihood(flat)
        records, at = [], 0
        for q in questions:
            values = logliks[at:at + len(q.requests)]
            at += len(q.requests)
            scores, picks = multiple_choice_scores(values, q.doc.choices, q.doc.gold)
            records.append(self._record(q, scores, prediction=q.doc.choices[picks['pred']], gold=q.doc.gold,
                                        gold_text=q.doc.choices[q.doc.gold], choices=[c for _, c in q.requests],
                                        logliks=values, pred_index=picks['pred'], pred_norm_index=picks['pred_norm']))
        return records

    def _letter_record(self, q: _Question, output: str) -> Dict[str, Any]:
        pred = extract_letter(output, len(q.doc.choices))
        scores = {'acc': float(pred == q.doc.gold)}
        return self._record(q, scores, output=output, prediction=None if pred is None else q.doc.choices[pred],
                            gold=q.doc.choices[q.doc.gold])

    def _generation_record(self, q: _Question, output: str) -> Dict[str, Any]:
        scores, extracted = self.task.benchmark.score_generation(output, q.doc)
        prediction = extracted.get('strict') if isinstance(extracted, dict) else extracted
        return self._record(q, scores, output=output, prediction=prediction, extracted=extracted, gold=q.doc.gold)

    def _record(self, q: _Question, scores: Dict[str, float], **fields) -> Dict[str, Any]:
        primary = metric_names(self.task.benchmark, self.mode)[0]
        return {'id': q.doc.id, 'subset': q.doc.subset, 'prompt': q.prompt, **fields,
                'correct': bool(scores[primary]), 'scores': scores}

    # ---- aggregating ----
    def _summary(self, newly_scored: int, elapsed: float) -> Dict[str, Any]:
        task, names = self.task, metric_names(self.task.benchmark, self.mode)
        subsets, categories, everything = {}, {}, []
        for subset in task.subsets:
            records = [self.log.records[d.id] for d in subset.docs if d.id in self.log.records]
            everything += records
            subsets[subset.subset] = _means(records, names, task.benchmark)
            category = task.benchmark.category(subset.subset)
            if category:
                categories.setdefault(category, []).extend(records)
        summary = {
            'scoring': self.mode,
            'metrics': _means(everything, names, task.benchmark),
            'subsets': subsets,
            'few_shot_num': task.settings.few_shot_num,
            'limit': task.settings.limit,
            'data_source': task.source,
            'data_sha256': task.data_sha256,
            'newly_scored': newly_scored,
            'elapsed_s': round(elapsed, 3),
            'questions_per_s': round(newly_scored / elapsed, 4) if newly_scored and elapsed > 0 else None,
        }
        if categories:
            summary['categories'] = {name: _means(records, names) for name, records in sorted(categories.items())}
        if self.log.path is not None:
            summary['samples_file'] = str(self.log.path)
        return summary


def _means(records: List[Dict[str, Any]], names: List[str], benchmark=None) -> Dict[str, Any]:
    out: Dict[str, Any] = {'n': len(records)}
    for name in names:
        value = mean([r['scores'][name] for r in records])
        out[name] = None if math.isnan(value) else round(value, 6)
    corpus = benchmark.corpus_metrics(records) if benchmark is not None else None
    for name, value in (corpus or {}).items():  # corpus-level values replace the per-question means
        out[name] = round(value, 6)
    return out


class _NoBar:

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, name: str, enabled: bool):
    if not enabled or total == 0:
        return _NoBar()
    from tqdm import tqdm
    return tqdm(total=total, desc=name, unit='q', dynamic_ncols=True)


def run_task(task: Task, lm, log: SampleLog, chunk_size: int = 32, progress: bool = True) -> Dict[str, Any]:
    return TaskRunner(task, lm, log, chunk_size).run(progress)
