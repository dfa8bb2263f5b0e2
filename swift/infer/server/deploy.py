"""`swift deploy`, top to bottom: parse → check → bind the port → engine → app → serve until interrupted.

    result = deploy_main(['--model', 'smollm2-135m-instruct', '--port', '8000'])   # returns when the server stops

SIGINT (Ctrl-C) and SIGTERM (docker stop, Kubernetes) both shut down gracefully (serving.py) and return here, so
the engine is closed and the exit status is 0.
"""
import contextlib
import signal
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence, Union

from swift.arguments import DeployArguments
from swift.utils import SwiftError, get_logger
from swift.utils.args import parse_args

from ..checks import check_infer_args
from ..main import build_engine
from .app import ServerConfig, create_app
from .schemas import GenerationDefaults

logger = get_logger('swift.deploy')
LOOPBACK_HOSTS = ('127.0.0.1', 'localhost', '::1')


@dataclass
class DeployResult:
    """Where the server listened and what it served, once it has stopped."""
    url: str
    served_models: List[str] = field(default_factory=list)


def server_config(args: DeployArguments) -> ServerConfig:
    defaults = GenerationDefaults(max_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                                  top_k=args.top_k, min_p=args.min_p, repetition_penalty=args.repetition_penalty,
                                  stop=list(args.stop_words))
    return ServerConfig(served_model_name=args.served_model_name, owned_by=args.owned_by,
                        adapter_specs=list(args.adapters),
                        api_key=args.api_key, max_running=args.max_batch_size, max_queue_size=args.max_queue_size,
                        request_timeout=args.request_timeout or None, log_interval=args.log_interval,
                        max_request_bytes=args.max_request_bytes or None, body_timeout=args.body_timeout or None,
                        max_embedding_inputs=args.max_embedding_inputs, shutdown_timeout=args.shutdown_timeout,
                        enable_docs=args.enable_docs, defaults=defaults)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket, bound before uvicorn starts so that the real port (for --port 0) is known."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise SwiftError(f'cannot listen on {host}:{port}: {e.strerror} (choose another --port or --host)') from None
    sock.listen(2048)
    return sock


class Terminated(Exception):
    """SIGTERM, as uvicorn raises it again once its graceful shutdown is over."""


@contextlib.contextmanager
def sigterm_returns():
    """While serving, a SIGTERM ends like Ctrl-C: uvicorn shuts down, then raises the signal again once its own
    handler is gone; the default action would kill the process there, before the engine is closed."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread takes signals
        yield
        return

    def terminated(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(app, sock: socket.socket, access_log: bool = False) -> None:
    """Run the app on an already bound socket until SIGINT or SIGTERM, then shut down gracefully."""
    from .serving import graceful_server  # uvicorn, only once there is something to serve
    with sigterm_returns():
        graceful_server(app, log_level='info', access_log=access_log).run(sockets=[sock])


def deploy_main(args: Union[DeployArguments, Sequence[str], Dict[str, Any], None] = None, **kwargs) -> DeployResult:
    """Run exactly what `swift deploy` runs; returns when the server has stopped (Ctrl-C, SIGTERM)."""
    args = check_infer_args(parse_args(DeployArguments, args, **kwargs))
    if args.host not in LOOPBACK_HOSTS and not args.api_key:
        logger.warning(f'listening on {args.host} without --api_key: anyone who can reach this port can use the model')
    sock = bind_socket(args.host, args.port)  # before loading: a taken port fails in a second, not a minute
    engine = build_engine(args)  # the same engine `swift infer` builds: a reward model answers with its score
    host, port = sock.getsockname()[:2]
    url = f'http://{f"[{host}]" if ":" in host else host}:{port}/v1'
    served = []
    try:
        app = create_app(engine, server_config(args))
        served = list(app.state.server.served.names)
        logger.info(f'serving {", ".join(served)} at {url} '
                    f'(max_batch_size {args.max_batch_size}, max_queue_size {args.max_queue_size})')
        serve(app, sock, access_log=args.access_log)
    except (KeyboardInterrupt, Terminated):  # uvicorn has shut down gracefully and re-raised the signal
        logger.info('server stopped')
    finally:
        engine.close()
        sock.close()
    return DeployResult(url, served)
