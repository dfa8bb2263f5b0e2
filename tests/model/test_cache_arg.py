"""The KV cache reaches the model under the keyword its transformers version takes, without the rename warning."""
import warnings

import torch
import transformers
from peft import LoraConfig, get_peft_model

from swift.model.cache_arg import cache_kwargs, output_cache


def _tiny_llama():
    config = transformers.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, vocab_size=100)
    return transformers.AutoModelForCausalLM.from_config(config).eval()


def test_cache_round_trip_continues_the_sequence_without_deprecation_warnings():
    model = _tiny_llama()
    peft_model = get_peft_model(_tiny_llama(), LoraConfig(r=2, target_modules=['q_proj']))
    ids = torch.tensor([[5, 6, 7, 8]])
    for m in (model, peft_model):
        with warnings.catch_warnings():
            warnings.simplefilter('error', FutureWarning)
            with torch.no_grad():
                full = m(input_ids=ids).logits[:, -1]
                first = m(input_ids=ids[:, :3], use_cache=True)
                cache = output_cache(first)
                assert cache is not None
                last = m(input_ids=ids[:, 3:], use_cache=True, **cache_kwargs(m, cache)).logits[:, -1]
        torch.testing.assert_close(last, full, rtol=1e-5, atol=1e-5)


def test_no_cache_is_none():
    with torch.no_grad():
        out = _tiny_llama()(input_ids=torch.tensor([[1, 2]]), use_cache=False)
    assert output_cache(out) is None
