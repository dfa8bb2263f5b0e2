"""Running swift's hub code in isolation: a clean environment, subprocess runners (model downloads and
dataset loads), tiny model files."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

REPO = Path(__file__).resolve().parents[2]

# Variables that would make a subprocess use the developer's own hubs, tokens, caches or offline mode.
HUB_VARIABLES = ('HF_ENDPOINT', 'HF_HOME', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HUB_OFFLINE',
                 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE', 'HF_DATASETS_CACHE', 'HF_TOKEN',
                 'HUGGING_FACE_HUB_TOKEN', 'USE_HF', 'MODELSCOPE_ENDPOINT', 'MODELSCOPE_DOMAIN', 'MODELSCOPE_CACHE',
                 'MODELSCOPE_OFFLINE', 'MODELSCOPE_API_TOKEN', 'SWIFT_CACHE')

_RUNNER = """
import json, sys
from swift.model.hub import {function}
from swift.utils import SwiftError
try:
    path = {function}(**json.loads(sys.argv[1]))
except SwiftError as e:
    print(json.dumps({{'error': str(e), 'type': type(e).__name__}}))
    sys.exit(1)
print(json.dumps({{'path': str(path)}}))
"""


# The fake hubs listen on 127.0.0.1: a proxy from the developer's shell must not stand in between.
PROXY_VARIABLES = ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy')


def isolated_env(tmp_path: Path, **extra: str) -> Dict[str, str]:
    """os.environ without hub or proxy variables; every hub cache and swift's cache under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in HUB_VARIABLES + PROXY_VARIABLES}
    env.update(HF_HOME=str(tmp_path / 'hf'), MODELSCOPE_CACHE=str(tmp_path / 'modelscope'),
               SWIFT_CACHE=str(tmp_path / 'swift'), HF_HUB_DISABLE_PROGRESS_BARS='1', HF_HUB_DISABLE_TELEMETRY='1')
    env.update(extra)
    return env


def run_hub(env: Dict[str, str], function: str = 'download_model', **kwargs) -> Tuple[dict, str]:
    """Call swift.model.hub.<function>(**kwargs) in a fresh interpreter: ({'path'} or {'error', 'type'}, stderr)."""
    done = subprocess.run([sys.executable, '-c', _RUNNER.format(function=function), json.dumps(kwargs)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    assert lines, f'no result (rc {done.returncode}): {done.stderr}'
    return json.loads(lines[-1]), done.stderr


def closed_port() -> int:
    """A local port with nothing listening: connections are refused at once."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def make_weights(size: int = 300_000, seed: int = 0) -> bytes:
    """A small real safetensors file (one float32 tensor of about `size` bytes)."""
    import numpy as np
    from safetensors.numpy import save
    values = np.random.default_rng(seed).standard_normal(size // 4, dtype=np.float32)
    return save({'model.embed_tokens.weight': values.reshape(-1, 100)}, metadata={'format': 'pt'})


def tiny_model_files(weights: bytes, extra=()) -> Dict[str, bytes]:
    """config.json, tokenizer files, README and `weights` as model.safetensors; `extra` adds (path, bytes)."""
    files = {
        'config.json': json.dumps({'architectures': ['LlamaForCausalLM'], 'model_type': 'llama', 'hidden_size': 16,
                                   'num_hidden_layers': 1, 'vocab_size': 32}).encode(),
        'tokenizer.json': json.dumps({'version': '1.0',
                                      'model': {'type': 'WordLevel', 'vocab': {'<unk>': 0}}}).encode(),
        'tokenizer_config.json': json.dumps({'model_max_length': 2048, 'eos_token': '<unk>'}).encode(),
        'special_tokens_map.json': b'{"eos_token": "<unk>"}',
        'README.md': b'# tiny\nA tiny model served by a fake hub.\n',
        '.gitattributes': b'*.safetensors filter=lfs diff=lfs merge=lfs -text\n',
        'model.safetensors': weights,
    }
    files.update(dict(extra))
    return files



_DATASETS_RUNNER = """
import json, sys
from swift.dataset import load_datasets
from swift.utils import SwiftError
for call in json.loads(sys.argv[1]):
    try:
        result = load_datasets(**call)
        out = {'rows': list(result.train), 'locations': list(result.train.locations),
               'sources': [s.source for s in result.report.sources]}
    except SwiftError as e:
        out = {'error': str(e), 'type': type(e).__name__}
    print(json.dumps(out, default=str), flush=True)
"""


def run_load_datasets(env: Dict[str, str], *calls) -> Tuple[List[dict], str]:
    """swift.dataset.load_datasets(**call, log=False) for each call, in order, in one fresh interpreter
    (a call is a kwargs dict, or just the `dataset` argument): ([{'rows', 'locations', 'sources'} or
    {'error', 'type'} per call], stderr)."""
    kwargs = [{'log': False, **(c if isinstance(c, dict) else {'dataset': c})} for c in calls]
    done = subprocess.run([sys.executable, '-c', _DATASETS_RUNNER, json.dumps(kwargs)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{')]
    assert len(results) == len(calls), f'rc {done.returncode}: {done.stderr}'
    return results, done.stderr
