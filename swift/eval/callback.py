"""Benchmark scores during training: `swift sft ... --eval_benchmarks gsm8k --eval_benchmark_limit 50`.

    trainer.add_callback(BenchmarkEvalCallback(['gsm8k'], limit=50, template=template))

At every evaluation the callback scores the model being trained on each benchmark and adds
`eval_<benchmark>_<metric>` (e.g. eval_gsm8k_exact_match) to the evaluation's log entry, so the
scores land beside eval_loss in the trainer's log history, logging.jsonl and the plots. It acts on
the evaluation's on_log event (where eval_loss is logged); register it before the callbacks that
write logs. Only the main process scores (the others would repeat the same work).

Without a validation set there is no evaluation to ride along (the transformers Trainer refuses an
eval strategy without an eval dataset): `eval_steps=N` makes the callback keep the schedule itself.
After every N-th optimizer step it scores, asks the trainer to log at that step, and adds the
scores to that log entry, beside the training loss.
"""
from typing import Any, Dict, Optional, Sequence

from transformers import TrainerCallback

from swift.utils import SwiftError, get_logger

from .evaluator import run_evaluation
from .local_lm import LocalLM
from .registry import get_benchmarks

logger = get_logger()


class BenchmarkEvalCallback(TrainerCallback):

    def __init__(self, benchmarks: Sequence[str], limit: Optional[int] = None, template=None, *,
                 dataset_dir: Optional[str] = None, dataset_args: Optional[Dict[str, Any]] = None,
                 batch_size: int = 8, chat: bool = False, eval_steps: Optional[int] = None):
        self.benchmarks = [b.name for b in get_benchmarks(list(benchmarks))]  # unknown names fail at start
        self.limit = limit
        self.template = template
        self.dataset_dir = dataset_dir
        self.dataset_args = dataset_args
        self.batch_size = batch_size
        self.chat = chat
        if eval_steps is not None and eval_steps < 1:
            raise SwiftError(f'benchmark evaluation every {eval_steps} steps: eval_steps must be >= 1')
        self.eval_steps = eval_steps  # None: score at the trainer's evaluations
        self.history = []  # (global_step, {name: value}) per evaluation
        self._pending: Optional[Dict[str, float]] = None  # eval_steps mode: scored, waiting for the step's log

    def scores(self, model, tokenizer) -> Dict[str, float]:
        """eval_<benchmark>_<metric> for the model as it is now (eval mode while scoring)."""
        was_training = model.training
        model.eval()
        try:
            lm = LocalLM(model, tokenizer, template=self.template, chat=self.chat, batch_size=self.batch_size)
            result = run_evaluation(lm, self.benchmarks, limit=self.limit, dataset_args=self.dataset_args,
                                    dataset_dir=self.dataset_dir, output_dir=None, progress=False)
        finally:
            model.train(was_training)
        out = {}
        for name, bench in result['results'].items():
            for metric, value in bench['metrics'].items():
                if metric != 'n' and value is not None:
                    out[f'eval_{name}_{metric}'] = value
        return out

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if self.eval_steps is None or state.global_step % self.eval_steps != 0:
            return
        # Every process asks for the log (logging gathers the loss across processes); the main one scores.
        control.should_log = True
        if state.is_world_process_zero:
            self._pending = self._scores_or_none(model, processing_class, kwargs)

    def on_log(self, args, state, control, logs=None, model=None, processing_class=None, **kwargs):
        if logs is None or not state.is_world_process_zero:
            return
        if self.eval_steps is not None:
            if self._pending is None or 'loss' not in logs:
                return
            scores, self._pending = self._pending, None
            self._add(state, logs, scores, key='loss')
            return
        if 'eval_loss' not in logs:
            return
        scores = self._scores_or_none(model, processing_class, kwargs)
        if scores is not None:
            self._add(state, logs, scores, key='eval_loss')

    def _scores_or_none(self, model, processing_class, kwargs) -> Optional[Dict[str, float]]:
        tokenizer = processing_class if processing_class is not None else kwargs.get('tokenizer')
        # a multimodal run's processing_class is the whole processor: score with its tokenizer (the template,
        # which carries the processor, handles the images)
        from transformers import ProcessorMixin
        if isinstance(tokenizer, ProcessorMixin):
            tokenizer = tokenizer.tokenizer
        if model is None or tokenizer is None:
            logger.warning('benchmark evaluation skipped: the trainer passed no model or tokenizer')
            return None
        return self.scores(model, tokenizer)

    def _add(self, state, logs: Dict[str, Any], scores: Dict[str, float], key: str) -> None:
        logs.update(scores)  # the same dict later callbacks (log files, plots) receive
        if state.log_history and state.log_history[-1].get(key) == logs[key]:
            state.log_history[-1].update(scores)  # the trainer stored a copy before calling on_log
        self.history.append((state.global_step, scores))
        logger.info('benchmarks at step %d: %s', state.global_step,
                    ', '.join(f'{k}={v:.4f}' for k, v in scores.items()))
