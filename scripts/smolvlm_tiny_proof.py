"""Issue 12's learning proofs on `smolvlm-tiny` (SmolLM2-135M + a random SigLIP-style tower), run by hand.

    python scripts/smolvlm_tiny_proof.py [--tasks vqa,ocr,grounding] [--max_steps 300] [--batch_size 4]
        [--learning_rate 1e-3] [--vit_lr 3e-3] [--aligner_lr 3e-3] [--lora_rank 8] [--modules_to_save lm_head]
        [--trainable_tokens '<end_of_utterance>'] [--full_vit]
        [--eval_every 100] [--threads 1] [--time_steps 0] [--no_before] [--out /tmp/swift-smolvlm-tiny-proof]

One `swift sft` run (sft_main: LoRA on the language model and the vision tower, the aligner trained in full:
--freeze_vit false --freeze_aligner false, or with `--full_vit` the whole tower instead of LoRA on it; the reply's
end needs its added token trained: `--trainable_tokens '<end_of_utterance>'` (that row of the tied embeddings) or
`--modules_to_save lm_head` (the whole head): docs/multimodal.md) on a mix of the chosen tasks' rows, scored per
task on held-out images before training, every `--eval_every` steps and after:
    vqa        "What colour is the shape?" / "What shape is it?" (tests/helpers/shapes.py), accuracy per question
    ocr        "Read the text in the image." -> one rendered digit (tests/helpers/digits.py), exact match
    grounding  "Find the <colour> square in the image." -> its box (tests/helpers/grounding_shapes.py), IoU >= 0.5
`--time_steps N` only measures: N optimizer steps, the seconds of each (wall and CPU), no evaluation.
Writes result.json; docs/multimodal.md ("smolvlm-tiny proof") records the results.
"""
import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers.smolvlm_tiny_tasks import TASK_ROWS, evaluate_tasks, headline, training_rows  # noqa: E402


def scores(model: str, data, folder: Path, adapter: str = None):
    """{score name: value} of the model (with the adapter checkpoint) on every task's held-out rows, and the CPU
    seconds of this scoring (model load included) under 'eval_cpu_seconds'."""
    from swift.infer.transformers_engine import TransformersEngine
    cpu = time.process_time()
    with TransformersEngine(model, adapters=[adapter] if adapter else []) as engine:
        result = headline(evaluate_tasks(engine, data, folder))
    return {**result, 'eval_cpu_seconds': round(time.process_time() - cpu, 1)}


def token_ids(model: str, tokens: str):
    """The ids of comma-separated tokens in the model's tokenizer (an unknown token is an error, not <unk>)."""
    if not tokens:
        return []
    from transformers import AutoTokenizer
    from swift.model.hub import get_model_dir
    tokenizer = AutoTokenizer.from_pretrained(str(get_model_dir(model)))
    vocab = tokenizer.get_vocab()
    missing = [t for t in tokens.split(',') if t not in vocab]
    if missing:
        raise SystemExit(f'--trainable_tokens: not tokens of {model}: {missing}')
    return [vocab[t] for t in tokens.split(',')]


def step_timer():
    """A callback that records (wall, CPU) seconds at the end of each optimizer step."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.marks = []

        def on_step_end(self, args, state, control, **kwargs):
            self.marks.append((time.time(), time.process_time()))
    return StepTimer()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', default='smolvlm-tiny')
    parser.add_argument('--tasks', default='vqa,ocr,grounding')
    parser.add_argument('--train', type=int, default=0, help='training rows per task (0: each task\'s default)')
    parser.add_argument('--max_steps', type=int, default=300)
    parser.add_argument('--batch_size', type=int, default=4)
    parser.add_argument('--learning_rate', type=float, default=1e-3)
    parser.add_argument('--vit_lr', type=float, default=3e-3)
    parser.add_argument('--aligner_lr', type=float, default=3e-3)
    parser.add_argument('--lora_rank', type=int, default=8)
    parser.add_argument('--lora_alpha', type=int, default=32)
    parser.add_argument('--tuner_type', default='lora')
    parser.add_argument('--modules_to_save', default='', help='comma-separated modules trained in full beside LoRA')
    parser.add_argument('--trainable_tokens', default='',
                        help='comma-separated tokens whose embedding rows (tied: the output head\'s too) train beside '
                             'LoRA (--trainable_token_indices), e.g. <end_of_utterance>')
    parser.add_argument('--full_vit', action='store_true',
                        help='train the vision tower in full (it is tiny: 0.4M parameters) instead of LoRA on it')
    parser.add_argument('--adapters', default='', help='continue training this checkpoint (its schedule starts again)')
    parser.add_argument('--lr_scheduler_type', default='cosine')
    parser.add_argument('--warmup_ratio', type=float, default=0.0)
    parser.add_argument('--eval_every', type=int, default=100)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--time_steps', type=int, default=0, help='only time this many steps')
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--no_before', action='store_true', help='skip scoring the untrained model')
    parser.add_argument('--out', default='/tmp/swift-smolvlm-tiny-proof')
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    from swift.training.sft import sft_main
    out = Path(args.out)
    tasks = args.tasks.split(',')
    folder = out / 'images'
    data = {task: TASK_ROWS[task](folder, args.train or None) for task in tasks}
    train_file = out / 'train.jsonl'
    train_file.write_text(''.join(json.dumps(r) + '\n' for r in training_rows(data, folder)))
    summary = {**vars(args), 'by_step': {}}
    if not args.time_steps and not args.no_before:
        summary['by_step'][0] = scores(args.model, data, folder)
        print(f'step 0: {summary["by_step"][0]}', flush=True)
    timer = step_timer()
    start, cpu = time.time(), time.process_time()
    modules_to_save = [m for m in args.modules_to_save.split(',') if m]
    if args.full_vit:  # no adapter on the tower (--freeze_vit true), the whole tower trained beside it at --vit_lr
        modules_to_save.append('model.vision_model')
    result = sft_main(model=args.model, dataset=[str(train_file)], tuner_type=args.tuner_type,
                      adapters=[args.adapters] if args.adapters else [],
                      trainable_token_indices=token_ids(args.model, args.trainable_tokens),
                      freeze_vit=args.full_vit, freeze_aligner=False, learning_rate=args.learning_rate,
                      vit_lr=args.vit_lr,
                      aligner_lr=args.aligner_lr, lora_rank=args.lora_rank,
                      modules_to_save=modules_to_save, lora_alpha=args.lora_alpha,
                      lr_scheduler_type=args.lr_scheduler_type, warmup_ratio=args.warmup_ratio,
                      per_device_train_batch_size=args.batch_size, max_steps=args.time_steps or args.max_steps,
                      gradient_checkpointing=False, output_dir=str(out / 'run'),
                      save_steps=args.eval_every if not args.time_steps else 100000, logging_steps=10,
                      report_to=[], seed=args.seed, callbacks=[timer])
    summary['train_seconds'], summary['train_cpu_seconds'] = time.time() - start, time.process_time() - cpu
    marks = [(start, cpu)] + timer.marks
    steps = [(round(b[0] - a[0], 2), round(b[1] - a[1], 2)) for a, b in zip(marks, marks[1:])]
    summary['step_seconds_wall_cpu'] = steps
    later = steps[1:] or steps
    summary['mean_step_wall'] = sum(s[0] for s in later) / len(later)
    summary['mean_step_cpu'] = sum(s[1] for s in later) / len(later)
    print(f'steps (wall s, cpu s): {steps}; mean after the first: {summary["mean_step_wall"]:.2f} s wall, '
          f'{summary["mean_step_cpu"]:.2f} s CPU', flush=True)
    if not args.time_steps:
        run = Path(result.last_checkpoint).parent
        for checkpoint in sorted(run.glob('checkpoint-*'), key=lambda c: int(c.name.rsplit('-', 1)[1])):
            step = int(checkpoint.name.rsplit('-', 1)[1])
            summary['by_step'][step] = scores(args.model, data, folder, str(checkpoint))
            print(f'step {step}: {summary["by_step"][step]}', flush=True)
    summary['checkpoint'] = result.last_checkpoint
    (out / 'result.json').write_text(json.dumps(summary, indent=1) + '\n')


if __name__ == '__main__':
    main()
