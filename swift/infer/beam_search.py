"""Beam search for one request (--num_beams N, ms-swift's flag): transformers' own `generate(num_beams=N)`.

The continuous batcher (transformers_engine.py) advances every running sequence one sampled token per step;
beam search keeps N hypotheses per request and reorders them each step, which that loop does not do. So a beam
request runs alone through `model.generate`, holding the engine's model lock (the batcher's steps wait), and comes
back as one update: deterministic (no sampling), one choice, no log-probabilities. Refused where it would mean
something else: with n > 1, logprobs, media inputs, or an adapter other than the active one.
"""
from typing import List

from .engine import ChoiceUpdate, PreparedRequest
from .protocol import InferError


def check_beam_request(engine, prepared: PreparedRequest) -> None:
    config = prepared.config
    reasons = [what for what, clash in (
        ('n > 1 (beam search returns its best sequence)', config.n > 1),
        ('logprobs', config.logprobs),
        ('sampling (temperature > 0): beam search is deterministic', not config.greedy),
        ('penalties', config.repetition_penalty != 1.0 or config.presence_penalty or config.frequency_penalty),
        ('images, videos or audios', bool(prepared.media)),
        ('an adapter other than the active one',
         getattr(engine, '_is_peft', False) and prepared.adapter != engine.model.active_adapter)) if clash]
    if reasons:
        raise InferError(f'num_beams={config.num_beams} is not supported with {"; ".join(reasons)}')


def beam_search(engine, prepared: PreparedRequest) -> ChoiceUpdate:
    """The best of num_beams hypotheses for the prompt, as `model.generate` finds it (runs in a worker thread)."""
    import torch
    config = prepared.config
    stop_ids = sorted(engine._stop_ids)
    input_ids = torch.tensor([prepared.prompt_ids], device=engine._device())
    kwargs = {}
    if config.stop_list:
        kwargs.update(stop_strings=list(config.stop_list), tokenizer=engine.tokenizer)
    with engine.model_lock, torch.no_grad():
        output = engine.model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                       num_beams=config.num_beams, do_sample=False, max_new_tokens=config.max_tokens,
                                       eos_token_id=stop_ids or None, pad_token_id=engine.tokenizer.pad_token_id,
                                       **kwargs)
    generated: List[int] = output[0, input_ids.shape[1]:].tolist()
    ended = next((i for i, token in enumerate(generated) if token in engine._stop_ids), None)
    kept = generated if ended is None else generated[:ended]
    text = engine.tokenizer.decode(kept, skip_special_tokens=True)
    for stop in config.stop_list:  # a stop string ends the text before it, as in sampled answers
        if stop in text:
            text = text[:text.index(stop)]
    finish = 'length' if ended is None and len(generated) >= config.max_tokens else 'stop'
    return ChoiceUpdate(0, text, len(generated), [], finish)
