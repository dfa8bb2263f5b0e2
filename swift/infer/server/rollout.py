"""`swift rollout`: a model served for the rollouts of `swift rlhf --use_vllm true --vllm_mode server`.

The routes follow ms-swift's rollout server (itself TRL's `vllm-serve`): GET /health/, /get_world_size/,
/get_engine_type/; POST /infer/ (a list of requests with one request_config → one chat completion per request,
token ids included); POST /reset_prefix_cache/, /close_communicator/. The engine is the one `swift infer` builds
for --infer_backend (TransformersEngine on CPU; vLLM where installed).

Weight sync: ms-swift and TRL broadcast the trainer's weights over NCCL (/init_communicator/, then
/update_named_param/ per tensor), which needs GPUs on both sides. Here the trainer POSTs them to /update_weights/
as one safetensors body (base-model names, LoRA merged); the server copies them into its model between
requests, so the next rollout samples from the trained policy. /init_communicator/ answers 501 saying so.
Weight sync is implemented for the transformers engine; other backends serve /infer/ and refuse updates.
"""
import asyncio
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Union

from swift.arguments import RolloutServerArguments
from swift.utils import get_logger
from swift.utils.args import parse_args

from ..checks import check_infer_args
from ..main import build_engine
from ..protocol import InferRequest, RequestConfig

logger = get_logger()

CONFIG_KEYS = ('max_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty', 'stop', 'seed', 'n', 'logprobs')


@dataclass
class RolloutResult:
    url: str


def _choice(choice) -> Dict[str, Any]:
    """A choice as JSON, with the sampled token ids (the trainer scores exactly those tokens)."""
    data = choice.to_dict()
    if choice.logprobs is not None:
        data['token_ids'] = [entry.token_id for entry in choice.logprobs.content]
    return data


def load_weights(model, weights: Dict[str, Any]) -> int:
    """Copy named tensors into the model's parameters and buffers; unknown names are an error, listed."""
    import torch
    own = dict(model.named_parameters())
    own.update(model.named_buffers())
    unknown = sorted(set(weights) - set(own))
    if unknown:
        raise ValueError(f'{len(unknown)} weights the served model does not have, e.g. {unknown[:3]} (is the '
                         'trainer\'s --model the one this server serves?)')
    with torch.no_grad():
        for name, tensor in weights.items():
            if own[name].shape != tensor.shape:
                raise ValueError(f'{name}: shape {tuple(tensor.shape)} does not match the served {tuple(own[name].shape)}')
            own[name].copy_(tensor.to(device=own[name].device, dtype=own[name].dtype))
    return len(weights)


def create_rollout_app(engine):
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from ..transformers_engine import TransformersEngine
    app = FastAPI(title='swift rollout')
    syncs = isinstance(engine, TransformersEngine)  # its model is a torch module we can copy weights into
    lock = asyncio.Lock()  # a weight update waits for the rollouts in flight, and the next ones wait for it

    @app.get('/health/')
    async def health():
        return {'status': 'ok'}

    @app.get('/get_world_size/')
    async def world_size():
        return {'world_size': 1}

    @app.get('/get_engine_type/')
    async def engine_type():
        return {'engine_type': type(engine).__name__, 'weight_sync': syncs}

    @app.post('/infer/')
    async def infer(request: Request):
        body = await request.json()
        try:
            config = RequestConfig(**{k: v for k, v in (body.get('request_config') or {}).items() if k in CONFIG_KEYS})
            requests = [InferRequest(messages=r['messages'], tools=r.get('tools')) for r in body['infer_requests']]
        except (KeyError, TypeError, ValueError) as e:
            return JSONResponse({'error': f'bad /infer/ body: {e}'}, status_code=400)
        async with lock:
            seed = config.seed
            responses = []
            for index, infer_request in enumerate(requests):  # each prompt its own seed, as the trainer's engine
                if seed is not None:
                    config.seed = seed + 1000 * index
                responses.append(engine.infer_async(infer_request, RequestConfig(**vars(config))))
            responses = await asyncio.gather(*responses)
        return [{'choices': [_choice(c) for c in r.choices], 'usage': r.usage.to_dict()} for r in responses]

    @app.post('/update_weights/')
    async def update_weights(request: Request):
        from safetensors.torch import load
        if not syncs:
            return JSONResponse({'error': f'{type(engine).__name__} takes no weight updates; serve with '
                                          '--infer_backend transformers'}, status_code=501)
        data = await request.body()
        async with lock:
            try:
                count = load_weights(engine.model, load(data))
            except Exception as e:  # a bad body or a foreign model: the trainer is told why
                return JSONResponse({'error': str(e)}, status_code=400)
        return {'updated': count}

    @app.post('/reset_prefix_cache/')
    async def reset_prefix_cache():
        return {'status': 'ok'}  # the transformers engine keeps no cache between requests

    @app.post('/init_communicator/')
    async def init_communicator():
        return JSONResponse({'error': 'NCCL weight sync (TRL/ms-swift) needs GPUs; this server takes weights over '
                                      'HTTP: POST /update_weights/ (swift rlhf --vllm_mode server does)'},
                            status_code=501)

    @app.post('/close_communicator/')
    async def close_communicator():
        return {'status': 'ok'}

    return app


def rollout_main(args: Union[RolloutServerArguments, Sequence[str], Dict[str, Any], None] = None,
                 **kwargs) -> RolloutResult:
    """Run exactly what `swift rollout` runs; returns when the server has stopped (Ctrl-C, SIGTERM)."""
    import uvicorn

    from .deploy import Terminated, bind_socket, sigterm_returns
    args = check_infer_args(parse_args(RolloutServerArguments, args, **kwargs))
    sock = bind_socket(args.host, args.port)
    engine = build_engine(args)
    host, port = sock.getsockname()[:2]
    url = f'http://{host}:{port}'
    try:
        logger.info(f'rollout server for {args.model} at {url} ({type(engine).__name__})')
        with sigterm_returns():
            uvicorn.Server(uvicorn.Config(create_rollout_app(engine), log_level='warning')).run(sockets=[sock])
    except (KeyboardInterrupt, Terminated):
        logger.info('rollout server stopped')
    finally:
        engine.close()
        sock.close()
    return RolloutResult(url)


__all__: List[str] = ['create_rollout_app', 'rollout_main', 'load_weights']
