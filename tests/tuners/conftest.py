"""A tiny random Llama and a plain torch training loop, shared by the tuner tests."""
from pathlib import Path

import pytest

VOCAB = 512


def tiny_llama(tmp_path: Path) -> Path:
    """Save a tiny random LlamaForCausalLM (hidden 64, 2 layers, 4 heads, 2 KV heads) under tmp_path."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    config.architectures = ['LlamaForCausalLM']
    torch.manual_seed(0)
    path = Path(tmp_path) / 'tiny-llama'
    LlamaForCausalLM(config).save_pretrained(str(path))
    return path


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """The tiny model's ops are so small that thread start-up dominates: one thread is ~3x faster here
    (and much faster on a busy 2-core machine). Restored after each module for the rest of the suite."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def tiny_dir(tmp_path_factory) -> Path:
    return tiny_llama(tmp_path_factory.mktemp('tuners'))


def load_model(path, **kwargs):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(str(path), **kwargs).eval()


@pytest.fixture
def base(tiny_dir):
    """A fresh copy of the tiny model."""
    return load_model(tiny_dir)


@pytest.fixture(scope='session')
def tokens():
    import torch
    generator = torch.Generator().manual_seed(1)
    return torch.randint(3, VOCAB, (2, 12), generator=generator)


def logits(model, input_ids):
    import torch
    model.eval()
    with torch.no_grad():
        return model(input_ids=input_ids).logits


def train(model, input_ids, steps: int = 5, lr: float = 1e-2, step_hook=None):
    """A few AdamW steps on a fixed batch (the model memorises it); returns the losses."""
    import torch
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    for step in range(steps):
        loss = model(input_ids=input_ids, labels=input_ids).loss
        loss.backward()
        optimizer.step()
        if step_hook is not None:
            step_hook(model, step)
        optimizer.zero_grad()
        losses.append(loss.item())
    model.eval()
    return losses


def trainable_snapshot(model):
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def args_for(**overrides):
    """TunerArguments with dropout off (so train/eval agree) and the given overrides."""
    from swift.arguments import TunerArguments
    return TunerArguments(**{'lora_dropout': 0.0, **overrides})
