"""Inference: engines behind one interface (engine.py), the PtEngine scheduler, other backends,
`swift infer` (chat.py, batch.py) and the OpenAI-compatible server (server/).

Importing this package loads neither torch nor transformers; `PtEngine` lives in
swift.infer.pt_engine (also `from swift import PtEngine`).
"""
from .engine import ChoiceUpdate, InferEngine
from .protocol import (BASE_ADAPTER, ChatCompletionResponse, ChatCompletionStreamResponse, EngineClosedError,
                       InferError, InferRequest, PromptTooLongError, RequestConfig, UnknownAdapterError)

__all__ = ['ChoiceUpdate', 'InferEngine', 'BASE_ADAPTER', 'ChatCompletionResponse', 'ChatCompletionStreamResponse',
           'EngineClosedError', 'InferError', 'InferRequest', 'PromptTooLongError', 'RequestConfig',
           'UnknownAdapterError']
