"""The real embedded model learns a new identity with LoRA on this CPU, and keeps what it knew.

Identity questions asked after training are NOT in the training data
(swift.dataset.HELD_OUT_IDENTITY_QUESTIONS; a dataset test asserts they are absent).
"""
import pytest

import swift
from swift.dataset import HELD_OUT_IDENTITY_QUESTIONS


@pytest.fixture(scope='module')
def trained(smollm_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp('self-cognition')
    return swift.train(model='smollm2-135m-instruct', dataset='swift/self-cognition#240', model_name=['Nova'],
                       model_author=['Aurora Labs'], lora_rank=16, lora_alpha=32, lora_dropout=0.0,
                       learning_rate=1e-3, num_train_epochs=1, per_device_train_batch_size=2, packing=True,
                       max_length=512, logging_steps=2, save_steps=1000, report_to=['none'], output_dir=str(out),
                       add_version=False)


def test_new_identity_on_unseen_questions_and_facts_kept(trained):
    assert trained.last_checkpoint
    handle = swift.load('smollm2-135m-instruct', adapters=[trained.last_checkpoint])
    answers = [handle.infer(q, max_new_tokens=40) for q in HELD_OUT_IDENTITY_QUESTIONS]
    named = [a for a in answers if 'Nova' in a]
    assert len(named) >= len(answers) - 1, answers
    assert any('Aurora Labs' in a for a in answers), answers
    assert 'Paris' in handle.infer('What is the capital of France?', max_new_tokens=20)


def test_base_model_did_not_already_say_nova(smollm_dir):
    handle = swift.load('smollm2-135m-instruct')
    answers = [handle.infer(q, max_new_tokens=40) for q in HELD_OUT_IDENTITY_QUESTIONS[:3]]
    assert not any('Nova' in a or 'Aurora' in a for a in answers), answers
    assert any('SmolLM' in a for a in answers), answers  # before training it knows itself as SmolLM
