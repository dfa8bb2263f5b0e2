"""/v1/embeddings on the loaded chat model: the mean of the last hidden state over the input's
tokens, L2-normalised (so a dot product is the cosine similarity).

A causal LM is not trained as an embedding model; these vectors are good enough for quick
similarity and clustering, not a replacement for a dedicated embedding model.

Inputs are encoded without a chat template (the text as it is, with the tokenizer's special
tokens such as BOS) and run in batches with right padding: with causal attention a token never
sees the padding after it, so a vector does not depend on what else is in the batch.
"""
import base64
from typing import Any, Dict, List, Optional, Sequence, Union

from ..engine import right_padded
from ..protocol import BASE_ADAPTER
from .errors import APIError, bad_request

EMBEDDING_BATCH_SIZE = 16


def check_supported(engine, dimensions: Optional[int]) -> None:
    """400 unless this engine can embed, with the number of dimensions asked for (if any)."""
    # the transformers model in this process, and the lock its scheduler holds for each forward pass
    if getattr(engine, 'model_lock', None) is None or not hasattr(getattr(engine, 'model', None), 'config'):
        raise APIError(400, f'{type(engine).__name__} does not compute embeddings; deploy with --infer_backend pt',
                       code='embeddings_unsupported')
    size = hidden_size(engine.model)
    if dimensions is not None and dimensions != size:
        raise bad_request(f'dimensions: this model\'s embeddings have {size} dimensions and cannot be shortened; '
                          f'omit dimensions or pass {size}', param='dimensions')


def hidden_size(model) -> int:
    config = model.config
    text_config = config.get_text_config() if hasattr(config, 'get_text_config') else config
    return text_config.hidden_size


def vocab_size(engine) -> int:
    """How many token ids the model's embedding table holds (ids outside [0, size) fail inside the forward pass)."""
    embeddings = engine.model.get_input_embeddings() if hasattr(engine.model, 'get_input_embeddings') else None
    return getattr(embeddings, 'num_embeddings', None) or len(engine.tokenizer)


def check_token_ids(ids: List[int], size: int, name: str, param: str) -> None:
    """A 400 naming the first id outside [0, size)."""
    for position, token_id in enumerate(ids):
        if not 0 <= token_id < size:
            raise bad_request(f'{name} holds token id {token_id} at position {position}, outside this model\'s '
                              f'vocabulary [0, {size})', param=param)


def tokenize_inputs(engine, inputs: Sequence[Union[str, List[int]]]) -> List[List[int]]:
    """Token ids of every input; a 400 for an id outside the vocabulary or an input longer than the model's context."""
    limit = getattr(engine, 'max_model_len', None)
    size = vocab_size(engine)
    encoded = []
    for index, item in enumerate(inputs):
        if isinstance(item, list):
            check_token_ids(item, size, f'input[{index}]', 'input')
        ids = list(item) if isinstance(item, list) else list(engine.tokenizer(item)['input_ids'])
        if limit is not None and len(ids) > limit:
            raise APIError(400, f'input[{index}] has {len(ids)} tokens but the model\'s context is {limit} tokens',
                           param='input', code='context_length_exceeded')
        encoded.append(ids)
    return encoded


def embed(engine, token_ids: List[List[int]], adapter: Optional[str]) -> List[List[float]]:
    """Normalised mean-pooled vectors, one per input (blocking: run it in a worker thread)."""
    import torch
    vectors = []
    with torch.inference_mode():
        for start in range(0, len(token_ids), EMBEDDING_BATCH_SIZE):
            vectors += _embed_batch(engine, token_ids[start:start + EMBEDDING_BATCH_SIZE], adapter)
    return vectors


def _embed_batch(engine, batch: List[List[int]], adapter: Optional[str]) -> List[List[float]]:
    import torch
    model = engine.model
    input_ids, mask = right_padded(engine, batch)
    with engine.model_lock:  # the engine's scheduler uses the same weights between its steps
        out = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True, logits_to_keep=1,
                    **adapter_kwargs(engine, adapter, len(batch)))
    hidden = out.hidden_states[-1].float()  # the final (normed) layer output, as last_hidden_state
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
    return torch.nn.functional.normalize(pooled, dim=-1).cpu().tolist()


def adapter_kwargs(engine, adapter: Optional[str], rows: int) -> Dict[str, Any]:
    """peft's per-row adapter choice, when the request's adapter is not the active one."""
    if not getattr(engine, 'adapters', None):
        return {}
    name = BASE_ADAPTER if adapter == BASE_ADAPTER else (adapter or engine.default_adapter)
    if name == engine.model.active_adapter:
        return {}
    return {'adapter_names': [name] * rows}


def response_body(vectors: List[List[float]], model: str, prompt_tokens: int,
                  encoding_format: str) -> Dict[str, Any]:
    data = [{'object': 'embedding', 'index': i, 'embedding': _encode(v, encoding_format)} for i, v in
            enumerate(vectors)]
    return {'object': 'list', 'data': data, 'model': model,
            'usage': {'prompt_tokens': prompt_tokens, 'total_tokens': prompt_tokens}}


def _encode(vector: List[float], encoding_format: str):
    if encoding_format == 'float':
        return vector
    import numpy as np
    return base64.b64encode(np.asarray(vector, dtype='<f4').tobytes()).decode('ascii')
