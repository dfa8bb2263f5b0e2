"""Grounding through swift sft (issue 12): a SmolVLM-architecture model learns to box a coloured square, IoU >= 0.5
with the true box on >= 80% of held-out images; untrained it scores 0, and the best fixed box about 1/9.

Model: the tests' tiny SmolVLM (Idefics3: SigLIP-style vision tower with learned absolute patch positions, pixel
shuffle, the random 2-layer Llama of width 64 with the SmolLM2 tokenizer of tests/conftest.py tiny_model_dir), built
here with a 48-pixel input: 6 x 6 patches of 8 pixels, pixel-shuffled to 9 image tokens. Not `smolvlm-tiny`: there
a step of 4 rows costs 2.1 s of CPU, and LoRA runs of 120-240 steps stayed at IoU >= 0.5 on 20% at most
(scripts/smolvlm_tiny_proof.py; docs/multimodal.md "smolvlm-tiny proof").

Data (tests/helpers/grounding_shapes.py): one square of four colours in one of 3 x 3 cells of a white 120-pixel
image, jittered by up to 3 pixels, so held-out pictures are new pictures. Rows go through the Python API's grounding
task (MultiModalTrainer(task='grounding'): "Find the <colour> square in the image." -> the box in SmolVLM's
convention, ms-swift's base template one: `[(x1,y1),(x2,y2)]` on the 0..1000 grid), and the reply is scored by
parsing it back in that convention (mm_tasks.score).

Recipe (docs/multimodal.md "Grounding proof"): many small steps, not big batches: 1,200 steps of 4 rows, lr 3e-3
(vision tower and aligner 1e-2), cosine decay. With 900 steps: held-out IoU >= 0.5 for four seeds of the tiny
model's random weights 100%, 100%, 100%, 90% on the earlier AVX-512 host (tests/conftest.py builds seed 1234), but
75% for seed 1234 on the AVX2-only host of 2026-12-03 evening (other float rounding, the same recipe); 1,200 and
1,500 steps pass there (the suite's first failure of this test). With a constant lr the score swung
between 72.5% and 100% from one checkpoint to the next (seed 1234: 100% at 450, 72.5% at 600, 82.5% at 1,200).
100 steps of 16 rows stay at one box for every image.
"""
import pytest

from swift.training.mm_tasks import MultiModalDatasetBuilder, evaluate_checkpoint, score

from tests.helpers.grounding_shapes import SIZE, cell_boxes, make_grounding_rows

MAX_TOKENS = 20  # ' [(150,150),(450,450)]' and the end of utterance are 18 tokens


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp('grounding')
    return folder, make_grounding_rows(folder, 160, seed=11), make_grounding_rows(folder, 40, seed=12)


@pytest.fixture(scope='module')
def vlm(tiny_vlm48_dir):
    return str(tiny_vlm48_dir)


@pytest.fixture(scope='module')
def trained(vlm, data, tmp_path_factory):
    from swift.api import MultiModalTrainer
    folder, train, _ = data
    trainer = MultiModalTrainer(vlm, train, task='grounding', data_args={'image_folder': str(folder)},
                                tuner_type='full', freeze_vit=False, freeze_aligner=False, learning_rate=3e-3,
                                vit_lr=1e-2, aligner_lr=1e-2, lr_scheduler_type='cosine', warmup_ratio=0.0,
                                per_device_train_batch_size=4, max_steps=1200, gradient_checkpointing=False,
                                save_steps=10000, logging_steps=50, report_to=[], seed=42,
                                output_dir=str(tmp_path_factory.mktemp('grounding-run')))
    return trainer.train().last_checkpoint


def test_no_fixed_box_scores_more_than_chance(data):
    """The held-out boxes spread over the cells: the best single box (a cell's) scores about 1/9."""
    from swift.template import get_template
    from swift.template.grounding import PLAIN
    folder, _, held_out = data
    rows = [MultiModalDatasetBuilder('grounding', str(folder)).row(dict(r)) for r in held_out]
    for row in rows:
        row['images'] = [str(folder / row['images'][0])]
    template = get_template('smolvlm')
    best = max(score('grounding', [PLAIN.box_text([round(v / SIZE * 1000) for v in box])] * len(rows), rows,
                     template)['iou@0.5'] for box in cell_boxes())
    assert 0 < best <= 0.25


def test_untrained_model_is_far_below(vlm, data):
    folder, _, held_out = data
    assert evaluate_checkpoint(vlm, 'grounding', held_out, image_folder=str(folder),
                               max_tokens=MAX_TOKENS)['iou@0.5'] <= 0.1


def test_sft_boxes_the_square_on_held_out_images(trained, data):
    folder, _, held_out = data
    result = evaluate_checkpoint(trained, 'grounding', held_out, image_folder=str(folder), max_tokens=MAX_TOKENS)
    assert result['iou@0.5'] >= 0.8, result['answers']
