"""Sampling completions from the policy while it trains (PPO and GRPO).

The PyTorch engine (swift.infer.PtEngine) runs on the training model itself, so every rollout uses
the current weights with nothing to copy: the model is switched to eval mode for the rollout and
back to training mode after it. The completion token ids come from the engine's per-token logprob
entries, so training scores exactly the tokens that were sampled (stop token included).

--use_vllm asks for a vLLM engine instead; it needs vllm and a CUDA GPU, and is refused otherwise.
"""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence

from swift.utils import SwiftError, get_logger

logger = get_logger()


@dataclass
class Completion:
    token_ids: List[int]
    text: str
    finish_reason: str  # 'stop' (ended by itself) or 'length' (cut at max_completion_length)


class PtRollout:
    """Completions from the training model through PtEngine (CPU or GPU, any transformers model)."""

    def __init__(self, model, tokenizer, template, args, max_batch_size: int):
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.args = args
        self.max_batch_size = max(max_batch_size, 1)
        self._engine = None

    def _get_engine(self):
        if self._engine is None:
            from swift.infer.pt_engine import PtEngine
            self._engine = PtEngine(self.model, self.tokenizer, template=self.template,
                                    max_batch_size=self.max_batch_size)
        return self._engine

    def generate(self, rows: Sequence[Dict[str, Any]], n: int, seed: int) -> List[List[Completion]]:
        """n completions for each row's messages, all prompts in one batch.

        Each prompt gets its own seed (seed + 1000 × its index; its choices seed + 1000 × index + i), so
        different prompts do not share one random stream.
        """
        import asyncio
        from swift.infer.protocol import InferRequest, RequestConfig
        args = self.args
        was_training = self.model.training
        engine = self._get_engine()  # puts the model in eval mode
        self.model.eval()

        async def answer_all():
            return await asyncio.gather(*[
                engine.infer_async(InferRequest(messages=row['messages'], tools=row.get('tools')),
                                   RequestConfig(max_tokens=args.max_completion_length, temperature=args.temperature,
                                                 top_p=args.top_p, top_k=args.top_k,
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


def make_rollout(model, tokenizer, template, args, max_batch_size: int):
    if args.use_vllm:
        import importlib.util
        if importlib.util.find_spec('vllm') is None:
            raise SwiftError('--use_vllm: vLLM is not installed (pip install "swift-llm[vllm]", CUDA GPU needed); '
                             'drop --use_vllm to generate with the PyTorch engine')
        raise SwiftError('--use_vllm: rollouts through vLLM (weights synced into a vLLM engine every step) are not '
                         'implemented in this version; drop --use_vllm to generate with the PyTorch engine')
    return PtRollout(model, tokenizer, template, args, max_batch_size)
