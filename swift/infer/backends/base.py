"""What the external backends (vLLM, SGLang, LMDeploy) share: importing the library lazily,
tokenizer and template from swift's loader (never the library's own chat template), adapter
specs, stop token ids, and turning a library's cumulative outputs into ChoiceUpdates."""
import asyncio
import importlib
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Sequence, Tuple

from swift.model.hqq_format import is_hqq_dir
from swift.model.loader import get_model_tokenizer, needs_remote_code, remote_code_refused
from swift.template import get_template
from swift.utils import SwiftError, get_logger
from swift.utils.checkpoint import ADAPTER_CONFIG, parse_adapter_spec, read_json_object

from ..engine import ChoiceUpdate, InferEngine, PreparedRequest
from ..protocol import LogprobEntry

logger = get_logger()


def import_backend(module: str, backend: str, install: str):
    """The backend's module, or a one-line SwiftError saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split('.')[0]
        if getattr(e, 'name', None) in (top, module):
            raise SwiftError(f'--infer_backend {backend} needs the {top} package, which is not installed: '
                             f'{install}') from None
        raise SwiftError(f'--infer_backend {backend}: {top} is installed but cannot be imported ({e}); '
                         f'reinstall it: {install}') from None


class ExternalEngine(InferEngine):
    """Base of the engines that hand token ids to another inference library."""

    backend = ''

    def _load_tokenizer_and_template(self, model: str, template: Optional[str], default_system: Optional[str],
                                     hub_kwargs: Dict[str, Any]) -> str:
        """Load the tokenizer (no weights) and swift's template; returns the local model directory."""
        hub = {k: v for k, v in hub_kwargs.items() if k in ('model_type', 'use_hf', 'revision', 'offline',
                                                             'trust_remote_code')}
        _, tokenizer = get_model_tokenizer(model, load_model=False, **hub)
        info = tokenizer.model_info
        if not hub_kwargs.get('trust_remote_code') and needs_remote_code(info.model_dir):
            raise remote_code_refused(info.model_dir)  # before the library, whatever its own rule
        if is_hqq_dir(info.model_dir):  # the library would look for weights that are not there
            raise SwiftError(f'{info.model_dir} is in hqq\'s own format (qmodel.pt, swift export --quant_method hqq), '
                             f'which {self.backend} does not read: serve it with --infer_backend transformers, or '
                             'export the source model with --quant_method gptq|awq|fp8 for this backend')
        self.tokenizer = tokenizer
        self.template = get_template(template or info.template or info.model_dir, tokenizer=tokenizer,
                                     default_system=default_system)
        self.model_name = info.model_id
        return info.model_dir

    def _set_adapters(self, adapters: Sequence[str], merge_lora: bool) -> List[Tuple[str, str]]:
        """[(name, directory)] of the adapters, checked; the first is the default of requests."""
        if merge_lora:
            raise SwiftError(f'--merge_lora with --infer_backend {self.backend}: merge first with `swift export '
                             '--adapters CKPT --merge_lora true` and pass the merged directory as --model')
        specs = [parse_adapter_spec(spec, i) for i, spec in enumerate(adapters)]
        for _, path in specs:
            if not (Path(path).expanduser() / ADAPTER_CONFIG).is_file():
                raise SwiftError(f'{path} is not an adapter directory (no {ADAPTER_CONFIG})')
        self.adapters = [name for name, _ in specs]
        self.default_adapter = self.adapters[0] if specs else None
        return specs

    def stop_token_ids(self) -> List[int]:
        """EOS and the template's single-token end-of-turn words."""
        ids = []
        vocab = self.tokenizer.get_vocab()
        for token_id in [self.tokenizer.eos_token_id] + [vocab.get(w) for w in self.template.stop_words]:
            if token_id is not None and token_id not in ids:
                ids.append(token_id)
        return ids


def max_lora_rank(adapter_dirs: Sequence[str]) -> int:
    """The largest LoRA rank among adapters (vLLM and SGLang size their LoRA buffers with it)."""
    ranks = [int(read_json_object(Path(d) / ADAPTER_CONFIG).get('r', 8)) for d in adapter_dirs]
    return max(ranks, default=8)


class CumulativeOutputs:
    """ChoiceUpdates from a library that reports each choice's text and token ids so far."""

    def __init__(self, n: int):
        self.text = [''] * n
        self.tokens = [0] * n
        self.finished = [False] * n

    def update(self, index: int, text: str, num_tokens: int, finish_reason: Optional[str],
               logprobs: Optional[List[LogprobEntry]] = None) -> Optional[ChoiceUpdate]:
        """The difference from what was reported before; None when nothing changed."""
        if self.finished[index]:
            return None
        previous = self.text[index]
        delta = text[len(previous):] if text.startswith(previous) else text
        new_tokens = max(0, num_tokens - self.tokens[index])
        self.text[index] = previous + delta
        self.tokens[index] = max(num_tokens, self.tokens[index])
        self.finished[index] = finish_reason is not None
        if not delta and not new_tokens and finish_reason is None:
            return None
        return ChoiceUpdate(index, delta, new_tokens, list(logprobs or []), finish_reason)


async def fan_out(n: int,
                  one_choice: Callable[[int], AsyncIterator[ChoiceUpdate]]) -> AsyncIterator[List[ChoiceUpdate]]:
    """Run n single-choice generations concurrently (for libraries without n > 1) and merge their updates."""
    if n == 1:
        async for update in one_choice(0):
            yield [update]
        return
    queue: asyncio.Queue = asyncio.Queue()
    done = object()

    async def pump(index: int):
        try:
            async for update in one_choice(index):
                await queue.put(update)
        except BaseException as e:  # noqa: BLE001 — handed to the consumer
            await queue.put(e)
        finally:
            await queue.put(done)

    tasks = [asyncio.ensure_future(pump(i)) for i in range(n)]
    running = n
    try:
        while running:
            item = await queue.get()
            if item is done:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield [item]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def choice_seed(prepared: PreparedRequest, index: int) -> Optional[int]:
    seed = prepared.config.seed
    return None if seed is None else seed + index
