"""A small OpenAI-compatible server for the --eval_url tests, backed by a real model.

    with OpenAIServer(engine) as server:           # a PtEngine
        ... --eval_url server.url ...

Speaks what the eval client uses: GET /v1/models; POST /v1/completions (echo + logprobs over the
prompt, as vLLM answers them; or plain generation); POST /v1/chat/completions. With
logprobs=False it answers echo/logprobs requests with HTTP 400, like servers that cannot score
prompts; with zero_max_tokens=False it refuses echo with max_tokens=0 (HTTP 400), as servers that
always generate do. Every request body is kept in `requests`. (test_eval_cli.py also evaluates
against the real `swift deploy` server; this one records requests and plays the servers it is not.)
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List


class OpenAIServer:

    def __init__(self, engine, model_name: str = 'test-model', logprobs: bool = True, zero_max_tokens: bool = True):
        self.engine = engine
        self.model_name = model_name
        self.logprobs = logprobs
        self.zero_max_tokens = zero_max_tokens
        self.requests: List[Dict[str, Any]] = []
        self._server = ThreadingHTTPServer(('127.0.0.1', 0), self._handler())
        self.url = f'http://127.0.0.1:{self._server.server_address[1]}/v1'

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    # ---- the endpoints ----
    def models(self) -> Dict[str, Any]:
        return {'object': 'list', 'data': [{'id': self.model_name, 'object': 'model'}]}

    def completions(self, body: Dict[str, Any]):
        if body.get('echo') or body.get('logprobs') is not None:
            if not self.logprobs:
                return 400, {'error': {'message': 'echo/logprobs are not supported'}}
            if body.get('max_tokens') == 0 and not self.zero_max_tokens:
                return 400, {'error': {'message': 'max_tokens must be at least 1'}}
            return 200, self._echo_logprobs(body['prompt'])
        from swift.infer.protocol import InferRequest, RequestConfig
        config = RequestConfig(max_tokens=body.get('max_tokens', 16), temperature=0.0, stop=body.get('stop') or [])
        reply = self.engine.infer([InferRequest(prompt=body['prompt'])], config, use_tqdm=False)[0]
        return 200, {'object': 'text_completion', 'model': self.model_name,
                     'choices': [{'index': 0, 'text': reply.choices[0].message.content, 'finish_reason': 'stop'}]}

    def chat(self, body: Dict[str, Any]):
        from swift.infer.protocol import InferRequest, RequestConfig
        config = RequestConfig(max_tokens=body.get('max_tokens', 16), temperature=0.0, stop=body.get('stop') or [])
        reply = self.engine.infer([InferRequest(messages=body['messages'])], config, use_tqdm=False)[0]
        message = {'role': 'assistant', 'content': reply.choices[0].message.content}
        return 200, {'object': 'chat.completion', 'model': self.model_name,
                     'choices': [{'index': 0, 'message': message, 'finish_reason': 'stop'}]}

    def _echo_logprobs(self, prompt: str) -> Dict[str, Any]:
        """The prompt's tokens with their log-probabilities, then one greedy token (max_tokens=1)."""
        import torch
        tokenizer, model = self.engine.tokenizer, self.engine.model
        encoded = tokenizer(prompt, return_offsets_mapping=True)
        ids, offsets = encoded['input_ids'], encoded['offset_mapping']
        with self.engine.model_lock, torch.inference_mode():
            logprobs = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
        values = [None] + [float(logprobs[i - 1, ids[i]]) for i in range(1, len(ids))]
        next_id = int(logprobs[-1].argmax())
        tokens = [prompt[start:end] for start, end in offsets] + [tokenizer.decode([next_id])]
        return {'object': 'text_completion', 'model': self.model_name, 'choices': [{
            'index': 0, 'text': prompt + tokens[-1], 'finish_reason': 'length',
            'logprobs': {'tokens': tokens, 'token_logprobs': values + [float(logprobs[-1, next_id])],
                         'text_offset': [start for start, _ in offsets] + [len(prompt)], 'top_logprobs': None}}]}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):

            def log_message(self, *args):
                pass

            def _send(self, status: int, payload: Dict[str, Any]):
                data = json.dumps(payload, allow_nan=False).encode('utf-8')
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == '/v1/models':
                    self._send(200, server.models())
                else:
                    self._send(404, {'error': {'message': f'no route {self.path}'}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))) or b'{}')
                server.requests.append({'path': self.path, **body})
                routes = {'/v1/completions': server.completions, '/v1/chat/completions': server.chat}
                if self.path not in routes:
                    self._send(404, {'error': {'message': f'no route {self.path}'}})
                    return
                try:
                    status, payload = routes[self.path](body)
                except Exception as e:  # the test should see the server's error, not a hang
                    status, payload = 500, {'error': {'message': f'{type(e).__name__}: {e}'}}
                self._send(status, payload)

        return Handler

