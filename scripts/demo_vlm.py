"""Train smolvlm-tiny (SmolVLM architecture on the embedded SmolLM2-135M) on synthetic shapes; show before/after.

    python scripts/demo_vlm.py [--train 600] [--held_out 60] [--epochs 3] [--out /tmp/swift-demo-vlm]

Images are drawn with PIL (one coloured shape on white; tests/helpers/shapes.py), the questions ask the shape's
colour or kind. LoRA on the language model, the vision tower (random at the start: it must learn to see) and the
aligner trained: --freeze_vit false --freeze_aligner false. Prints held-out answers before and after with each
image's path, and the accuracy. This is the full-size version of tests/training/test_vlm_sft.py; on a busy
2-core CPU it takes a long time (one optimizer step of batch 8 is 4 s of CPU). Not run in `make test`.
Not run to completion either: with LoRA alone the replies never end (`<end_of_utterance>` is a token added to
SmolLM2's vocabulary and the output head is not trained), see docs/multimodal.md "smolvlm-tiny proof" and
scripts/smolvlm_tiny_proof.py --modules_to_save lm_head.
"""
import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from swift.infer.protocol import InferRequest, RequestConfig  # noqa: E402
from swift.infer.transformers_engine import TransformersEngine  # noqa: E402
from swift.training.sft import sft_main  # noqa: E402
from tests.helpers.shapes import make_rows, write_jsonl  # noqa: E402

GREEDY = RequestConfig(max_tokens=6, temperature=0)


def answer_all(engine, rows, folder: Path):
    requests = [InferRequest(messages=[r['messages'][0]], images=[str(folder / r['images'][0])]) for r in rows]
    return [o.choices[0].message.content.strip() for o in engine.infer(requests, GREEDY)]


def report(title: str, rows, answers, folder: Path, show: int = 8) -> float:
    right = [a == r['messages'][1]['content'] for a, r in zip(answers, rows)]
    print(f'\n{title}: {sum(right)}/{len(rows)} correct ({sum(right) / len(rows):.0%})')
    for row, answer, ok in list(zip(rows, answers, right))[:show]:
        print(f'  {folder / row["images"][0]}  {row["messages"][0]["content"]!r} -> {answer!r} '
              f'({"ok" if ok else "expected " + row["messages"][1]["content"]})')
    return sum(right) / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--train', type=int, default=600)
    parser.add_argument('--held_out', type=int, default=60)
    parser.add_argument('--epochs', type=float, default=3)
    parser.add_argument('--out', default='/tmp/swift-demo-vlm')
    args = parser.parse_args()
    folder = Path(args.out) / 'images'
    train = write_jsonl(Path(args.out) / 'train.jsonl', make_rows(folder, args.train, seed=1))
    held_out = make_rows(folder, args.held_out, seed=2)
    with TransformersEngine('smolvlm-tiny') as engine:
        report('before training', held_out, answer_all(engine, held_out, folder), folder)
    result = sft_main(model='smolvlm-tiny', dataset=[str(train)], freeze_vit=False, freeze_aligner=False,
                      learning_rate=1e-3, lora_rank=16, per_device_train_batch_size=8,
                      num_train_epochs=args.epochs, output_dir=str(Path(args.out) / 'run'), save_steps=100000,
                      report_to=[])
    with TransformersEngine('smolvlm-tiny', adapters=[result.last_checkpoint]) as engine:
        report('after training', held_out, answer_all(engine, held_out, folder), folder)
    print(f'\ncheckpoint: {result.last_checkpoint}')


if __name__ == '__main__':
    main()
