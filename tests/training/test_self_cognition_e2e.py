"""The real embedded model learns a new identity with LoRA on this CPU, and keeps what it knew.

The trained half of this proof runs in tests/ui/test_menu.py::test_menu_in_a_terminal_teaches_the_embedded_model_its_name:
`swift menu` trains the self-cognition LoRA (240 rows of swift/self-cognition, Nova / Aurora Labs, LoRA rank 16,
lr 1e-3, packing: the sft command it prints), then that test checks the checkpoint: every identity question of
swift.dataset.HELD_OUT_IDENTITY_QUESTIONS (NOT in the training data; a dataset test asserts they are absent) but one
answers with the new name, the author is named, and Paris is still the capital of France. One training run serves
both proofs (suite time). Here: the base model did not already answer so.
"""
import swift
from swift.dataset import HELD_OUT_IDENTITY_QUESTIONS


def test_base_model_did_not_already_say_nova(smollm_dir):
    handle = swift.load('smollm2-135m-instruct')
    answers = [handle.infer(q, max_new_tokens=40) for q in HELD_OUT_IDENTITY_QUESTIONS[:3]]
    assert not any('Nova' in a or 'Aurora' in a for a in answers), answers
    assert any('SmolLM' in a for a in answers), answers  # before training it knows itself as SmolLM
