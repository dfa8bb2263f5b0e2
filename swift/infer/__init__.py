"""Inference: engines behind one interface (engine.py), the TransformersEngine scheduler, other backends,
`swift infer` (chat.py, batch.py) and the OpenAI-compatible server (server/).

Importing this package loads neither torch nor transformers; `TransformersEngine` lives in
swift.infer.transformers_engine (also `from swift import TransformersEngine`).
"""
from .engine import ChoiceUpdate, InferEngine
from .protocol import (BASE_ADAPTER, ChatCompletionResponse, ChatCompletionStreamResponse, EngineClosedError,
                       InferError, InferRequest, PromptTooLongError, RequestConfig, UnknownAdapterError)

__all__ = ['ChoiceUpdate', 'InferEngine', 'BASE_ADAPTER', 'ChatCompletionResponse', 'ChatCompletionStreamResponse',
           'EngineClosedError', 'InferError', 'InferRequest', 'PromptTooLongError', 'RequestConfig',
           'UnknownAdapterError']
