"""--lazy_tokenize: image rows are encoded when training reads them. The lazy dataset holds no pixel tensors (the
eager samples hold every image), gives the same samples, still finds bad rows before training with file:line,
and trains the same first step."""
import types

import pytest
import torch

from swift.dataset import LazySamples, encode_rows
from swift.model.loader import load_tokenizer
from swift.template import get_template
from swift.utils import SwiftError

from tests.helpers.shapes import make_rows, write_jsonl


@pytest.fixture(scope='module')
def template(tiny_vlm_dir):
    tokenizer = load_tokenizer(str(tiny_vlm_dir))
    return get_template(tokenizer.model_info.template, tokenizer=tokenizer)


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    folder = tmp_path_factory.mktemp('lazy-shapes')
    rows = make_rows(folder, 8, seed=5, kinds=('colour', ))
    return folder, rows, write_jsonl(folder / 'train.jsonl', rows)


def tensor_bytes(obj, seen=None) -> int:
    """Bytes of every torch tensor reachable from obj through containers and attributes."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(v, seen) for v in obj)
    if hasattr(obj, '__dict__') and not isinstance(obj, type):
        return sum(tensor_bytes(v, seen) for k, v in vars(obj).items() if k != 'template')
    return 0


def test_lazy_samples_hold_no_pixels_and_equal_the_eager_samples(template, shapes):
    folder, rows, _ = shapes
    rows = [dict(r, images=[str(folder / r['images'][0])]) for r in rows]
    eager, _ = encode_rows(rows, template, max_length=512)
    lazy = LazySamples.validate(rows, template, max_length=512)
    per_row = eager[0]['pixel_values'].numel() * 4
    assert tensor_bytes(eager) >= len(rows) * per_row > 0  # every image of the dataset, as float32
    assert tensor_bytes(lazy) == 0  # rows (paths), items and lengths only
    assert len(lazy) == len(eager) and lazy.lengths == [len(s['input_ids']) for s in eager]
    for index in (0, 5):
        sample = lazy[index]
        assert sample['input_ids'] == eager[index]['input_ids'] and sample['labels'] == eager[index]['labels']
        assert torch.equal(sample['pixel_values'], eager[index]['pixel_values'])


def test_bad_rows_are_found_before_training_with_file_and_line(template, shapes):
    folder, rows, _ = shapes
    rows = [dict(r, images=[str(folder / r['images'][0])]) for r in rows]
    rows[2] = dict(rows[2], messages=[{'role': 'user', 'content': '<image><image>two tags, one image'},
                                      rows[2]['messages'][1]])
    located = _Located(rows, [f'train.jsonl:{i + 1}' for i in range(len(rows))])  # as loaded datasets carry
    lazy = LazySamples.validate(located, template, max_length=512)
    assert len(lazy) == 7 and all(row != 2 for row, _ in lazy.items)  # the bad row is left out, not retried
    with pytest.raises(SwiftError, match=r'train\.jsonl:3.*more <image> tags than the row has images'):
        LazySamples.validate(located, template, max_length=512, strict=True)
    with pytest.raises(SwiftError, match=r'train\.jsonl:1: \d+ tokens, more than max_length 8'):
        LazySamples.validate(located, template, max_length=8, truncation_strategy='error')


class _Located(list):
    """Rows with their file:line locations, as swift.dataset's Rows are."""

    def __init__(self, rows, locations):
        super().__init__(rows)
        self.locations = locations


def test_default_is_on_for_multimodal_templates_only(template, tiny_model_dir):
    from swift.training.sft import lazy_tokenize
    text = get_template('chatml', tokenizer=load_tokenizer(str(tiny_model_dir)))
    args = types.SimpleNamespace(lazy_tokenize=None, packing=False, streaming=False, load_from_cache_file=False)
    assert lazy_tokenize(args, template) and not lazy_tokenize(args, text)
    assert not lazy_tokenize(types.SimpleNamespace(**{**vars(args), 'packing': True}), template)
    assert lazy_tokenize(types.SimpleNamespace(**{**vars(args), 'lazy_tokenize': True}), text)
    from swift.arguments import SftArguments
    with pytest.raises(SwiftError, match='--lazy_tokenize.*--packing'):
        SftArguments(model='m', dataset=['d'], lazy_tokenize=True, packing=True)


def test_lazy_and_eager_train_the_same_first_step(tiny_vlm_dir, shapes, tmp_path):
    """Same rows, same seed: the first step's loss is the same whether rows were encoded up front or as the
    DataLoader (one worker process here) reads them."""
    from swift.training.sft import sft_main
    _, _, train = shapes
    losses = []
    for lazy in (False, True):
        result = sft_main(model=str(tiny_vlm_dir), dataset=[str(train)], tuner_type='full', max_steps=1,
                          per_device_train_batch_size=4, logging_steps=1, save_steps=10000, report_to=[], seed=7,
                          lazy_tokenize=lazy, dataloader_num_workers=int(lazy), output_dir=str(tmp_path / str(lazy)))
        losses.append([e['loss'] for e in result.log_history if 'loss' in e][0])
    assert losses[1] == pytest.approx(losses[0], abs=1e-6)
