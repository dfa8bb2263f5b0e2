"""The FastAPI application of `swift deploy`: OpenAI-compatible routes over any InferEngine.

    app = create_app(engine, ServerConfig(max_running=32, max_queue_size=128, api_key='sk-...'))

Every generating request first takes a slot (admission.py: at most `max_running` sequences at
once, a bounded waiting line, 429 past it), then runs on the engine's async API, whose own
scheduler batches whatever is running. A stream holds its slot until its last event; a client
that goes away mid-stream closes the engine's stream (the engine drops the request before its
next step) and gives the slot back at once.

Every body is read within limits and checked before any model work (body.py). On shutdown (serving.py tells
`Server.begin_shutdown`) new requests get 503, running ones may finish for `shutdown_timeout` seconds, and then
each remaining one ends with an OpenAI-style error: a 503 body, or an error event and [DONE] in a stream.
"""
import asyncio
import functools
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Sequence

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from swift.template.agent import tool_parser_for
from swift.utils import SwiftError, get_logger

from ..protocol import InferRequest, RequestConfig
from . import echo, embeddings, task_routes
from .admission import Admission, QueueFull, RequestTooLarge
from .auth import check_api_key, has_api_key
from .body import BodyLimits, parse_body
from .errors import APIError, bad_request, client_closed, from_exception, queue_full, shutting_down, timed_out
from .models import ServedModels
from .schemas import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, GenerationDefaults
from .shaping import SSE_DONE, CompletionShaper, chat_body, chat_chunk, sse
from .shutdown import Shutdown
from .stats import PeriodicLogger, ServerStats
from .tool_calls import ToolCallStream, apply_tool_calls

logger = get_logger('swift.deploy')


@dataclass
class ServerConfig:
    served_model_name: Optional[str] = None  # default: the model's name
    owned_by: str = 'swift'  # what /v1/models says owns each model (--owned_by)
    adapter_specs: Sequence[str] = ()  # the --adapters values, to tell named adapters from unnamed ones
    api_key: Optional[str] = None  # None: no authentication
    max_running: int = 32  # sequences generated at once (--max_batch_size)
    max_queue_size: int = 128  # requests waiting for a slot; past it, 429
    request_timeout: Optional[float] = 600.0  # seconds from arrival to the last token; None: no limit
    log_interval: float = 10.0  # seconds between status lines; 0: none
    retry_after_s: int = 1  # the Retry-After of a 429
    max_request_bytes: Optional[int] = 16 * 1024 * 1024  # a larger body is a 413; None: no limit
    body_timeout: Optional[float] = 30.0  # seconds to receive a whole body, else 408; None: no limit
    max_embedding_inputs: int = 256  # inputs in one /v1/embeddings request
    shutdown_timeout: float = 30.0  # seconds running requests may take to finish once shutdown has begun
    enable_docs: bool = True  # /docs, /redoc, /openapi.json (behind the key when api_key is set)
    defaults: GenerationDefaults = field(default_factory=GenerationDefaults)

    @property
    def body_limits(self) -> BodyLimits:
        return BodyLimits(self.max_request_bytes, self.body_timeout or None)


def counted(handler):
    """Count a route's outcome: answered, failed (4xx/5xx) or rejected (429); streams count when they end."""

    @functools.wraps(handler)
    async def route(self: 'Server', request: Request):
        try:
            result = await handler(self, request)
        except BaseException as error:
            self._count_failure(error)
            raise
        if not isinstance(result, GuardedStream):
            self.stats.finished += 1
        return result

    return route


class Server:
    """The state behind the routes: engine, admission, served names, counters."""

    def __init__(self, engine, config: ServerConfig):
        self.engine = engine
        self.config = config
        self.admission = Admission(config.max_running, config.max_queue_size)
        self.served = ServedModels.for_engine(engine, config.served_model_name, config.adapter_specs,
                                              config.owned_by)
        self.stats = ServerStats()
        self.shutdown = Shutdown()

    # ---- chat and completions -----------------------------------------------------------------
    @counted
    async def chat_completions(self, request: Request):
        body = await parse_body(request, ChatCompletionRequest, self.config.body_limits)
        model = body.model or self.served.base_name
        infer_request, config = body.to_engine(self.config.defaults, self.served.adapter_for(body.model))
        # the model's tool calls become OpenAI tool_calls when the request offers tools
        parser = tool_parser_for(self.engine.template) if body.tools and body.tool_choice != 'none' else None
        if config.stream:
            to_event = lambda chunk: chat_chunk(chunk, model, body.include_usage)  # noqa: E731
            if parser is not None:
                calls, plain = ToolCallStream(parser, body.tools), to_event
                to_event = lambda chunk: calls(plain(chunk))  # noqa: E731
            return await self._stream(infer_request, config, to_event)
        response = await self._complete(request, [(infer_request, config)], weight=config.n)
        result = chat_body(response[0], model)
        if parser is not None:
            apply_tool_calls(result, parser, body.tools)
        return result

    @counted
    async def completions(self, request: Request):
        body = await parse_body(request, CompletionRequest, self.config.body_limits)
        model = body.model or self.served.base_name
        adapter = self.served.adapter_for(body.model)
        pairs = body.to_engine(self.config.defaults, adapter)
        shaper = CompletionShaper(model, body.prompts(), body.n, body.logprobs is not None)
        if body.stream:
            infer_request, config = pairs[0]
            return await self._stream(infer_request, config, lambda c: shaper.chunk(c, body.include_usage))
        if body.echo:
            return await self._echo(request, body, pairs, shaper, adapter)
        responses = await self._complete(request, pairs, weight=body.n * len(pairs))
        return shaper.body(responses)

    async def _echo(self, request: Request, body: CompletionRequest, pairs: List[tuple], shaper: CompletionShaper,
                    adapter: Optional[str]):
        """echo=true: the prompts' tokens (scored in one forward pass when logprobs is set), then any generation."""
        prompts, top = body.prompts(), body.logprobs
        echo.check_supported(self.engine, scored=top is not None)
        encoded = echo.tokenize(self.engine, prompts)

        async def run():
            async with self._slot(1):  # as embeddings: one forward pass at a time, however many prompts
                return await asyncio.to_thread(echo.echo, self.engine, encoded, prompts, adapter, top)

        echoes = await unless_disconnected(request, self._with_timeout(run()))
        responses = await self._complete(request, pairs, weight=body.n * len(pairs)) if pairs else []
        return shaper.echo_body(echoes, responses)

    async def _complete(self, request: Request, pairs: List[tuple], weight: int) -> list:
        """Run requests to the end under one slot of `weight`, the request timeout, and while the client waits."""

        async def run():
            async with self._slot(weight):
                return await gather_or_cancel([self.engine.infer_async(r, c) for r, c in pairs])

        responses = await unless_disconnected(request, self._with_timeout(run()))
        self.stats.completion_tokens += sum(r.usage.completion_tokens for r in responses)
        return responses

    async def _stream(self, infer_request: InferRequest, config: RequestConfig,
                      to_event: Callable[[Any], Optional[Dict[str, Any]]]):
        """Take a slot and start the engine stream now (so that 429/4xx are real statuses), then stream."""
        started = time.monotonic()
        await self._with_timeout(self._acquire(config.n))
        release = _once(lambda: self._release(config.n))
        try:
            chunks = await self.engine.infer_async(infer_request, config)  # validation errors are raised here
        except BaseException:
            release()
            raise
        events = self._events(chunks, to_event, started, release)
        return GuardedStream(events, on_close=release, media_type='text/event-stream',
                             headers={'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no'})

    async def _events(self, chunks: AsyncIterator, to_event, started: float, release) -> AsyncIterator[str]:
        timeout = self.config.request_timeout
        cut = self.shutdown.watch()
        try:
            while True:
                remaining = None if not timeout else timeout - (time.monotonic() - started)
                if remaining is not None and remaining <= 0:
                    raise asyncio.TimeoutError()
                try:
                    chunk = await _next_chunk(chunks, cut, remaining)
                except StopAsyncIteration:
                    break
                if chunk.usage is not None:
                    self.stats.completion_tokens += chunk.usage.completion_tokens
                event = to_event(chunk)
                if event is not None:
                    yield sse(event)
            self.stats.finished += 1
        except (asyncio.TimeoutError, Exception) as error:  # headers are sent: report in the stream itself
            api_error = timed_out(timeout) if isinstance(error, asyncio.TimeoutError) else from_exception(error)
            self._count_failure(api_error)
            logger.warning(f'stream ended early: {api_error.message}')
            yield sse(api_error.body())
        finally:
            cut.cancel()
            await chunks.aclose()  # a client that left: the engine drops the request before its next step
            release()
        yield SSE_DONE

    # ---- embeddings -------------------------------------------------------------------------------
    @counted
    async def embeddings(self, request: Request):
        body = await parse_body(request, EmbeddingRequest, self.config.body_limits)
        if getattr(self.engine, 'task_model', None) is not None:  # a trained embedding model
            return await self._task_embeddings(request, body)
        embeddings.check_supported(self.engine, body.dimensions)
        adapter = self.served.adapter_for(body.model)
        token_ids = embeddings.tokenize_inputs(self.engine, body.inputs(self.config.max_embedding_inputs))

        async def run():
            async with self._slot(1):
                return await asyncio.to_thread(embeddings.embed, self.engine, token_ids, adapter)

        vectors = await unless_disconnected(request, self._with_timeout(run()))
        return embeddings.response_body(vectors, body.model or self.served.base_name, sum(map(len, token_ids)),
                                        body.encoding_format)

    # ---- task models (swift sft --task_type): embeddings, rerank, classify ------------------------------
    async def _run_task(self, request: Request, function, *args):
        async def run():
            async with self._slot(1):
                return await asyncio.to_thread(function, *args)

        return await unless_disconnected(request, self._with_timeout(run()))

    async def _task_embeddings(self, request: Request, body: EmbeddingRequest):
        self.served.adapter_for(body.model)  # a 404 for a model name not served
        model = task_routes.task_model(self.engine, 'embedding')
        texts = body.inputs(self.config.max_embedding_inputs)
        if not all(isinstance(t, str) for t in texts):
            raise bad_request('this embedding model takes text inputs, not token ids', param='input')
        vectors = await self._run_task(request, model.embed, texts)
        if body.dimensions is not None and body.dimensions != len(vectors[0]):
            raise bad_request(f'dimensions: this model\'s embeddings have {len(vectors[0])} dimensions',
                              param='dimensions')
        usage = task_routes.usage(model, texts)
        return embeddings.response_body(vectors, body.model or self.served.base_name, usage['prompt_tokens'],
                                        body.encoding_format)

    @counted
    async def rerank(self, request: Request):
        body = await parse_body(request, task_routes.RerankRequest, self.config.body_limits)
        self.served.adapter_for(body.model)
        model = task_routes.task_model(self.engine, 'reranker', 'generative_reranker')
        texts = body.texts()
        scores = await self._run_task(request, model.rerank, body.query, texts)
        return task_routes.rerank_body(body, texts, scores, body.model or self.served.base_name,
                                       task_routes.usage(model, [body.query] + texts))

    @counted
    async def classify(self, request: Request):
        body = await parse_body(request, task_routes.ClassifyRequest, self.config.body_limits)
        self.served.adapter_for(body.model)
        model = task_routes.task_model(self.engine, 'seq_cls')
        texts = body.texts()
        probabilities = await self._run_task(request, model.classify, texts)
        return task_routes.classify_body(probabilities, body.model or self.served.base_name,
                                         task_routes.usage(model, texts))

    # ---- slots, timeouts, counters -------------------------------------------------------------------
    def _slot(self, weight: int):
        return _SlotContext(self, weight)

    async def _acquire(self, weight: int) -> None:
        try:
            await self.admission.acquire(weight)
        except QueueFull:
            raise queue_full(self.config.retry_after_s) from None
        except RequestTooLarge as e:
            raise bad_request(str(e), param='n') from None

    def _release(self, weight: int) -> None:
        self.admission.release(weight)

    async def _with_timeout(self, coroutine):
        """The coroutine's result within the request timeout, and before a shutdown cuts it (503)."""
        timeout = self.config.request_timeout
        try:
            return await asyncio.wait_for(self.shutdown.before_cut(coroutine), timeout or None)
        except asyncio.TimeoutError:
            raise timed_out(timeout) from None

    def _count_failure(self, error: BaseException) -> None:
        if isinstance(error, asyncio.CancelledError):
            return
        api_error = from_exception(error)
        self.stats.finished += 1
        if api_error.status == 429:
            self.stats.rejected += 1
        else:
            self.stats.failed += 1

    def health(self, request: Request):
        """{"status": "ok"} (503 "shutting_down" once shutdown has begun, so a load balancer stops sending); the
        model name and counters too for a caller with the key (or when the server has none)."""
        if self.shutdown.begun:
            return JSONResponse({'status': 'shutting_down'}, status_code=503)
        if not has_api_key(request.headers.get('authorization'), self.config.api_key):
            return {'status': 'ok'}
        snapshot = self.stats.snapshot(self.admission, self.engine)
        return {'status': 'ok', 'model': self.served.base_name, **snapshot}

    def begin_shutdown(self) -> None:
        """Called on the server's loop when it stops accepting connections (SIGTERM, Ctrl-C)."""
        timeout = self.config.shutdown_timeout
        running, waiting = self.admission.running_requests, self.admission.waiting
        logger.info(f'shutting down: {running} running and {waiting} waiting requests get {timeout:g} s to finish '
                    '(--shutdown_timeout)')
        self.shutdown.begin(timeout)


class _SlotContext:
    """`async with server._slot(n)`: a slot for the body, with QueueFull turned into a 429."""

    def __init__(self, server: Server, weight: int):
        self.server, self.weight = server, weight

    async def __aenter__(self):
        await self.server._acquire(self.weight)

    async def __aexit__(self, *exc):
        self.server._release(self.weight)


class GuardedStream(StreamingResponse):
    """A StreamingResponse that runs `on_close` however it ends, even when the client left before the
    first byte and the body was never iterated (the body's own `finally` would never run then)."""

    def __init__(self, content, on_close: Callable[[], None], **kwargs):
        super().__init__(content, **kwargs)
        self._on_close = on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()
            self._on_close()


async def unless_disconnected(request: Request, coroutine):
    """Await `coroutine`, cancelling it (and its slot and engine request) if the client hangs up first."""
    work = asyncio.ensure_future(coroutine)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
        watcher.cancel()
    if work.cancelled():
        raise client_closed()
    return work.result()


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the body is already read, so the next message is the disconnect)."""
    while (await request.receive())['type'] != 'http.disconnect':
        pass


async def _next_chunk(chunks: AsyncIterator, cut: asyncio.Future, remaining: Optional[float]):
    """The stream's next chunk; StopAsyncIteration at its end, TimeoutError past `remaining` seconds, a 503 APIError
    once the shutdown cut has come. The engine's step is cancelled in the two last cases (and when we are)."""
    step = asyncio.ensure_future(chunks.__anext__())
    try:
        done, _ = await asyncio.wait({step, cut}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not step.done():
            step.cancel()
            await asyncio.gather(step, return_exceptions=True)
    if step in done:
        return step.result()
    raise shutting_down() if cut in done else asyncio.TimeoutError()


async def gather_or_cancel(coroutines: list) -> list:
    """Results of all coroutines in order; the first failure cancels the others, so none runs on unobserved."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _once(function: Callable[[], None]) -> Callable[[], None]:
    done = []

    def wrapper():
        if not done:
            done.append(True)
            function()

    return wrapper


def create_app(engine, config: Optional[ServerConfig] = None) -> FastAPI:
    """The ASGI app serving `engine` (the caller keeps ownership of the engine and closes it)."""
    server = Server(engine, config or ServerConfig())

    async def lifespan(app: FastAPI):
        task = None
        if server.config.log_interval and server.config.log_interval > 0:
            periodic = PeriodicLogger(server.stats, server.admission, engine, server.config.log_interval)
            task = asyncio.create_task(periodic.run())
        yield
        if task is not None:
            task.cancel()

    # FastAPI's own docs routes would answer without the key: ours below take it like every /v1 route
    app = FastAPI(title='swift deploy', lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = server
    _add_error_handlers(app)

    async def require_key(request: Request) -> None:
        check_api_key(request.headers.get('authorization'), server.config.api_key)

    async def accepting() -> None:
        server.shutdown.refuse_if_begun()

    authorized = [Depends(require_key)]
    generating = [Depends(require_key), Depends(accepting)]
    app.add_api_route('/health', server.health, methods=['GET'])
    app.add_api_route('/v1/models', lambda: server.served.listing(), methods=['GET'], dependencies=authorized)
    app.add_api_route('/v1/chat/completions', server.chat_completions, methods=['POST'], dependencies=generating)
    app.add_api_route('/v1/completions', server.completions, methods=['POST'], dependencies=generating)
    app.add_api_route('/v1/embeddings', server.embeddings, methods=['POST'], dependencies=generating)
    for path in ('/v1/rerank', '/rerank'):
        app.add_api_route(path, server.rerank, methods=['POST'], dependencies=generating)
    app.add_api_route('/v1/classify', server.classify, methods=['POST'], dependencies=generating)
    if server.config.enable_docs:
        _add_docs(app, authorized)
    return app


def _add_docs(app: FastAPI, authorized: list) -> None:
    """/openapi.json, /docs (Swagger UI) and /redoc, behind the same key as the API."""
    app.add_api_route('/openapi.json', lambda: JSONResponse(app.openapi()), methods=['GET'],
                      dependencies=authorized, include_in_schema=False)
    app.add_api_route('/docs', lambda: get_swagger_ui_html(openapi_url='/openapi.json', title=app.title),
                      methods=['GET'], dependencies=authorized, include_in_schema=False)
    app.add_api_route('/redoc', lambda: get_redoc_html(openapi_url='/openapi.json', title=app.title),
                      methods=['GET'], dependencies=authorized, include_in_schema=False)


def _add_error_handlers(app: FastAPI) -> None:

    def respond(error: APIError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    @app.exception_handler(APIError)
    async def api_error(request: Request, error: APIError):
        return respond(error)

    @app.exception_handler(SwiftError)  # InferError included: a request the engine or template refused
    async def swift_error(request: Request, error: SwiftError):
        return respond(from_exception(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        kind = 'not_found_error' if error.status_code == 404 else 'invalid_request_error'
        return respond(APIError(error.status_code, str(error.detail), type=kind, headers=error.headers))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        return respond(bad_request(str(error)))

    @app.exception_handler(Exception)
    async def any_error(request: Request, error: Exception):
        api_error = from_exception(error)
        if api_error.status >= 500:
            logger.exception(f'{request.method} {request.url.path} failed', exc_info=error)
        return respond(api_error)

