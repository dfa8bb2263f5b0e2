"""DPO on rows with images (tiny SmolVLM, and qwen2-vl-tiny: M-RoPE positions from image_grid_thw and
mm_token_type_ids for the chosen and the rejected rows): `swift rlhf --rlhf_type dpo` trains a few steps, and on one
image batch swift's DPO loss (policy and reference both seeing the pixels) equals TRL's DPOTrainer._compute_loss run on
the same real model and batch."""
import copy

import pytest
import torch

from swift.utils import SwiftError

from tests.helpers.rlhf_models import load_policy_for, perturbed_policy_and_reference
from tests.helpers.shapes import COLOURS, make_rows, write_jsonl

from .test_losses_vs_trl import stand_in

trl = pytest.importorskip('trl')


def _pairs(folder, count=8):
    rows = make_rows(folder, count, seed=5, kinds=('colour', ))
    colours = sorted(COLOURS)
    for row in rows:  # the rejected answer: the next colour
        answer = row['messages'][-1]['content']
        row['rejected_response'] = colours[(colours.index(answer) + 1) % len(colours)]
        row['images'] = [str(folder / name) for name in row['images']]
    return rows


@pytest.fixture(params=['smolvlm', 'qwen2_vl'])
def vlm_dir(request):
    if request.param == 'smolvlm':
        return request.getfixturevalue('tiny_vlm_dir')
    from swift.model.tiny_qwen_vl import ensure_qwen2_vl_tiny
    return ensure_qwen2_vl_tiny()


def test_dpo_trains_a_few_steps_on_image_rows(tmp_path):
    """The whole `swift rlhf` run on qwen2-vl-tiny (M-RoPE: the hardest collation; SmolVLM's pairs are checked
    against TRL below, and a run on it costs four times as long)."""
    from swift.model.tiny_qwen_vl import ensure_qwen2_vl_tiny
    from swift.training.rlhf.workflow import rlhf_main
    data = write_jsonl(tmp_path / 'pairs.jsonl', _pairs(tmp_path, 4))
    result = rlhf_main(rlhf_type='dpo', model=str(ensure_qwen2_vl_tiny()), dataset=[str(data)], max_steps=2,
                       per_device_train_batch_size=2, learning_rate=1e-3, output_dir=str(tmp_path / 'run'),
                       save_steps=10000, logging_steps=1, report_to=[], seed=0)
    steps = [entry for entry in result.log_history if 'loss' in entry]
    assert len(steps) == 2 and all(torch.isfinite(torch.tensor(s['loss'])) for s in steps)
    assert 'rewards/margins' in steps[0]


def test_dpo_loss_on_images_equals_trl(vlm_dir, tmp_path):
    from trl.trainer.dpo_trainer import DPOTrainer
    from trl.trainer.utils import add_fused_lm_head

    from swift.arguments import RLHFArguments
    from swift.training.rlhf.data import collator_for
    from swift.training.rlhf.preference import PreferenceTrainer
    from swift.training.rlhf.workflow import encode_items
    from swift.utils.args import parse_args
    args, run, model, tokenizer, template = load_policy_for('dpo', vlm_dir, tmp_path, beta=0.1)
    items = encode_items(args, template, _pairs(tmp_path, 3))
    assert 'pixel_values' in items[0]['chosen_media']
    short = parse_args(RLHFArguments, dict(rlhf_type='dpo', model=str(vlm_dir), dataset=['unused'],
                                           max_length=8, truncation_strategy='right', report_to=['none']))
    with pytest.raises(SwiftError, match='would cut media tokens'):  # a pair is never truncated into its image
        encode_items(short, template, _pairs(tmp_path, 1))
    model, reference = perturbed_policy_and_reference(model, args)  # policy != reference: the pixels matter
    collator = collator_for('dpo', tokenizer.pad_token_id, template)
    batch = collator(items)
    # [chosen; rejected] images, as the token rows (Qwen: pixel_values are patches, one grid per image)
    assert batch.get('image_grid_thw', batch['pixel_values']).shape[0] == 2 * len(items)
    trainer = PreferenceTrainer(model=model, args=run.training_arguments(has_eval=False), train_dataset=items,
                                data_collator=collator, processing_class=tokenizer, rlhf_args=args,
                                ref_model=reference)
    model.train()
    ours = trainer.compute_loss(model, dict(batch))

    trl_policy, trl_reference = copy.deepcopy(model), copy.deepcopy(reference)
    add_fused_lm_head(trl_policy, outputs=('log_probs', 'entropy', 'mean_logits', 'is_top1'))
    add_fused_lm_head(trl_reference)
    trl_inputs = {k: v for k, v in batch.items() if k != 'labels'}
    trl_inputs['completion_mask'] = (batch['labels'] != -100).long()
    self = stand_in(ld_alpha=None, precompute_ref_logps=False, f_divergence_type='reverse_kl',
                    loss_types=['sigmoid'], loss_weights=[1.0], beta=0.1, label_smoothing=0.0, use_weighting=False,
                    ref_model=trl_reference, model=trl_policy,
                    args=type('A', (), {'gradient_checkpointing_kwargs': None, 'discopop_tau': 0.05})())
    theirs = DPOTrainer._compute_loss(self, trl_policy, trl_inputs, return_outputs=False)
    torch.testing.assert_close(ours.detach(), theirs.detach(), atol=1e-5, rtol=0)
    assert abs(float(ours) - 0.6931) > 1e-3  # not the log 2 of a policy equal to its reference

    # the pixels reach the models: other images (the batch's, shifted by one pair) give another loss
    shift = batch['pixel_values'].shape[0] // (2 * len(items))  # one image (the rows' images are the same size)
    other = dict(batch, pixel_values=batch['pixel_values'].roll(shift, dims=0))
    assert abs(float(trainer.compute_loss(model, other)) - float(ours)) > 1e-6


def test_image_rows_are_refused_where_the_trainer_ignores_them():
    from swift.training.rlhf.data import RowEncoder
    row = {'messages': [{'role': 'user', 'content': '<image>colour?'}, {'role': 'assistant', 'content': 'red'}],
           'images': ['a.png'], 'label': True}
    for rlhf_type in ('rm', 'ppo', 'gkd'):
        with pytest.raises(ValueError, match=f'images are not supported by --rlhf_type {rlhf_type} yet'):
            RowEncoder(None, rlhf_type).encode(row)
    with pytest.raises(ValueError, match='rejected_images'):
        RowEncoder(None, 'dpo').encode({**row, 'rejected_images': ['b.png']})


@pytest.mark.parametrize('media', ['images', 'videos', 'audios'])
def test_reward_engine_refuses_media_saying_why(media):
    from swift.infer import InferError, InferRequest
    from swift.infer.reward_engine import RewardEngine
    request = InferRequest(messages=[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'yo'}],
                           **{media: ['x']})
    with pytest.raises(InferError, match=f'a reward model scores text conversations: this request has {media}'):
        RewardEngine._encode(None, request)  # refused before the engine's tokenizer is touched
