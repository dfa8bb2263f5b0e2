"""Trainer callbacks: logging.jsonl, loss/lr/eval curves, and a progress display that suits the terminal.

Each log step appends one JSON line: step, epoch, loss, token accuracy, grad norm, learning rate,
peak memory, trained tokens per second and ETA.
"""
import json
import sys
import time
from pathlib import Path
from typing import Dict, List

from transformers import TrainerCallback

from swift.utils import get_logger

from .distributed import note_step

logger = get_logger()


def peak_memory_gib() -> float:
    """Peak memory of this process: accelerator memory when there is one, resident memory on CPU."""
    import torch
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    try:
        import resource
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        return kib / 2**20
    except ImportError:  # Windows
        return 0.0


def read_log(path: Path) -> List[Dict]:
    if not path.is_file():
        return []
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


class JsonlLoggerCallback(TrainerCallback):
    """Append every log step to <output_dir>/logging.jsonl (kept across resumes, cut back to the checkpoint)."""

    def __init__(self, output_dir: str, resume_step: int = 0):
        self.path = Path(output_dir) / 'logging.jsonl'
        self.start_time = None
        self.start_step = resume_step
        self.tokens = 0
        if resume_step and self.path.is_file():
            # A killed run may have logged steps after its last checkpoint: those steps are run again.
            kept = [r for r in read_log(self.path) if r.get('global_step', 0) <= resume_step]
            self.path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in kept), encoding='utf-8')

    def on_train_begin(self, args, state, control, **kwargs):
        self.start_time = time.time()
        self.start_step = state.global_step

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        record = {'global_step': state.global_step, 'max_steps': state.max_steps, **logs}
        elapsed = time.time() - (self.start_time or time.time())
        done = state.global_step - self.start_step
        if done > 0 and 'loss' in logs:
            remaining = (state.max_steps - state.global_step) * elapsed / done
            record.update(memory_gib=round(peak_memory_gib(), 3), elapsed_s=round(elapsed, 1),
                          eta_s=round(remaining, 1))
        with open(self.path, 'a', encoding='utf-8') as f:
            f.write(json.dumps(record, ensure_ascii=False) + '\n')


class MaxEpochsCallback(TrainerCallback):
    """--max_epochs (ms-swift's): stop at the end of that many passes over the data, whatever --max_steps says (a
    streamed dataset has no length, so the passes are counted as they end; a resumed run counts its earlier ones).
    The run's final checkpoint is saved as after any stop."""

    def __init__(self, max_epochs: int):
        self.max_epochs = max_epochs
        self.ended = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.ended = int(state.epoch or 0)

    def on_epoch_end(self, args, state, control, **kwargs):
        self.ended += 1
        if self.ended >= self.max_epochs:
            logger.info(f'--max_epochs {self.max_epochs}: stopping at step {state.global_step}')
            control.should_training_stop = True


class RankStatusCallback(TrainerCallback):
    """logs/rank<k>.json: the step each process is at (several processes only), so that when one dies the
    launcher can say which, and where."""

    def __init__(self, output_dir: str):
        self.output_dir = output_dir

    def on_step_begin(self, args, state, control, **kwargs):
        note_step(self.output_dir, state.global_step + 1)

    def on_train_end(self, args, state, control, **kwargs):
        note_step(self.output_dir, state.global_step, 'finished')


class ProgressCallback(TrainerCallback):
    """A progress bar on a terminal; one plain line per log step otherwise (CI logs, pipes)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.bar = None

    def on_train_begin(self, args, state, control, **kwargs):
        if self.stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc='train', dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        shown = {k: logs[k] for k in ('loss', 'token_acc', 'seq_acc', 'eval_loss', 'learning_rate', 'train_tokens_per_second')
                 if k in logs}
        text = ', '.join(f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}' for k, v in shown.items())
        if self.bar is not None:
            self.bar.set_postfix_str(text)
        elif text:
            print(f'[step {state.global_step}/{state.max_steps}] {text}', file=self.stream, flush=True)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def plot_logs(output_dir: str) -> List[str]:
    """Draw loss, learning-rate, accuracy and eval curves from logging.jsonl into images/*.png.

    Figures are drawn with matplotlib's object API on the Agg canvas, not through pyplot (whose import and
    figure manager cost ~0.3 s), with fixed margins instead of bbox_inches='tight' (which renders every figure
    twice), one figure reused for every curve: the run ends ~1.5 s sooner (docs/benchmarks.md, issue 18)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    records = read_log(Path(output_dir) / 'logging.jsonl')
    keys = sorted({k for r in records for k, v in r.items() if isinstance(v, (int, float)) and k not in (
        'global_step', 'max_steps', 'epoch', 'elapsed_s', 'eta_s')})
    images = Path(output_dir) / 'images'
    images.mkdir(parents=True, exist_ok=True)
    written = []
    # one figure, cleared for each curve: building a figure and its axes costs more than drawing a curve
    fig = Figure(figsize=(6, 4), dpi=80)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.12, top=0.92)  # room for the tick labels and title
    ax = fig.add_subplot()
    for key in keys:
        points = [(r['global_step'], r[key]) for r in records if isinstance(r.get(key), (int, float))]
        if not points:
            continue
        ax.clear()
        ax.plot(*zip(*points), marker='o' if len(points) < 30 else None)
        ax.set_xlabel('step')
        ax.set_title(key)
        ax.grid(alpha=0.3)
        path = images / f'{key.replace("/", "_")}.png'
        fig.savefig(path)
        written.append(str(path))
    return written
