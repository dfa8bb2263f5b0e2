"""The chunked causal-LM loss: equal to cross-entropy over full logits (value, argmax hits, gradients), equal
to the model's own loss inside a model, refused where a model transforms its logits, and a whole sft run
with it trains the same weights as a run with the model's own loss."""
import json
from pathlib import Path

import pytest
import torch

from swift.training.loss import ChunkedLossModel, chunked_cross_entropy, even_chunk_rows

VOCAB = 96


@pytest.mark.parametrize('chunk_rows', [1, 7, 50, 1000])
def test_chunked_cross_entropy_equals_full_logits_cross_entropy(chunk_rows):
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(50, 16, generator=generator, requires_grad=True)
    weight = torch.randn(VOCAB, 16, generator=generator, requires_grad=True)
    bias = torch.randn(VOCAB, generator=generator, requires_grad=True)
    target = torch.randint(0, VOCAB, (50,), generator=generator)
    logits = hidden @ weight.T + bias
    expected = torch.nn.functional.cross_entropy(logits, target, reduction='sum')
    expected_grads = torch.autograd.grad(expected * 0.25, (hidden, weight, bias))

    loss, hits = chunked_cross_entropy(hidden, weight, target, bias=bias, chunk_rows=chunk_rows)
    assert float(loss) == pytest.approx(float(expected), rel=1e-6)
    assert int(hits) == int((logits.argmax(-1) == target).sum())
    for ours, theirs in zip(torch.autograd.grad(loss * 0.25, (hidden, weight, bias)), expected_grads):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('total, most, expected', [(1434, 682, 478), (682, 682, 682), (683, 682, 342), (10, 682, 10),
                                                   (0, 682, 1)])
def test_chunks_split_evenly_without_a_narrow_remainder(total, most, expected):
    rows = even_chunk_rows(total, most)
    assert rows == expected and rows <= max(most, 1)
    if total:
        chunks = -(-total // rows)
        assert total - (chunks - 1) * rows > rows // 2 or chunks == 1  # the last chunk is not a sliver


def test_frozen_head_gets_no_gradient_and_no_work():
    hidden = torch.randn(10, 8, requires_grad=True)
    weight = torch.randn(VOCAB, 8)  # frozen (LoRA): only d loss / d hidden is needed
    loss, _ = chunked_cross_entropy(hidden, weight, torch.randint(0, VOCAB, (10,)))
    loss.backward()
    assert hidden.grad is not None and weight.grad is None


def _tiny_llama(**config):
    from transformers import AutoModelForCausalLM, LlamaConfig
    torch.manual_seed(0)
    base = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, pad_token_id=0, tie_word_embeddings=True)
    return AutoModelForCausalLM.from_config(LlamaConfig(**{**base, **config}), attn_implementation='sdpa',
                                            dtype=torch.float32)


def _batch(seed=0):
    """Two padded rows; prompts and padding untrained."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (2, 12), generator=generator)
    labels = ids.clone()
    labels[:, :4] = -100
    labels[1, 9:] = -100
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    return {'input_ids': ids, 'attention_mask': mask, 'labels': labels}


def _lora(model, **extra):
    from peft import LoraConfig, get_peft_model
    return get_peft_model(model, LoraConfig(r=4, target_modules='all-linear', lora_dropout=0.0, **extra))


@pytest.mark.parametrize('tuner', ['lora', 'full'])
def test_inside_a_model_it_equals_the_models_own_loss_and_gradients(tuner):
    model = _tiny_llama()
    if tuner == 'lora':
        model = _lora(model)
        for name, p in model.named_parameters():  # LoRA B starts at zero: give the adapter a real gradient path
            if 'lora_B' in name:
                torch.nn.init.normal_(p, std=0.1)
    model.train()
    batch = _batch()
    trained = [p for p in model.parameters() if p.requires_grad]
    reference = model(**batch).loss
    reference_grads = torch.autograd.grad(reference, trained)

    chunked = ChunkedLossModel(model)
    assert chunked.reason is None and chunked.usable(batch)
    loss, count, hits = chunked.loss(model, batch)
    assert count == int((batch['labels'][:, 1:] != -100).sum())
    assert float(loss) == pytest.approx(float(reference), rel=1e-5)
    for ours, theirs in zip(torch.autograd.grad(loss, trained), reference_grads):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)
    # normalised by the Trainer's num_items_in_batch when it gives one (gradient accumulation)
    assert float(chunked.loss(model, batch, num_items_in_batch=40)[0]) == pytest.approx(
        float(reference) * count / 40, rel=1e-5)
    assert chunked.verify(model, batch) and chunked.verified


def test_models_it_cannot_compute_keep_their_own_loss():
    from peft import PromptTuningConfig, get_peft_model
    assert 'transforms its logits' in ChunkedLossModel(_tiny_llama_with_softcap()).reason
    prompt = get_peft_model(_tiny_llama(), PromptTuningConfig(task_type='CAUSAL_LM', num_virtual_tokens=4))
    assert 'prompt-learning' in ChunkedLossModel(prompt).reason
    from peft import AdaLoraConfig
    adalora = get_peft_model(_tiny_llama(), AdaLoraConfig(target_modules=['q_proj'], total_step=10))
    assert 'AdaLoraModel adds its own terms to the loss' in ChunkedLossModel(adalora).reason
    assert ChunkedLossModel(_lora(_tiny_llama())).reason is None
    wrapped_head = _lora(_tiny_llama(), modules_to_save=['lm_head'])
    assert 'not a plain Linear' in ChunkedLossModel(wrapped_head).reason
    chunked = ChunkedLossModel(_tiny_llama())
    assert not chunked.usable({**_batch(), 'pixel_values': torch.zeros(1)})  # other inputs: the model's own forward


def _tiny_llama_with_softcap():
    model = _tiny_llama()
    model.config.final_logit_softcapping = 30.0
    return model


def test_verify_refuses_a_head_that_does_not_give_the_models_logits():
    """The self-check on the first batch: if the loss computed from the hidden states is not the model's own,
    the chunked path is switched off (with the reason) instead of training on a different loss."""
    model = _tiny_llama().train()
    chunked = ChunkedLossModel(model)
    chunked.head = torch.nn.Linear(32, VOCAB, bias=False)  # stands for a head the checks could not see through
    assert not chunked.verify(model, _batch())
    assert 'differs from the chunked loss' in chunked.reason and not chunked.usable(_batch())
    assert model.training  # verify ran in eval mode and put the model back


ROWS = [{'messages': [{'role': 'user', 'content': f'What is {i} times three?'},
                      {'role': 'assistant', 'content': f'{i} times three is {3 * i}. ' * (1 + i % 4)}]}
        for i in range(12)]


@pytest.mark.parametrize('mode', [{'packing': True, 'tuner_type': 'full'}, {'padding_free': True},
                                  {'gradient_accumulation_steps': 2}])
def test_sft_with_the_chunked_loss_trains_the_same_weights(tiny_model_dir, tmp_path, mode):
    from safetensors.torch import load_file
    from swift.training.sft import sft_main
    data = tmp_path / 'train.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in ROWS))
    runs = {}
    for chunked in (True, False):
        result = sft_main(dict(model=str(tiny_model_dir), template='smollm2', dataset=[str(data)],
                               output_dir=str(tmp_path / str(chunked)), add_version=False, max_steps=3,
                               save_steps=100, logging_steps=1, per_device_train_batch_size=2, learning_rate=1e-3,
                               lora_dropout=0.0, report_to=['none'], seed=1, max_length=256,
                               chunked_loss=chunked, **mode))
        checkpoint = Path(result.last_checkpoint)
        weights = checkpoint / ('model.safetensors' if mode.get('tuner_type') == 'full' else 'adapter_model.safetensors')
        logs = [json.loads(line) for line in (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()]
        runs[chunked] = (load_file(str(weights)), [(r['loss'], r['token_acc'], r['trained_tokens'])
                                                   for r in logs if 'loss' in r])
    (w_chunked, log_chunked), (w_own, log_own) = runs[True], runs[False]
    assert len(log_chunked) == 3
    for (loss_a, acc_a, tokens_a), (loss_b, acc_b, tokens_b) in zip(log_chunked, log_own):
        assert loss_a == pytest.approx(loss_b, rel=1e-4) and acc_a == acc_b and tokens_a == tokens_b
    assert w_chunked.keys() == w_own.keys()
    for name in w_own:
        torch.testing.assert_close(w_chunked[name], w_own[name], atol=2e-5, rtol=1e-4, msg=name)
