"""A real server on 127.0.0.1 (uvicorn in a thread, on a free port) around an engine, for the openai client."""
import asyncio
import contextlib
import importlib
import threading
import time
from typing import Iterator, Optional

import pytest

from swift.infer.engine import ChoiceUpdate, InferEngine


def _http_client_module():
    """The HTTP client the openai package ships with: httpx2 since openai 3, httpx before."""
    try:
        return importlib.import_module('httpx2')
    except ImportError:
        return importlib.import_module('httpx')


httpx = _http_client_module()


def start_uvicorn(app, sock, server=None, **config):
    """uvicorn serving `app` on `sock` in a daemon thread, returned once it has started (`server`: a uvicorn.Server
    already made for the app; else a plain one with `config`)."""
    import uvicorn
    server = server or uvicorn.Server(uvicorn.Config(app, log_level='warning', **config))
    thread = threading.Thread(target=server.run, kwargs={'sockets': [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, 'the server did not start'
        time.sleep(0.02)
    return server, thread


@contextlib.contextmanager
def running_server(engine, **config) -> Iterator['RunningServer']:
    from swift.infer.server.app import ServerConfig, create_app
    from swift.infer.server.deploy import bind_socket
    from swift.infer.server.serving import graceful_server
    config.setdefault('log_interval', 0)
    config.setdefault('shutdown_timeout', 2)
    app = create_app(engine, ServerConfig(**config))
    sock = bind_socket('127.0.0.1', 0)
    server, thread = start_uvicorn(app, sock, server=graceful_server(app, log_level='warning'))
    running = RunningServer(f'http://127.0.0.1:{sock.getsockname()[1]}', app.state.server, server, thread)
    try:
        yield running
    finally:
        running.stop()
        thread.join(timeout=30)
        sock.close()


class RunningServer:

    def __init__(self, url: str, state, uvicorn_server=None, thread=None):
        self.url = url
        self.state = state  # swift.infer.server.app.Server: admission, stats
        self.uvicorn_server = uvicorn_server
        self.thread = thread

    def stop(self) -> None:
        """Begin a graceful shutdown, as SIGTERM does (uvicorn's signal handler sets the same flag)."""
        self.uvicorn_server.should_exit = True

    def client(self, api_key: str = 'none', timeout: float = 60.0):
        import openai
        # max_retries=0: a 429 or 5xx must reach the test, not be retried away
        return openai.OpenAI(base_url=self.url + '/v1', api_key=api_key, max_retries=0, timeout=timeout)

    def wait_until(self, condition, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.01)
        return condition()


class GatedEngine(InferEngine):
    """A test double for the server's own logic (queue, 429, disconnects): each request answers 'ok'
    only once `gate` is set, and the engine counts the requests it is running and those cancelled."""
    model_name = 'gated'
    max_model_len = 64

    def __init__(self):
        self.gate = threading.Event()
        self.active = 0
        self.cancelled = 0

    def _encode(self, request):
        return [1] * len(request.messages[-1]['content'] if request.messages else request.prompt)

    async def _generate(self, prepared):
        self.active += 1
        finished = False
        try:
            while not self.gate.is_set():
                await asyncio.sleep(0.005)
            yield [ChoiceUpdate(i, 'ok', 1, finish_reason='stop') for i in range(prepared.config.n)]
            finished = True
        finally:
            self.active -= 1
            if not finished:
                self.cancelled += 1


@pytest.fixture(scope='session')
def tiny_engine(tiny_model_dir):
    from swift.infer.transformers_engine import PtEngine
    engine = PtEngine(str(tiny_model_dir), template='smollm2', max_batch_size=16)
    yield engine
    engine.close()


def user(text: str, system: Optional[str] = None):
    return ([{'role': 'system', 'content': system}] if system else []) + [{'role': 'user', 'content': text}]
