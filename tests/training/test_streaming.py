"""--streaming: samples encoded as training consumes them; --max_steps decides the length."""
import json
from pathlib import Path

import pytest

from swift.arguments import SftArguments
from swift.training.sft import sft_main
from swift.training.streaming import StreamingSamples
from swift.utils import SwiftError
from swift.utils.args import parse_args
from tests.training.test_sft import ROWS, common_args


def test_streaming_trains_max_steps_over_the_rows_again(tiny_model_dir, tmp_path):
    data = tmp_path / 'train.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in ROWS[:3]))
    result = sft_main(common_args(tiny_model_dir, data, tmp_path / 'out', streaming=True, max_steps=3,
                                  per_device_train_batch_size=2, save_steps=10, report_to=['none']))
    records = [json.loads(line) for line in (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()]
    steps = [r for r in records if 'loss' in r]
    assert [r['global_step'] for r in steps] == [1, 2, 3]  # 3 rows, batches of 2: a second pass began
    assert Path(result.last_checkpoint).name == 'checkpoint-3'


def test_each_dataloader_worker_encodes_its_own_share(monkeypatch):
    import torch
    seen = []
    stream = StreamingSamples(list(range(5)), lambda rows, locations: (seen.append(rows[0]) or [{'i': rows[0]}],
                                                                       type('R', (), {'encoded': 1, 'failed': 0,
                                                                                      'too_long': 0})()))
    worker = type('W', (), {'id': 1, 'num_workers': 2})()
    monkeypatch.setattr(torch.utils.data, 'get_worker_info', lambda: worker)
    assert [s['i'] for s in stream] == [1, 3]


def test_streaming_needs_max_steps_and_no_packing():
    base = ['--model', 'm', '--dataset', 'd', '--streaming', 'true']
    with pytest.raises(SwiftError, match='pass --max_steps'):
        parse_args(SftArguments, base)
    with pytest.raises(SwiftError, match='does not combine with --packing'):
        parse_args(SftArguments, base + ['--max_steps', '5', '--packing', 'true'])
