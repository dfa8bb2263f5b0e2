"""Sampling completions from the policy while it trains (PPO and GRPO).

The PyTorch engine (swift.infer.TransformersEngine) runs on the training model itself, so every rollout uses
the current weights with nothing to copy: the model is switched to eval mode for the rollout and
back to training mode after it. The completion token ids come from the engine's per-token logprob
entries, so training scores exactly the tokens that were sampled (stop token included).

--use_vllm generates with vLLM's offline engine (vllm.LLM) in the training process instead, the way TRL's
GRPOTrainer does in colocate mode: the engine is built on first use from the base model's directory, and before
every rollout the policy's current weights (LoRA merged in) are copied into it with the vLLM model's
load_weights. Written against vLLM's documented LLM API and checked with a stand-in module, not on a GPU.
--sleep_level puts that engine to sleep between rollouts; --offload_model / --offload_optimizer move the policy
and the optimizer state to CPU while it generates (verified on GPU: no).

--use_vllm true --vllm_mode server generates on a `swift rollout` server (swift.infer.server.rollout): before each
rollout the policy's weights are POSTed to its /update_weights/, then the prompts to its /infer/.
"""
import asyncio
import contextlib
import importlib.util
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

from swift.infer.protocol import InferRequest, RequestConfig
from swift.infer.transformers_engine import TransformersEngine
from swift.utils import SwiftError, get_logger
from swift.utils.device import dtype_name

logger = get_logger()


@dataclass
class Completion:
    token_ids: List[int]
    text: str
    finish_reason: str  # 'stop' (ended by itself) or 'length' (cut at --max_new_tokens)


class _Rollout:
    """What every rollout engine is given: the policy, how to encode prompts, the run's arguments."""

    def __init__(self, model, tokenizer, template, args, max_batch_size: int):
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.args = args
        self.max_batch_size = max(max_batch_size, 1)


class PtRollout(_Rollout):
    """Completions from the training model through TransformersEngine (CPU or GPU, any transformers model)."""

    _engine = None

    def _get_engine(self):
        if self._engine is None:
            self._engine = TransformersEngine(self.model, self.tokenizer, template=self.template,
                                              max_batch_size=self.max_batch_size)
        return self._engine

    def generate(self, rows: Sequence[Dict[str, Any]], n: int, seed: int) -> List[List[Completion]]:
        """n completions for each row's messages, all prompts in one batch.

        Each prompt gets its own seed (seed + 1000 × its index; its choices seed + 1000 × index + i), so
        different prompts do not share one random stream.
        """
        args = self.args
        was_training = self.model.training
        engine = self._get_engine()  # puts the model in eval mode
        self.model.eval()

        async def answer_all():
            return await asyncio.gather(*[
                engine.infer_async(InferRequest(messages=row['messages'], tools=row.get('tools'), **_media(row)),
                                   RequestConfig(max_tokens=args.max_new_tokens, temperature=args.temperature,
                                                 top_p=args.top_p, top_k=args.top_k, min_p=args.min_p,
                                                 repetition_penalty=args.repetition_penalty, n=n,
                                                 seed=seed + 1000 * index, logprobs=True))
                for index, row in enumerate(rows)])

        try:
            # A thread of its own, so this works when the caller already runs an event loop (a notebook).
            with ThreadPoolExecutor(max_workers=1) as pool:
                responses = pool.submit(lambda: asyncio.run(answer_all())).result()
        finally:
            self.model.train(was_training)
        return [[Completion([entry.token_id for entry in choice.logprobs.content], choice.message.content,
                            choice.finish_reason) for choice in response.choices] for response in responses]

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def policy_weights(model) -> List[Tuple[str, Any]]:
    """(name, tensor) pairs of the policy as the base model names them, LoRA merged in (TRL's _move_model_to_vllm).

    For a PEFT model the adapters are merged into the base layers, the parameters read with PEFT's prefixes
    stripped ('base_model.model.', '.base_layer', 'modules_to_save.default.') and lora_ / original_module
    entries skipped, and the adapters unmerged again; the tensors are copies, so unmerging leaves them as read.
    """
    import torch
    is_peft = hasattr(model, 'peft_config') and hasattr(model, 'merge_adapter')
    with torch.no_grad():
        if not is_peft:
            return [(name, param.detach().clone()) for name, param in model.named_parameters()]
        model.merge_adapter()
        try:
            weights = []
            for name, param in model.named_parameters():
                if 'lora_' in name or 'original_module' in name:
                    continue
                name = name.removeprefix('base_model.model.').replace('.base_layer', '')
                name = name.replace('modules_to_save.default.', '')
                weights.append((name, param.detach().clone()))
            return weights
        finally:
            model.unmerge_adapter()


def _base_model_dir(model, args) -> str:
    info = getattr(model, 'model_info', None)
    if getattr(info, 'model_dir', None):
        return str(info.model_dir)
    name = getattr(getattr(model, 'config', None), '_name_or_path', None)
    return str(name or args.model)


def _vllm_available() -> bool:
    if sys.modules.get('vllm') is not None:
        return True
    try:
        return importlib.util.find_spec('vllm') is not None
    except (ImportError, ValueError):
        return False


def _media(row: Dict[str, Any]) -> Dict[str, Any]:
    """A prompt row's images, videos, audios (and grounding objects) as InferRequest takes them."""
    media = {key: list(row[key]) for key in ('images', 'videos', 'audios') if row.get(key)}
    if row.get('objects'):
        media['objects'] = row['objects']
    return media


def _refuse_media(rows: Sequence[Dict[str, Any]], backend: str) -> None:
    if any(_media(row) for row in rows):
        raise SwiftError(f'prompts with images, videos or audios are generated by the PyTorch engine only; {backend} '
                         'is given token ids without them: train with --use_vllm false')


def _free_port() -> int:
    """A TCP port on localhost that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('localhost', 0))
        return sock.getsockname()[1]


class VllmRollout(_Rollout):
    """Completions from vLLM's offline engine (vllm.LLM) in this process, fed the policy's weights every rollout.

    Like TRL's GRPOTrainer colocate mode: one engine built lazily from the base model's directory (it shares the
    GPU with training, so it takes --vllm_gpu_memory_utilization of it), prompts sent as swift-template token ids,
    and before each generation the current weights copied in through the vLLM model's load_weights.
    """

    llm = None  # built on first use

    def _llm_kwargs(self) -> Dict[str, Any]:
        args = self.args
        kwargs = dict(model=_base_model_dir(self.model, args), dtype=dtype_name(getattr(args, 'torch_dtype', 'auto')),
                      gpu_memory_utilization=args.vllm_gpu_memory_utilization, max_num_seqs=self.max_batch_size,
                      seed=args.seed, trust_remote_code=bool(getattr(args, 'trust_remote_code', False)),
                      # the engine runs inside this process (TRL colocate), so its model can take load_weights
                      distributed_executor_backend='external_launcher')
        if args.vllm_max_model_len:
            kwargs['max_model_len'] = args.vllm_max_model_len
        if self._sleep_level():
            kwargs['enable_sleep_mode'] = True
        return kwargs

    def _get_llm(self):
        if self.llm is None:
            import vllm
            # external_launcher reads torch.distributed's variables; one process when nothing launched us (a port
            # the OS says is free: a fixed one would meet another single-process run on the same machine)
            for key, value in (('RANK', '0'), ('LOCAL_RANK', '0'), ('WORLD_SIZE', '1'), ('MASTER_ADDR', 'localhost')):
                os.environ.setdefault(key, value)
            if 'MASTER_PORT' not in os.environ:
                os.environ['MASTER_PORT'] = str(_free_port())
            self.llm = vllm.LLM(**self._llm_kwargs())
        return self.llm

    def _stop_token_ids(self) -> List[int]:
        ids = set()
        generation_config = getattr(self.model, 'generation_config', None)
        for source in (self.tokenizer.eos_token_id, getattr(generation_config, 'eos_token_id', None)):
            ids.update(source if isinstance(source, (list, tuple)) else [source] if source is not None else [])
        vocab = self.tokenizer.get_vocab()
        ids.update(vocab[word] for word in self.template.stop_words if word in vocab)
        return sorted(ids)

    def encode(self, row: Dict[str, Any]) -> List[int]:
        """The prompt's token ids: the same template encoding TransformersEngine (PtRollout) sends the model."""
        encoded = self.template.encode({'messages': row['messages'], 'tools': row.get('tools')}, for_inference=True)
        return list(encoded['input_ids'])

    optimizer = None  # the trainer's, for --offload_optimizer (OnlineTrainer.generate sets it)

    def _sleep_level(self) -> int:
        return getattr(self.args, 'sleep_level', 0) or (1 if getattr(self.args, 'vllm_enable_sleep_mode', False) else 0)

    @contextlib.contextmanager
    def offloaded(self):
        """--offload_model / --offload_optimizer: policy and optimizer state on CPU while vLLM generates."""
        import torch
        device = next(self.model.parameters()).device
        moved = []
        if getattr(self.args, 'offload_model', False):
            self.model.to('cpu')
        if getattr(self.args, 'offload_optimizer', False) and self.optimizer is not None:
            for state in self.optimizer.state.values():
                for key, value in state.items():
                    if isinstance(value, torch.Tensor) and value.device != torch.device('cpu'):
                        moved.append((state, key, value.device))
                        state[key] = value.to('cpu')
        try:
            yield
        finally:
            if getattr(self.args, 'offload_model', False):
                self.model.to(device)
            for state, key, original in moved:
                state[key] = state[key].to(original)

    def sync_weights(self) -> None:
        llm = self._get_llm()
        if self._sleep_level():
            llm.wake_up()
        vllm_model = llm.llm_engine.model_executor.driver_worker.model_runner.model
        vllm_model.load_weights(policy_weights(self.model))
        reset = getattr(llm, 'reset_prefix_cache', None)
        if reset is not None:  # cached prompt KV was computed with the old weights
            reset()

    def generate(self, rows: Sequence[Dict[str, Any]], n: int, seed: int) -> List[List[Completion]]:
        """n completions for each row's messages; prompt `index` gets seed + 1000 × index (as PtRollout)."""
        _refuse_media(rows, 'vLLM (--use_vllm true)')
        import vllm
        args = self.args
        self.sync_weights()
        stop_ids = self._stop_token_ids()
        prompts = [vllm.TokensPrompt(prompt_token_ids=self.encode(row)) for row in rows]
        params = [vllm.SamplingParams(n=n, max_tokens=args.max_new_tokens, temperature=args.temperature,
                                      top_p=args.top_p, top_k=args.top_k if args.top_k and args.top_k > 0 else 0,
                                      min_p=args.min_p,
                                      repetition_penalty=args.repetition_penalty, seed=seed + 1000 * index,
                                      stop=list(self.template.stop_words), stop_token_ids=stop_ids, logprobs=0,
                                      skip_special_tokens=True)
                  for index in range(len(rows))]
        with self.offloaded():
            outputs = self.llm.generate(prompts, params, use_tqdm=False)
        if self._sleep_level():
            self.llm.sleep(level=self._sleep_level())
        return [[Completion(list(out.token_ids), out.text, 'length' if out.finish_reason == 'length' else 'stop')
                 for out in result.outputs] for result in outputs]

    def close(self) -> None:
        self.llm = None  # vLLM frees the engine with its last reference


class ServerRollout(_Rollout):
    """Completions from a `swift rollout` server (--use_vllm true --vllm_mode server), weights pushed first."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.url = f'http://{self.args.vllm_server_host}:{self.args.vllm_server_port}'
        self._wait_until_up()

    def _post(self, route: str, data: bytes, content_type: str):
        request = urllib.request.Request(self.url + route, data=data, headers={'Content-Type': content_type})
        try:
            with urllib.request.urlopen(request, timeout=self.args.vllm_server_timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors='replace')
            raise SwiftError(f'rollout server {self.url}{route}: HTTP {e.code}: {detail}') from None
        except OSError as e:
            raise SwiftError(f'rollout server {self.url}{route}: {e}') from None

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.args.vllm_server_timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + '/health/', timeout=5):
                    return
            except OSError as e:
                if time.monotonic() > deadline:
                    raise SwiftError(f'no rollout server at {self.url} after {self.args.vllm_server_timeout:.0f} s '
                                     f'({e}): start one with `swift rollout --model ... --port '
                                     f'{self.args.vllm_server_port}`, or check --vllm_server_host/--vllm_server_port')
                time.sleep(1)

    def sync_weights(self) -> None:
        """The policy's current weights (LoRA merged, base-model names) into the server's model."""
        from safetensors.torch import save
        weights = {name: tensor.detach().contiguous().cpu() for name, tensor in policy_weights(self.model)}
        self._post('/update_weights/', save(weights), 'application/octet-stream')

    def generate(self, rows: Sequence[Dict[str, Any]], n: int, seed: int) -> List[List[Completion]]:
        """n completions per row; prompt `index` gets seed + 1000 × index (as PtRollout; the server applies it)."""
        _refuse_media(rows, 'the rollout server (--vllm_mode server)')
        args = self.args
        self.sync_weights()
        body = {'infer_requests': [{'messages': row['messages'], 'tools': row.get('tools')} for row in rows],
                'request_config': {'max_tokens': args.max_new_tokens, 'temperature': args.temperature,
                                   'top_p': args.top_p, 'top_k': args.top_k, 'min_p': args.min_p,
                                   'repetition_penalty': args.repetition_penalty, 'n': n, 'seed': seed,
                                   'logprobs': True}}
        responses = self._post('/infer/', json.dumps(body).encode(), 'application/json')
        return [[Completion(choice['token_ids'], choice['message']['content'] or '', choice['finish_reason'])
                 for choice in response['choices']] for response in responses]

    def close(self) -> None:
        pass  # the server outlives the run


def make_rollout(model, tokenizer, template, args, max_batch_size: int):
    if args.use_vllm and getattr(args, 'vllm_mode', 'colocate') == 'server':
        return ServerRollout(model, tokenizer, template, args, max_batch_size)
    if args.use_vllm:
        if not _vllm_available():
            raise SwiftError('--use_vllm: vLLM is not installed (pip install "swift-llm[vllm]", CUDA GPU needed); '
                             'drop --use_vllm to generate with the PyTorch engine')
        return VllmRollout(model, tokenizer, template, args, max_batch_size)
    return PtRollout(model, tokenizer, template, args, max_batch_size)
