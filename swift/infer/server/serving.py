"""uvicorn for `swift deploy`, with a graceful shutdown the app takes part in.

    graceful_server(app, log_level='info').run(sockets=[sock])   # until SIGINT/SIGTERM, then a graceful shutdown

uvicorn, on a signal, stops accepting connections and waits for the running ones, then cancels whatever is left
(a stream then stops mid-way: no error event, no [DONE]). Its app hears of the shutdown only at the end (ASGI
lifespan). GracefulServer tells the app at the start instead, so the app can refuse new requests and, after
--shutdown_timeout, end each remaining one itself with an OpenAI-style error; uvicorn's own deadline comes
CUT_MARGIN_S later, for those last events to be written.
"""
import socket
from typing import Callable, List, Optional

import uvicorn

CUT_MARGIN_S = 5.0


class GracefulServer(uvicorn.Server):

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]):
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: Optional[List[socket.socket]] = None) -> None:
        self._on_shutdown()  # before uvicorn starts waiting on the requests this ends
        await super().shutdown(sockets=sockets)


def graceful_server(app, **config) -> GracefulServer:
    """A GracefulServer for an app of create_app (uvicorn.Config keywords: log_level, access_log, ...)."""
    state = app.state.server
    timeout = state.config.shutdown_timeout
    uvicorn_config = uvicorn.Config(app, timeout_graceful_shutdown=timeout + CUT_MARGIN_S, **config)
    return GracefulServer(uvicorn_config, on_shutdown=state.begin_shutdown)
