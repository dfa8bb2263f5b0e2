"""`swift deploy`: an OpenAI-compatible HTTP server over any inference engine (FastAPI + uvicorn).

    from swift.infer.server import create_app, ServerConfig
    app = create_app(TransformersEngine('smollm2-135m-instruct'), ServerConfig(api_key='sk-...'))

    swift deploy --model smollm2-135m-instruct --port 8000

Modules: app (routes), body (reading and checking a request body: size, time, depth, text),
schemas (request bodies), shaping (response bodies), admission (slots and the bounded waiting
line), auth, models (served names ↔ adapters), embeddings, stats (periodic log line), errors
(OpenAI-style error bodies), shutdown (what a graceful shutdown does to running requests),
serving (uvicorn, telling the app when shutdown begins) and deploy (the command; its flags are
swift.arguments.DeployArguments).
FastAPI is imported only when the app is built, so `import swift.infer.server` stays cheap.
"""
from swift.utils.lazy import lazy_exports

_LAZY = {
    'create_app': 'swift.infer.server.app',
    'ServerConfig': 'swift.infer.server.app',
    'DeployResult': 'swift.infer.server.deploy',
    'deploy_main': 'swift.infer.server.deploy',
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
