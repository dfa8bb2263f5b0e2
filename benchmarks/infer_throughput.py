"""Inference throughput on the embedded SmolLM2-135M-Instruct (greedy; --dtype float32 by default).

Part one, the fixed-length workload (fixed_throughput.py): every request generates exactly
--max_tokens tokens (EOS ignored), HF `generate` at batch 1 and static batch N against PtEngine
one request at a time and N concurrent requests, in alternating rounds, each side in its own
process by default (--fixed_mode inprocess: both in this one); then time to first token for a
~500-token prompt and the KV cache memory. vLLM runs on the same prompts when importable.

Part two, the mixed-length workload, three ways in one run:

  sequential   model.generate, one request at a time
  static       model.generate on all requests at once, left-padded to the longest prompt
  engine       PtEngine (continuous batching), all requests submitted together

    .venv/bin/python benchmarks/infer_throughput.py [--requests 32] [--max_tokens 128] [--threads 2]
    .venv/bin/python benchmarks/infer_throughput.py --quick        # 8 requests, 32 tokens: a smoke run
    .venv/bin/python benchmarks/infer_throughput.py --workloads fixed --rounds 3

All requests arrive at t=0; a request's latency is the time until its answer is complete. Printed
per method: output tokens/s (generated tokens up to and including EOS, no padding) and p50/p95
latency, then the engine's speed-up. Part three drives `swift deploy` with concurrent streaming
clients (tokens/s and time to first token).
"""
import argparse
import asyncio
import importlib.util
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUESTIONS = [
    'What is the capital of France?', 'Name three primary colours.', 'What is 12 times 7?', 'Say hello in Spanish.',
    'Write a short poem about autumn leaves.', 'Explain what a black hole is.', 'Give me three tips for sleeping well.',
    'What does a compiler do?', 'Describe the water cycle.', 'Why do cats purr?', 'List four planets.',
    'How do vaccines work?', 'Summarise the story of Cinderella.', 'What is photosynthesis?',
    'Suggest a name for a bakery.', 'How far is the Moon from the Earth?',
]
PASSAGE = ('The history of the bicycle begins in the early nineteenth century, when inventors in Europe built '
           'two-wheeled machines that riders pushed along with their feet. Pedals attached to the front wheel came '
           'decades later, and the safety bicycle, with a chain driving the rear wheel and two wheels of equal size, '
           'made cycling popular with a wide public by the end of the century. Pneumatic tyres, gears and lighter '
           'frames followed, and today bicycles are used for transport, sport and leisure all over the world. ')


def build_prompts(count: int, seed: int = 0) -> List[List[Dict[str, str]]]:
    """Chat requests of mixed lengths: bare questions, and questions after 1 to 4 paragraphs of context."""
    rng = random.Random(seed)
    prompts = []
    for i in range(count):
        question = QUESTIONS[i % len(QUESTIONS)]
        context_paragraphs = rng.choice([0, 0, 1, 2, 4])
        text = (PASSAGE * context_paragraphs + '\n\n' + question) if context_paragraphs else question
        prompts.append([{'role': 'user', 'content': text}])
    return prompts


def percentile(values: List[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def generated_length(ids: List[int], eos_ids: set, pad_id: int, prompt_len: int = 0) -> int:
    """New tokens up to and including the first EOS (what a server would bill)."""
    count = 0
    for token in ids[prompt_len:]:
        count += 1
        if token in eos_ids:
            break
    return count


def run_sequential(model, prompts_ids, max_tokens, eos_ids, pad_id):
    import torch
    latencies, tokens, outputs = [], 0, []
    start = time.perf_counter()
    for ids in prompts_ids:
        with torch.inference_mode():
            out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                 max_new_tokens=max_tokens, do_sample=False, eos_token_id=list(eos_ids),
                                 pad_token_id=pad_id)
        new = out[0, len(ids):].tolist()
        n = generated_length(new, eos_ids, pad_id)
        tokens += n
        outputs.append(new[:n])
        latencies.append(time.perf_counter() - start)
    return time.perf_counter() - start, tokens, latencies, outputs


def run_static(model, prompts_ids, max_tokens, eos_ids, pad_id):
    import torch
    width = max(len(ids) for ids in prompts_ids)
    input_ids = torch.tensor([[pad_id] * (width - len(ids)) + ids for ids in prompts_ids])
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompts_ids])
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(input_ids, attention_mask=mask, max_new_tokens=max_tokens, do_sample=False,
                             eos_token_id=list(eos_ids), pad_token_id=pad_id)
    elapsed = time.perf_counter() - start
    outputs = []
    for row in out[:, width:].tolist():
        outputs.append(row[:generated_length(row, eos_ids, pad_id)])
    return elapsed, sum(len(o) for o in outputs), [elapsed] * len(prompts_ids), outputs


def run_engine(engine, prompts, max_tokens):
    from swift.infer import InferRequest, RequestConfig
    config = RequestConfig(max_tokens=max_tokens, logprobs=True)
    latencies = [0.0] * len(prompts)

    async def all_requests(start):
        async def one(i):
            response = await engine.infer_async(InferRequest(prompts[i]), config)
            latencies[i] = time.perf_counter() - start
            return response

        return await asyncio.gather(*(one(i) for i in range(len(prompts))))

    start = time.perf_counter()
    responses = engine.run_coroutine(all_requests(start))
    elapsed = time.perf_counter() - start
    outputs = [[e.token_id for e in r.choices[0].logprobs.content] for r in responses]
    return elapsed, sum(r.usage.completion_tokens for r in responses), latencies, outputs


def report(name, elapsed, cpu_seconds, tokens, latencies):
    row = {'method': name, 'seconds': round(elapsed, 1), 'output_tokens': tokens,
           'tokens_per_s': round(tokens / elapsed, 1), 'p50_latency_s': round(percentile(latencies, 0.5), 1),
           'p95_latency_s': round(percentile(latencies, 0.95), 1), 'cpu_seconds': round(cpu_seconds, 1),
           'tokens_per_cpu_s': round(tokens / cpu_seconds, 1)}
    print(f'{name:<11} {row["tokens_per_s"]:>8} tok/s  {tokens:>6} tokens in {row["seconds"]:>7}s  '
          f'p50 {row["p50_latency_s"]:>6}s  p95 {row["p95_latency_s"]:>6}s  '
          f'({row["tokens_per_cpu_s"]} tok per CPU-second)', flush=True)
    return row


def bench_deploy(args) -> None:
    """Part two: `swift deploy` with concurrent streaming clients (needs the deploy command and `openai`)."""
    if importlib.util.find_spec('swift.cli.deploy') is None or importlib.util.find_spec('openai') is None:
        print('\ndeploy: skipped — `swift deploy` (swift/cli/deploy.py) or the openai package is not available yet. '
              'Once it is, this part starts the server on 127.0.0.1 and runs '
              f'{args.requests} concurrent streaming clients.')
        return
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, '-m', 'swift.cli.main', 'deploy', '--model', 'smollm2-135m-instruct',
                               '--torch_dtype', args.dtype, '--host', '127.0.0.1', '--port', str(port),
                               '--max_batch_size', str(args.requests)], cwd=REPO)
    try:
        asyncio.run(_deploy_clients(args, port))
    finally:
        server.terminate()
        server.wait(timeout=60)


async def _deploy_clients(args, port: int) -> None:
    import openai
    client = openai.AsyncOpenAI(base_url=f'http://127.0.0.1:{port}/v1', api_key='none', max_retries=0)
    for _ in range(300):  # wait for the model to load
        try:
            models = await client.models.list()
            break
        except openai.APIConnectionError:
            await asyncio.sleep(1)
    else:
        raise RuntimeError('swift deploy did not come up within 300 s')
    model = models.data[0].id
    prompts = build_prompts(args.requests)
    ttft, totals = [], []

    async def one(messages):
        start = time.perf_counter()
        first, tokens = None, 0
        stream = await client.chat.completions.create(model=model, messages=messages, max_tokens=args.max_tokens,
                                                      temperature=0, stream=True,
                                                      stream_options={'include_usage': True})
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content and first is None:
                first = time.perf_counter() - start
            if chunk.usage:
                tokens = chunk.usage.completion_tokens
        ttft.append(first or 0.0)
        totals.append(tokens)

    start = time.perf_counter()
    await asyncio.gather(*(one(m) for m in prompts))
    elapsed = time.perf_counter() - start
    print(f'\ndeploy      {sum(totals) / elapsed:>8.1f} tok/s  {sum(totals)} tokens in {elapsed:.1f}s  '
          f'TTFT p50 {percentile(ttft, 0.5):.2f}s  p95 {percentile(ttft, 0.95):.2f}s')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--requests', type=int, default=32)
    parser.add_argument('--max_tokens', type=int, default=128)
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads (the machine has 2 cores)')
    parser.add_argument('--methods', default='sequential,static,engine')
    parser.add_argument('--quick', action='store_true', help='8 requests of 32 tokens, one round')
    parser.add_argument('--workloads', default='fixed,mixed', help='fixed, mixed or both')
    parser.add_argument('--rounds', type=int, default=2, help='fixed workload: alternating rounds (best is kept)')
    parser.add_argument('--fixed_mode', choices=['processes', 'inprocess'], default='processes',
                        help='fixed workload: generate and the engine each in its own process, one after the other, '
                        'as users run them (processes), or both in this process (inprocess: both sides\' OpenMP '
                        'teams throttle each other\'s spin-wait, see docs/benchmarks.md)')
    parser.add_argument('--batch1_requests', type=int, default=2, help='fixed workload: prompts run at batch 1')
    parser.add_argument('--dtype', default='float32', help='torch dtype of the model (both generate and engine)')
    parser.add_argument('--generate_dtype', help='fixed workload: run generate in this dtype instead (e.g. the engine '
                        'in bfloat16 against generate in float32, in the same run)')
    parser.add_argument('--skip_deploy', action='store_true')
    parser.add_argument('--engine_kwargs', default='{}', help='JSON keyword arguments for PtEngine, e.g. '
                        '\'{"fast_decode_attention": true}\' for the opt-in half-precision decode attention')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    if args.quick:
        args.requests, args.max_tokens, args.rounds, args.batch1_requests = 8, 32, 1, 1
    import torch
    torch.set_num_threads(args.threads)
    from benchmarks.fixed_throughput import machine_line, run_fixed, run_fixed_processes
    if 'fixed' in args.workloads and args.fixed_mode == 'processes':
        print(machine_line(args), flush=True)
        run_fixed_processes(args)  # before this process loads a model: its children have the machine to themselves
        print(machine_line(args), flush=True)
        if 'mixed' not in args.workloads:
            return
    from swift.infer import InferRequest
    from swift.infer.transformers_engine import PtEngine

    engine = PtEngine('smollm2-135m-instruct', torch_dtype=args.dtype, max_batch_size=args.requests,
                      **json.loads(args.engine_kwargs))
    model, tokenizer = engine.model, engine.tokenizer
    print(machine_line(args), flush=True)
    if 'fixed' in args.workloads and args.fixed_mode == 'inprocess':
        generate_model = model
        if args.generate_dtype and args.generate_dtype != args.dtype:
            generate_model = PtEngine('smollm2-135m-instruct', torch_dtype=args.generate_dtype, max_batch_size=1).model
        run_fixed(engine, args, generate_model)
    if 'mixed' not in args.workloads:
        engine.close()
        return
    print('\n== mixed-length workload', flush=True)
    prompts = build_prompts(args.requests)
    prompts_ids = [engine._encode(InferRequest(p)) for p in prompts]
    eos_ids = set(engine._stop_ids)
    lengths = sorted(len(p) for p in prompts_ids)
    print(f'{args.requests} requests, prompt tokens min {lengths[0]} / median {lengths[len(lengths) // 2]} / '
          f'max {lengths[-1]}, {args.max_tokens} new tokens max, greedy, {args.dtype}, torch threads {args.threads}, '
          f'{os.cpu_count()} CPUs', flush=True)
    results, outputs = [], {}
    for method in args.methods.split(','):
        cpu_start = time.process_time()  # less sensitive than wall time to other processes on the machine
        if method == 'sequential':
            elapsed, tokens, latencies, out = run_sequential(model, prompts_ids, args.max_tokens, eos_ids,
                                                             tokenizer.pad_token_id)
        elif method == 'static':
            elapsed, tokens, latencies, out = run_static(model, prompts_ids, args.max_tokens, eos_ids,
                                                         tokenizer.pad_token_id)
        elif method == 'engine':
            elapsed, tokens, latencies, out = run_engine(engine, prompts, args.max_tokens)
        else:
            raise SystemExit(f'unknown method {method}')
        outputs[method] = out
        results.append(report(method, elapsed, time.process_time() - cpu_start, tokens, latencies))
    engine.close()
    by_name = {r['method']: r for r in results}
    if 'engine' in by_name:
        for base in ('sequential', 'static'):
            if base in by_name:
                wall = by_name['engine']['tokens_per_s'] / by_name[base]['tokens_per_s']
                cpu = by_name['engine']['tokens_per_cpu_s'] / by_name[base]['tokens_per_cpu_s']
                print(f'engine / {base}: {wall:.2f}x tokens/s ({cpu:.2f}x tokens per CPU-second)')
        if 'sequential' in outputs:  # the engine's greedy answers are generate's, token for token
            same = sum(a == b for a, b in zip(outputs['engine'], outputs['sequential']))
            print(f'engine outputs identical to sequential generate: {same}/{len(prompts)}')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.skip_deploy:
        bench_deploy(args)


if __name__ == '__main__':
    main()
