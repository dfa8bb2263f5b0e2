"""The reference the engine's multimodal answers are compared with: `model.generate` on one request alone.

Every family's test asks the same thing: TransformersEngine, answering a media request batched with other requests,
gives the greedy tokens (and logprobs) that `model.generate` gives for that request encoded alone by the same
template. `greedy_reference` is that `generate` call; `never` is a token id the tiny random models will not write
(a media token), put in place of the end-of-sequence so every step decodes, as the engine's ignore_eos does.
"""
import copy
from typing import List, Tuple


def greedy_reference(model, template, request, max_new_tokens: int, never: int) -> Tuple[List[int], List[float]]:
    """(new token ids, their log-probabilities) of `model.generate`, greedy, for `request` (an InferRequest)."""
    import torch
    row = {'messages': request.messages, 'images': request.images, 'videos': request.videos, 'audios': request.audios}
    encoded = template.encode({k: v for k, v in row.items() if v}, for_inference=True)
    ids = torch.tensor([encoded['input_ids']])
    config = copy.deepcopy(model.generation_config)
    config.eos_token_id = never
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config,
                             **template.collate_media([encoded], input_ids=ids), max_new_tokens=max_new_tokens,
                             do_sample=False, output_scores=True, return_dict_in_generate=True)
    tokens = out.sequences[0, ids.shape[1]:].tolist()
    return tokens, [torch.log_softmax(s[0].float(), -1)[t].item() for s, t in zip(out.scores, tokens)]


def engine_beside_text(model, tokenizer, request, max_tokens: int, never: int, template=None):
    """(the engine's greedy choice for `request`, decoded in one batch with a text-only request; `greedy_reference`'s
    (tokens, logprobs) for it alone, through the engine's template). EOS never ends the engine's reply either."""
    from swift.infer.protocol import InferRequest, RequestConfig
    from swift.infer.transformers_engine import TransformersEngine
    config = RequestConfig(max_tokens=max_tokens, temperature=0, ignore_eos=True, logprobs=True)
    with TransformersEngine(model, tokenizer, template=template) as engine:
        choice = engine.infer([InferRequest(messages=[{'role': 'user', 'content': 'hi'}]), request],
                              config)[1].choices[0]
        return choice, greedy_reference(model, engine.template, request, max_tokens, never)
