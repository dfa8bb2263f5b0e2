"""A stand-in causal LM that emits a fixed token script, for exact streaming tests.

It follows the transformers calling convention PtEngine uses (input_ids, position_ids,
past_key_values with .update, logits_to_keep) and writes a dummy KV entry per token, so the
real scheduler, batch cache, detokenizer and stop-string logic all run; only the numbers are fake.
Row b's next token is script[position - prompt_length + 1]; after the script comes EOS.
"""
from types import SimpleNamespace
from typing import List

import torch


class ScriptedLM(torch.nn.Module):

    def __init__(self, script: List[int], vocab_size: int, eos_token_id: int, prompt_length: int):
        super().__init__()
        self.script = list(script)
        self.vocab_size = vocab_size
        self.prompt_length = prompt_length
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the engine a device
        self.config = SimpleNamespace(max_position_embeddings=4096, get_text_config=lambda: self.config)
        self.generation_config = SimpleNamespace(eos_token_id=eos_token_id)
        self.eos_token_id = eos_token_id

    def forward(self, input_ids, past_key_values=None, position_ids=None, attention_mask=None, use_cache=True,
                logits_to_keep=0, **kwargs):
        batch, length = input_ids.shape
        if position_ids is None:
            position_ids = torch.arange(length).expand(batch, -1)
        kv = torch.zeros(batch, 1, length, 2)
        past_key_values.update(kv, kv.clone(), 0)
        logits = torch.full((batch, 1, self.vocab_size), -10.0)
        for row in range(batch):
            step = int(position_ids[row, -1]) - self.prompt_length + 1
            token = self.script[step] if step < len(self.script) else self.eos_token_id
            logits[row, 0, token] = 10.0
        return SimpleNamespace(logits=logits)
