"""KTO and GRPO on rows with images (tiny SmolVLM).

KTO: `swift rlhf --rlhf_type kto` trains on image rows; each row's mismatched KL sequence keeps the row's own
images (its prompt holds their tokens), and the pixels reach the loss.
GRPO: completions are sampled by the PyTorch engine with the prompt's images, and the trainer's forward on
[prompt + completion] sees the same images: its log-probabilities of the sampled tokens equal the engine's.
"""
import types

import pytest
import torch

from swift.utils import SwiftError

from tests.helpers.rlhf_models import load_policy_for, perturbed_policy_and_reference
from tests.helpers.shapes import COLOURS, make_rows, write_jsonl


def _rows(folder, count, **extra):
    rows = make_rows(folder, count, seed=9, kinds=('colour', ))
    for row in rows:
        row['images'] = [str(folder / name) for name in row['images']]
        row.update(extra)
    return rows


def _kto_rows(folder, count=4):
    colours = sorted(COLOURS)
    rows = _rows(folder, count)
    for row in rows:  # a pair: the rejected answer is the next colour (split into a desirable and an undesirable row)
        answer = row['messages'][-1]['content']
        row['rejected_response'] = colours[(colours.index(answer) + 1) % len(colours)]
    return rows


def test_kto_trains_on_image_rows_and_the_pixels_reach_the_loss(tiny_vlm_dir, tmp_path):
    from swift.training.rlhf.workflow import rlhf_main
    data = write_jsonl(tmp_path / 'kto.jsonl', _kto_rows(tmp_path, 2))
    result = rlhf_main(rlhf_type='kto', model=str(tiny_vlm_dir), dataset=[str(data)], max_steps=1,
                       per_device_train_batch_size=2, learning_rate=1e-3, output_dir=str(tmp_path / 'run'),
                       save_steps=10000, logging_steps=1, report_to=[], seed=0)
    steps = [entry for entry in result.log_history if 'loss' in entry]
    assert len(steps) == 1 and all(torch.isfinite(torch.tensor(s['loss'])) for s in steps)


def test_kto_batch_carries_each_rows_images_into_its_kl_sequence(tiny_vlm_dir, tmp_path):
    from swift.training.rlhf.data import add_kl_pairs, collator_for
    from swift.training.rlhf.kto import KTOTrainer
    from swift.training.rlhf.workflow import encode_items
    args, run, model, tokenizer, template = load_policy_for('kto', tiny_vlm_dir, tmp_path, beta=0.1)
    items = encode_items(args, template, _kto_rows(tmp_path, 2))
    add_kl_pairs(items)
    batch = collator_for('kto', tokenizer.pad_token_id, template)(items)
    assert torch.equal(batch['kl_pixel_values'], batch['pixel_values'])  # a KL sequence is its row's prompt
    model, reference = perturbed_policy_and_reference(model, args)  # policy != reference: the pixels matter
    trainer = KTOTrainer(model=model, args=run.training_arguments(has_eval=False), train_dataset=items,
                         data_collator=collator_for('kto', tokenizer.pad_token_id, template),
                         processing_class=tokenizer, rlhf_args=args, ref_model=reference)
    model.train()
    loss = float(trainer.compute_loss(model, dict(batch)))
    assert torch.isfinite(torch.tensor(loss))
    other = dict(batch, pixel_values=batch['pixel_values'].roll(1, dims=0))
    assert abs(float(trainer.compute_loss(model, other)) - loss) > 1e-6


def test_grpo_scores_completions_with_the_images_they_were_sampled_from(tiny_vlm_dir, tmp_path):
    from swift.infer.protocol import InferRequest, RequestConfig
    from swift.infer.transformers_engine import TransformersEngine
    from swift.model.loader import get_model_tokenizer
    from swift.template import get_template
    from swift.training.rlhf.base import sequence_logps
    from swift.training.rlhf.data import RowEncoder
    from swift.training.rlhf.online import OnlineTrainer
    model, tokenizer = get_model_tokenizer(str(tiny_vlm_dir), torch_dtype='float32')
    template = get_template(tokenizer.model_info.template, tokenizer=tokenizer)
    rows = [RowEncoder(template, 'grpo').encode(row)['row'] for row in _rows(tmp_path, 2)]
    engine = TransformersEngine(model, tokenizer, template=template)
    try:
        responses = engine.infer([InferRequest(messages=row['messages'], images=row['images']) for row in rows],
                                 RequestConfig(max_tokens=5, temperature=1.0, seed=3, logprobs=True))
    finally:
        engine.close()
    sampled = [[entry.token_id for entry in r.choices[0].logprobs.content] for r in responses]
    engine_logps = [[entry.logprob for entry in r.choices[0].logprobs.content] for r in responses]
    prompts = [template.encode(row, for_inference=True)['input_ids'] for row in rows]
    stand_in = types.SimpleNamespace(rollout=types.SimpleNamespace(template=template),
                                     args=types.SimpleNamespace(device=torch.device('cpu')),
                                     processing_class=tokenizer)
    batch = OnlineTrainer.build_sequences(stand_in, prompts, [types.SimpleNamespace(token_ids=s) for s in sampled])
    OnlineTrainer.attach_media(stand_in, batch, rows)
    assert batch['media']['pixel_values'].shape[0] == 2
    with torch.no_grad():
        per_token, mask, _ = sequence_logps(model.eval(), batch['input_ids'], batch['attention_mask'],
                                            batch['labels'], **batch['media'])
    for row, expected in enumerate(engine_logps):
        ours = per_token[row][mask[row]].tolist()
        assert ours == pytest.approx(expected, abs=1e-4)
    with torch.no_grad():  # with other pixels the same tokens score differently: the check can fail
        blind, _, _ = sequence_logps(model, batch['input_ids'], batch['attention_mask'], batch['labels'],
                                     pixel_values=torch.rand_like(batch['media']['pixel_values']))
    assert not torch.allclose(blind[mask], per_token[mask], atol=1e-3)


def test_grpo_trains_a_step_on_image_prompts(tiny_vlm_dir, tmp_path):
    from swift.training.rlhf.workflow import rlhf_main
    data = write_jsonl(tmp_path / 'prompts.jsonl', _rows(tmp_path, 2))
    result = rlhf_main(rlhf_type='grpo', model=str(tiny_vlm_dir), dataset=[str(data)], max_steps=1,
                       per_device_train_batch_size=2, num_generations=2, max_new_tokens=4,
                       reward_funcs=['accuracy'], learning_rate=1e-3, output_dir=str(tmp_path / 'run'),
                       save_steps=10000, logging_steps=1, report_to=[], seed=0)
    steps = [entry for entry in result.log_history if 'loss' in entry]
    assert len(steps) == 1 and torch.isfinite(torch.tensor(steps[0]['loss']))


def test_vllm_rollouts_refuse_image_prompts():
    from swift.training.rlhf.rollout import _refuse_media
    with pytest.raises(SwiftError, match='--use_vllm false'):
        _refuse_media([{'messages': [], 'images': ['a.png']}], 'vLLM (--use_vllm true)')
    _refuse_media([{'messages': []}], 'vLLM (--use_vllm true)')
