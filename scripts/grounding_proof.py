"""Issue 12's grounding proof, run by hand: swift sft teaches a SmolVLM-architecture model to box a coloured square.

    python scripts/grounding_proof.py [--model tiny|smolvlm-tiny] [--train 160] [--held_out 40] [--max_steps 600]
        [--batch_size 4] [--learning_rate 3e-3] [--vit_lr 1e-2] [--aligner_lr 1e-2] [--image_size 48]
        [--scale_factor 2] [--eval_every 120] [--jitter 3] [--out /tmp/swift-grounding-proof]

Rows come from tests/helpers/grounding_shapes.py (one square of four colours in one of 3 x 3 cells of a white
120-pixel image, `--jitter` pixels off the cell) through the multimodal Python API's grounding task
(MultiModalTrainer(task='grounding'): "Find the <colour> square in the image." → the box in SmolVLM's convention,
ms-swift's base template one: `[(x1,y1),(x2,y2)]` on a 0-1000 grid). Held-out images are scored by IoU >= 0.5 of
the parsed reply with the true box (mm_tasks.score), before training, every `--eval_every` steps (a checkpoint is
saved there) and after; the target is >= 80 % after.
`--model tiny` (default) is the tests' tiny SmolVLM (random 2-layer Llama of width 64 with the SmolLM2 tokenizer, a
random 2-layer vision tower of width 64, 8-pixel patches; `--image_size` / `--scale_factor` set the number of image
tokens: (image_size / 8 / scale_factor)²); `smolvlm-tiny` is the registry model (SmolLM2-135M + random tower;
2.1 s of CPU a step of 4 rows; scripts/smolvlm_tiny_proof.py trains it with LoRA on grounding, VQA and digits
together). The defaults are the recipe of tests/training/test_grounding_sft.py.
Writes result.json (with the process's CPU seconds: the suite's cost is CPU time on 2 threads);
docs/multimodal.md ("Grounding proof") records the results.
"""
import argparse
import glob
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from swift.api import MultiModalTrainer  # noqa: E402
from swift.training.mm_tasks import evaluate_checkpoint  # noqa: E402
from tests.helpers.grounding_shapes import SIZE, make_grounding_rows  # noqa: E402


def tiny_vlm(out: Path, image_size: int, scale_factor: int) -> str:
    """The tests' tiny SmolVLM: a random 2-layer Llama (hidden 64) with the SmolLM2 tokenizer, then Idefics3 on it."""
    from swift.model.embedded import ensure_embedded_model
    from swift.model.tiny_vlm import build_idefics3, build_tiny_llama
    llm = build_tiny_llama(ensure_embedded_model(), out / 'tiny-llm')
    return str(build_idefics3(llm, out / f'tiny-vlm-{image_size}-{scale_factor}', image_size=image_size, patch_size=8,
                              scale_factor=scale_factor, vision_hidden=64))


def checkpoints(last: str):
    """The run's checkpoints before the last one, in step order."""
    found = glob.glob(str(Path(last).parent / 'checkpoint-*'))
    return [c for c in sorted(found, key=lambda c: int(c.rsplit('-', 1)[1])) if c != last]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', default='tiny')
    parser.add_argument('--train', type=int, default=160)
    parser.add_argument('--held_out', type=int, default=40)
    parser.add_argument('--max_steps', type=int, default=900)
    parser.add_argument('--batch_size', type=int, default=4)
    parser.add_argument('--learning_rate', type=float, default=3e-3)
    parser.add_argument('--vit_lr', type=float, default=1e-2)
    parser.add_argument('--aligner_lr', type=float, default=1e-2)
    parser.add_argument('--lr_scheduler_type', default='cosine')
    parser.add_argument('--jitter', type=int, default=3)
    parser.add_argument('--image_size', type=int, default=48, help='input side of the tiny model (8-pixel patches)')
    parser.add_argument('--scale_factor', type=int, default=2, help='pixel shuffle of the tiny model')
    parser.add_argument('--eval_every', type=int, default=120, help='save a checkpoint and score it every N steps')
    parser.add_argument('--out', default='/tmp/swift-grounding-proof')
    args = parser.parse_args()
    out = Path(args.out)
    folder = out / 'images'
    train = make_grounding_rows(folder, args.train, seed=11, jitter=args.jitter)
    held_out = make_grounding_rows(folder, args.held_out, seed=12, jitter=args.jitter)
    seen = {(r['ref'], tuple(r['bbox'])) for r in train}
    repeats = sum((r['ref'], tuple(r['bbox'])) in seen for r in held_out)  # same picture as a training row
    print(f'{repeats} of {len(held_out)} held-out pictures also occur in training', flush=True)
    model = tiny_vlm(out, args.image_size, args.scale_factor) if args.model == 'tiny' else args.model
    before = evaluate_checkpoint(model, 'grounding', held_out, image_folder=str(folder), max_tokens=20)
    print(f'before: IoU>=0.5 on {before["iou@0.5"]:.0%}; answers {before["answers"][:3]}', flush=True)
    start, cpu = time.time(), time.process_time()
    trainer = MultiModalTrainer(model, train, task='grounding', data_args={'image_folder': str(folder)},
                                tuner_type='full', freeze_vit=False, freeze_aligner=False,
                                learning_rate=args.learning_rate, vit_lr=args.vit_lr, aligner_lr=args.aligner_lr,
                                lr_scheduler_type=args.lr_scheduler_type, warmup_ratio=0.0,
                                per_device_train_batch_size=args.batch_size, max_steps=args.max_steps,
                                gradient_checkpointing=False, output_dir=str(out / 'run'),
                                save_steps=args.eval_every, logging_steps=10, report_to=[], seed=42)
    result = trainer.train()
    seconds, cpu_seconds = time.time() - start, time.process_time() - cpu
    curve = {}
    for checkpoint in checkpoints(result.last_checkpoint):
        step = int(checkpoint.rsplit('-', 1)[1])
        curve[step] = evaluate_checkpoint(checkpoint, 'grounding', held_out, image_folder=str(folder),
                                          max_tokens=20)['iou@0.5']
        print(f'step {step}: IoU>=0.5 on {curve[step]:.0%}', flush=True)
    after = trainer.evaluate(held_out, max_tokens=20)
    for row, answer in list(zip(held_out, after['answers']))[:8]:
        print(f'  {folder / row["image"]}  {row["ref"]}: {answer!r} (true box {row["bbox"]} px of {SIZE})')
    print(f'after: IoU>=0.5 on {after["iou@0.5"]:.0%} of {len(held_out)} held-out images '
          f'({seconds:.0f} s of training, {cpu_seconds:.0f} s of CPU)')
    summary = {**vars(args), 'held_out_repeats': repeats, 'iou@0.5_before': before['iou@0.5'],
               'iou@0.5_by_step': curve, 'iou@0.5_after': after['iou@0.5'], 'train_seconds': round(seconds),
               'train_cpu_seconds': round(cpu_seconds), 'checkpoint': result.last_checkpoint}
    (out / 'result.json').write_text(json.dumps(summary, indent=2) + '\n')
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
