"""The routes of task models (`swift sft --task_type ...` checkpoints, swift.infer.tasks):

    POST /v1/embeddings   an embedding model's vectors (OpenAI's request and response)
    POST /v1/rerank       a reranker's relevance scores, as Jina / Cohere / vLLM's rerank API (also /rerank)
    POST /v1/classify     a seq_cls model's class probabilities, as vLLM's classify API

Each answers 400 when the served model is not of its task.
"""
import uuid
from typing import Any, Dict, List, Optional, Union

from pydantic import BaseModel, ConfigDict

from .errors import bad_request


class RerankRequest(BaseModel):
    model_config = ConfigDict(extra='forbid')

    query: str
    documents: List[Union[str, Dict[str, Any]]]
    model: Optional[str] = None
    top_n: Optional[int] = None
    return_documents: bool = True

    def texts(self) -> List[str]:
        texts = []
        for i, document in enumerate(self.documents):
            text = document if isinstance(document, str) else document.get('text')
            if not isinstance(text, str):
                raise bad_request(f'documents[{i}] must be a string or {{"text": ...}}', param='documents')
            texts.append(text)
        if not texts:
            raise bad_request('documents must hold at least one document', param='documents')
        if self.top_n is not None and self.top_n < 1:
            raise bad_request('top_n must be >= 1', param='top_n')
        return texts


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra='forbid')

    input: Union[str, List[str]]
    model: Optional[str] = None
    user: Optional[str] = None

    def texts(self) -> List[str]:
        texts = [self.input] if isinstance(self.input, str) else list(self.input)
        if not texts or not all(isinstance(t, str) and t for t in texts):
            raise bad_request('input must be a non-empty string or list of strings', param='input')
        return texts


def task_model(engine, *tasks: str):
    """The engine's task model when it is of one of `tasks`, else a 400 saying what the served model is."""
    model = getattr(engine, 'task_model', None)
    if model is None or model.task_type not in tasks:
        what = model.task_type if model is not None else 'a causal LM'
        raise bad_request(f'this route needs a {" or ".join(tasks)} model (swift sft --task_type ...); the served '
                          f'model is {what}', param='model')
    return model


def usage(model, texts: List[str]) -> Dict[str, int]:
    tokens = sum(len(model.tokenizer(t)['input_ids']) for t in texts)
    return {'prompt_tokens': tokens, 'total_tokens': tokens}


def rerank_body(request: RerankRequest, texts: List[str], scores: List[float], model_name: str,
                usage_: Dict[str, int]) -> Dict[str, Any]:
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[:request.top_n or len(scores)]
    results = []
    for i in order:
        result = {'index': i, 'relevance_score': scores[i]}
        if request.return_documents:
            result['document'] = {'text': texts[i]}
        results.append(result)
    return {'id': f'rerank-{uuid.uuid4().hex}', 'model': model_name, 'results': results, 'usage': usage_}


def classify_body(probabilities: List[List[float]], model_name: str, usage_: Dict[str, int]) -> Dict[str, Any]:
    data = [{'index': i, 'label': max(range(len(p)), key=p.__getitem__), 'probs': p, 'num_classes': len(p)}
            for i, p in enumerate(probabilities)]
    return {'id': f'classify-{uuid.uuid4().hex}', 'object': 'list', 'model': model_name, 'data': data,
            'usage': usage_}
