"""What the image, video and audio SFT proofs share: greedy requests for held-out rows, their accuracy, a full
fine-tune of a tiny multimodal model, and `swift infer --val_dataset` answers in row order."""
import json
from pathlib import Path
from typing import List

from swift.infer.protocol import InferRequest, RequestConfig

GREEDY = RequestConfig(max_tokens=4, temperature=0)


def media_requests(rows, folder: Path, key: str) -> List[InferRequest]:
    """One request per row: its question and its one media item (`key`: images | videos | audios)."""
    return [InferRequest(messages=[r['messages'][0]], **{key: [str(folder / r[key][0])]}) for r in rows]


def answer_accuracy(engine, rows, folder: Path, key: str):
    """(share of rows answered exactly, the answers), greedy."""
    answers = [o.choices[0].message.content.strip() for o in engine.infer(media_requests(rows, folder, key), GREEDY)]
    return sum(a == r['messages'][1]['content'] for a, r in zip(answers, rows)) / len(rows), answers


def full_fine_tune(model: str, train: Path, output_dir: Path, learning_rate: float, epochs: int, batch_size: int = 16,
                   **extra) -> str:
    """The proofs' training run (every part trained, batch 16 by default; `extra`: more sft arguments); returns the
    last checkpoint."""
    from swift.training.sft import sft_main
    result = sft_main(model=model, dataset=[str(train)], tuner_type='full', freeze_vit=False, freeze_aligner=False,
                      learning_rate=learning_rate, per_device_train_batch_size=batch_size, num_train_epochs=epochs,
                      output_dir=str(output_dir), save_steps=10000, logging_steps=20, report_to=[], seed=42, **extra)
    return result.last_checkpoint


def infer_val_records(checkpoint: str, val: Path, result_path: Path) -> List[dict]:
    """`swift infer --val_dataset` greedy answers, as its result file's records in row order."""
    from swift.infer.main import infer_main
    infer_main(['--model', checkpoint, '--val_dataset', str(val), '--result_path', str(result_path),
                '--max_new_tokens', '4', '--temperature', '0'])
    return sorted((json.loads(line) for line in result_path.read_text().splitlines()), key=lambda r: r['index'])
