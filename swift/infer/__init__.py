"""Inference: engines behind one interface, the chat loop, and (later) the OpenAI-compatible server."""
from .protocol import ChatCompletionResponse, InferRequest, RequestConfig
