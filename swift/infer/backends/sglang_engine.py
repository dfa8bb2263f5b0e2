"""SglangEngine: SGLang's offline engine (sglang.Engine) behind the InferEngine interface.

Prompts are swift's template encodings sent as input_ids; SGLang keeps its tokenizer for stop
strings and detokenization. Adapters are SGLang LoRA paths chosen per request (lora_path=name).
n > 1 runs n requests with seeds seed, seed+1, ... (fan_out), like TransformersEngine.
"""
from typing import Any, AsyncIterator, Dict, List, Optional, Sequence, Tuple

from swift.utils import get_logger

from ..engine import ChoiceUpdate, PreparedRequest
from ..protocol import LogprobEntry, RequestConfig, TopLogprob
from .base import CumulativeOutputs, ExternalEngine, choice_seed, fan_out, import_backend, max_lora_rank

logger = get_logger()

INSTALL = 'pip install "sglang[all]"'


def sglang_engine_kwargs(model_dir: str, *, torch_dtype: Any = 'auto', max_batch_size: int = 256,
                         adapters: Sequence[Tuple[str, str]] = (), seed: int = 42, trust_remote_code: bool = False,
                         engine_kwargs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Keywords of sglang.Engine (its ServerArgs)."""
    kwargs: Dict[str, Any] = dict(model_path=str(model_dir), dtype=str(torch_dtype or 'auto').replace('torch.', ''),
                                  max_running_requests=max_batch_size, random_seed=seed,
                                  trust_remote_code=trust_remote_code, log_level='error')
    if adapters:
        kwargs.update(enable_lora=True, lora_paths={name: path for name, path in adapters},
                      max_loras_per_batch=len(adapters), max_lora_rank=max_lora_rank([p for _, p in adapters]))
    kwargs.update(engine_kwargs or {})
    return kwargs


def sglang_sampling_params(config: RequestConfig, stop_token_ids: List[int], seed: Optional[int]) -> Dict[str, Any]:
    """SGLang's sampling_params dict for one choice."""
    params = dict(max_new_tokens=config.max_tokens, temperature=config.temperature, top_p=config.top_p,
                  top_k=config.top_k if config.top_k and config.top_k > 0 else -1, min_p=config.min_p,
                  repetition_penalty=config.repetition_penalty, presence_penalty=config.presence_penalty,
                  frequency_penalty=config.frequency_penalty, stop=list(config.stop_list),
                  stop_token_ids=list(stop_token_ids), skip_special_tokens=True)
    if seed is not None:
        params['sampling_seed'] = seed
    if config.ignore_eos:
        params.update(ignore_eos=True, stop_token_ids=[])
    return params


def sglang_logprobs(meta_info: Dict[str, Any], start: int, top: Optional[int], token_text) -> List[LogprobEntry]:
    """Entries from meta_info output_token_logprobs [(logprob, id, text)] and output_top_logprobs."""
    chosen = (meta_info.get('output_token_logprobs') or [])[start:]
    tops = (meta_info.get('output_top_logprobs') or [])[start:]
    entries = []
    for i, item in enumerate(chosen):
        logprob, token_id = item[0], item[1]
        text = item[2] if len(item) > 2 and item[2] is not None else token_text(token_id)
        alternatives = []
        for alt in (tops[i] if i < len(tops) and tops[i] else [])[:top or 0]:
            alt_text = alt[2] if len(alt) > 2 and alt[2] is not None else token_text(alt[1])
            alternatives.append(TopLogprob(alt_text, float(alt[0]), list(alt_text.encode('utf-8'))))
        entries.append(LogprobEntry(text, float(logprob), list(text.encode('utf-8')), alternatives, token_id))
    return entries


class SglangEngine(ExternalEngine):
    backend = 'sglang'

    def __init__(self, model: str, *, template: Optional[str] = None, default_system: Optional[str] = None,
                 adapters: Sequence[str] = (), merge_lora: bool = False, max_batch_size: int = 256,
                 torch_dtype: Any = 'auto', seed: int = 42, engine_kwargs: Optional[Dict[str, Any]] = None,
                 **hub_kwargs):
        sglang = import_backend('sglang', self.backend, INSTALL)
        model_dir = self._load_tokenizer_and_template(model, template, default_system, hub_kwargs)
        specs = self._set_adapters(adapters, merge_lora)
        kwargs = sglang_engine_kwargs(model_dir, torch_dtype=torch_dtype, max_batch_size=max_batch_size,
                                      adapters=specs, seed=seed,
                                      trust_remote_code=bool(hub_kwargs.get('trust_remote_code')),
                                      engine_kwargs=engine_kwargs)
        logger.info(f'starting SGLang: {kwargs}')
        self.engine = sglang.Engine(**kwargs)
        self.max_model_len = getattr(getattr(self.engine, 'tokenizer_manager', None), 'context_len', None)
        self.max_batch_size = max_batch_size
        self._stop_ids = self.stop_token_ids()

    def _generate(self, prepared: PreparedRequest) -> AsyncIterator[List[ChoiceUpdate]]:
        return fan_out(prepared.config.n, lambda index: self._one_choice(prepared, index))

    async def _one_choice(self, prepared: PreparedRequest, index: int) -> AsyncIterator[ChoiceUpdate]:
        config = prepared.config
        params = sglang_sampling_params(config, self._stop_ids, choice_seed(prepared, index))
        kwargs: Dict[str, Any] = dict(input_ids=list(prepared.prompt_ids), sampling_params=params, stream=True)
        if prepared.adapter:
            kwargs['lora_path'] = prepared.adapter
        if config.logprobs:
            kwargs.update(return_logprob=True, top_logprobs_num=config.top_logprobs or 0)
        outputs = CumulativeOutputs(1)
        reported = 0
        token_text = lambda i: self.tokenizer.decode([i])  # noqa: E731
        stream = await self.engine.async_generate(**kwargs)
        async for chunk in stream:  # text and counts so far; finish_reason is set on the last chunk
            meta = chunk.get('meta_info', {})
            entries = []
            if config.logprobs:
                entries = sglang_logprobs(meta, reported, config.top_logprobs, token_text)
                reported += len(entries)
            finish = meta.get('finish_reason')
            reason = finish.get('type') if isinstance(finish, dict) else finish
            update = outputs.update(0, chunk.get('text', ''), meta.get('completion_tokens', 0), reason, entries)
            if update is not None:
                update.index = index
                yield update

    def close(self) -> None:
        shutdown = getattr(getattr(self, 'engine', None), 'shutdown', None)
        if shutdown is not None:
            shutdown()
        super().close()
