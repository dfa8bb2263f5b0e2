"""Benchmark scores during training: `swift sft ... --eval_benchmarks gsm8k --eval_benchmark_limit 50`.

    trainer.add_callback(BenchmarkEvalCallback(['gsm8k'], limit=50, template=template))

At every evaluation the callback scores the model being trained on each benchmark and adds
`eval_<benchmark>_<metric>` (e.g. eval_gsm8k_exact_match) to the evaluation's log entry, so the
scores land beside eval_loss in the trainer's log history, logging.jsonl and the plots. It acts on
the evaluation's on_log event (where eval_loss is logged); register it before the callbacks that
write logs. Only the main process scores (the others would repeat the same work).
"""
from typing import Any, Dict, Optional, Sequence

from transformers import TrainerCallback

from swift.utils import get_logger

logger = get_logger()


class BenchmarkEvalCallback(TrainerCallback):

    def __init__(self, benchmarks: Sequence[str], limit: Optional[int] = None, template=None, *,
                 dataset_dir: Optional[str] = None, dataset_args: Optional[Dict[str, Any]] = None,
                 batch_size: int = 8, chat: bool = False):
        from .registry import get_benchmarks
        self.benchmarks = [b.name for b in get_benchmarks(list(benchmarks))]  # unknown names fail at start
        self.limit = limit
        self.template = template
        self.dataset_dir = dataset_dir
        self.dataset_args = dataset_args
        self.batch_size = batch_size
        self.chat = chat
        self.history = []  # (global_step, {name: value}) per evaluation

    def scores(self, model, tokenizer) -> Dict[str, float]:
        """eval_<benchmark>_<metric> for the model as it is now (eval mode while scoring)."""
        from .evaluator import run_evaluation
        from .local_lm import LocalLM
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

    def on_log(self, args, state, control, logs=None, model=None, processing_class=None, **kwargs):
        if logs is None or 'eval_loss' not in logs or not state.is_world_process_zero:
            return
        tokenizer = processing_class if processing_class is not None else kwargs.get('tokenizer')
        if model is None or tokenizer is None:
            logger.warning('benchmark evaluation skipped: the trainer passed no model or tokenizer')
            return
        scores = self.scores(model, tokenizer)
        logs.update(scores)  # the same dict later callbacks (log files, plots) receive
        if state.log_history and state.log_history[-1].get('eval_loss') == logs['eval_loss']:
            state.log_history[-1].update(scores)  # the trainer stored a copy before calling on_log
        self.history.append((state.global_step, scores))
        logger.info('benchmarks at step %d: %s', state.global_step,
                    ', '.join(f'{k}={v:.4f}' for k, v in scores.items()))
