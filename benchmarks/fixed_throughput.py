"""The fixed-length workload of infer_throughput.py: every request generates exactly max_tokens tokens.

In one process, in alternating rounds (the order flips each round, because a shared machine's
speed drifts over minutes), on the same chat prompts (short questions):

  generate b1     model.generate, one prompt at a time (--batch1_requests prompts)
  engine b1       PtEngine, the same prompts one at a time
  generate bN     model.generate on all N prompts at once, left-padded (static batch)
  engine N        PtEngine, N concurrent requests

EOS never ends a reply (generate: min_new_tokens; engine: RequestConfig(ignore_eos=True)), so
both sides do the same number of decoding steps. Each method's best round is kept; ratios are
to generate at the same batch size, as wall tokens/s and as tokens per CPU-second of this
process (less sensitive to other jobs on the machine). Then: time to first token for a ~500-token
prompt (engine, max_tokens 1, against generate's prefill with max_new_tokens 1), and the KV cache
memory each side holds at batch N. vLLM runs the same prompt ids when it is importable.

Two ways to run the sides (--fixed_mode):

  processes (default)  each side in its own Python process, as users run them (a script calling
                       `generate`, a `swift deploy` server), one after the other in alternating rounds,
                       same prompt ids (checked), same torch threads. Tokens per CPU-second is then the
                       CPU time of that side's process alone.
  inprocess            both sides in this one process (the engine on its scheduler thread, `generate` on the
                       main thread). Each of those threads has its own OpenMP team, and with more OpenMP
                       threads than CPUs GNU OpenMP shortens every team's spin-wait (docs/benchmarks.md,
                       "OpenMP's spin-wait"): both sides are throttled, as in a script that runs torch on its
                       own thread next to an engine.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a child process: `python -m benchmarks.fixed_throughput --side ...`
    sys.path.insert(0, str(REPO))

from benchmarks.infer_throughput import PASSAGE, QUESTIONS  # noqa: E402


def machine_line(args) -> str:
    import torch
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    load = ' / '.join(f'{x:.1f}' for x in os.getloadavg())
    return (f'machine: {cpus} CPUs usable, torch threads {torch.get_num_threads()}, load average {load} '
            f'(1/5/15 min; above the CPU count means other jobs share the cores), torch {torch.__version__}')


def _messages(count: int) -> List[List[Dict[str, str]]]:
    return [[{'role': 'user', 'content': QUESTIONS[i % len(QUESTIONS)]}] for i in range(count)]


def _generate(model, batch: List[List[int]], max_tokens: int, pad_id: int) -> int:
    import torch
    width = max(len(ids) for ids in batch)
    input_ids = torch.tensor([[pad_id] * (width - len(ids)) + ids for ids in batch])
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch])
    with torch.inference_mode():
        out = model.generate(input_ids, attention_mask=mask, max_new_tokens=max_tokens, min_new_tokens=max_tokens,
                             do_sample=False, pad_token_id=pad_id)
    return (out.shape[1] - width) * len(batch)


def _engine(engine, messages: List[List[Dict[str, str]]], max_tokens: int, concurrent: bool) -> int:
    from swift.infer import InferRequest, RequestConfig
    config = RequestConfig(max_tokens=max_tokens, ignore_eos=True)
    requests = [InferRequest(m) for m in messages]
    if concurrent:
        responses = engine.infer(requests, config, use_tqdm=False)
    else:
        responses = [engine.infer(r, config)[0] for r in requests]
    return sum(r.usage.completion_tokens for r in responses)


def _timed(fn) -> Dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    tokens = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {'tokens': tokens, 'tok_s': tokens / wall, 'tok_cpu_s': tokens / cpu}


def run_fixed(engine, args, generate_model=None) -> Dict[str, Dict[str, float]]:
    """generate_model: what `generate` runs on (default: the engine's own model)."""
    model = generate_model if generate_model is not None else engine.model
    pad = engine.tokenizer.pad_token_id
    n, max_tokens = args.requests, args.max_tokens
    from swift.infer import InferRequest
    messages = _messages(n)
    prompts = [engine._encode(InferRequest(m)) for m in messages]  # the ids generate gets: the engine's own
    single = prompts[:args.batch1_requests]
    print(f'\n== fixed-length workload: {max_tokens} new tokens per request (EOS ignored), '
          f'engine {engine.model.dtype}, generate {model.dtype}, '
          f'batch 1 on {len(single)} prompts, batch {n} on {n} prompts, {args.rounds} rounds', flush=True)
    methods = {
        'generate b1': lambda: sum(_generate(model, [p], max_tokens, pad) for p in single),
        'engine b1': lambda: _engine(engine, messages[:len(single)], max_tokens, concurrent=False),
        f'generate b{n}': lambda: _generate(model, prompts, max_tokens, pad),
        f'engine {n}': lambda: _engine(engine, messages, max_tokens, concurrent=True),
    }
    _engine(engine, messages[:1], 4, concurrent=False)  # warm-up: the engine's thread, allocator, first shapes
    kv_peak = _watch_kv_bytes(engine)
    best: Dict[str, Dict[str, float]] = {}
    for round_index in range(args.rounds):
        names = list(methods) if round_index % 2 == 0 else list(reversed(methods))
        for name in names:
            row = _timed(methods[name])
            print(f'  round {round_index + 1} {name:<14} {row["tok_s"]:8.1f} tok/s  {row["tok_cpu_s"]:8.1f} tok/CPU-s',
                  flush=True)
            if name not in best or row['tok_s'] > best[name]['tok_s']:
                best[name] = row
    print('best round of each:')
    for engine_name, base in (('engine b1', 'generate b1'), (f'engine {n}', f'generate b{n}')):
        e, g = best[engine_name], best[base]
        print(f'  {engine_name:<11} {e["tok_s"]:8.1f} tok/s vs {base} {g["tok_s"]:8.1f}: '
              f'{e["tok_s"] / g["tok_s"]:.2f}x wall, {e["tok_cpu_s"] / g["tok_cpu_s"]:.2f}x per CPU-second', flush=True)
    best.update(_time_to_first_token(engine, model, args))
    best['kv_cache_mib'] = _kv_memory(engine, model, kv_peak[0], prompts, max_tokens)
    _other_engines(prompts, single, max_tokens, args)
    return best


def _time_to_first_token(engine, model, args) -> Dict[str, Dict[str, float]]:
    """A ~500-token prompt: the engine's time until its first token against generate's prefill + first token."""
    import torch
    from swift.infer import InferRequest, RequestConfig
    text = (PASSAGE * 6)[:2400] + '\n\nWhat is this text about?'
    request = InferRequest([{'role': 'user', 'content': text}])
    ids = engine._encode(request)
    engine.prefix_cache.clear()  # a cold prompt: no prefix to reuse
    gen, ours = [], []
    for _ in range(max(2, args.rounds)):
        start = time.perf_counter()
        with torch.inference_mode():
            model.generate(torch.tensor([ids]), max_new_tokens=1, do_sample=False,
                                  pad_token_id=engine.tokenizer.pad_token_id)
        gen.append(time.perf_counter() - start)
        engine.prefix_cache.clear()
        start = time.perf_counter()
        next(iter(engine.stream(request, RequestConfig(max_tokens=2))))
        ours.append(time.perf_counter() - start)
        engine.prefix_cache.clear()
    print(f'time to first token, {len(ids)}-token prompt (best of {len(gen)}): engine {min(ours):.2f}s, '
          f'generate prefill + 1 token {min(gen):.2f}s', flush=True)
    return {'ttft': {'engine_s': min(ours), 'generate_s': min(gen), 'prompt_tokens': len(ids)}}


def _watch_kv_bytes(engine) -> List[int]:
    """[peak bytes of the engine's batch KV buffers], updated after every decoding step from now on."""
    kv, peak = engine._kv, [0]
    original = kv.commit_column

    def commit_and_measure():
        original()
        peak[0] = max(peak[0], sum(t.numel() * t.element_size() for t in kv.keys + kv.values if t is not None))

    kv.commit_column = commit_and_measure
    return peak


def _kv_memory(engine, model, peak: int, prompts: List[List[int]], max_tokens: int) -> Dict[str, float]:
    """KV bytes: the engine's batch buffers at their peak over the runs above, and what generate's DynamicCache
    holds at the end of the batch-N run (N rows x (longest prompt + max_tokens) columns)."""
    generate_bytes = _kv_memory_generate(model, prompts, max_tokens)
    result = {'engine_batch_mib': peak / 2**20, 'generate_mib': generate_bytes / 2**20,
              'prefix_cache_mib': engine.prefix_cache.nbytes / 2**20}
    print(f'KV cache at batch {len(prompts)}: engine buffers peak {result["engine_batch_mib"]:.0f} MiB '
          f'(+ prefix cache {result["prefix_cache_mib"]:.0f} MiB, bounded by prefix_cache_mb), '
          f'generate {result["generate_mib"]:.0f} MiB', flush=True)
    return result


def _other_engines(prompts, single, max_tokens: int, args) -> None:
    """vLLM and llama.cpp on the same prompt ids when they are installed. llama.cpp runs the embedded model's own
    GGUF (Q4_1, the file swift's float weights were dequantized from), so it is not the same precision."""
    if importlib.util.find_spec('vllm') is None:
        print('vllm: not installed, skipped (pip install vllm, CPU build, to compare in the same run)')
    else:
        from vllm import LLM, SamplingParams
        from swift.model.embedded import ensure_embedded_model
        llm = LLM(model=str(ensure_embedded_model()), dtype=args.dtype, max_num_seqs=len(prompts))
        params = SamplingParams(max_tokens=max_tokens, temperature=0, ignore_eos=True)
        for name, batch in (('vllm b1', single), (f'vllm {len(prompts)}', prompts)):
            start = time.perf_counter()
            if name == 'vllm b1':
                tokens = sum(len(llm.generate([{'prompt_token_ids': p}], params)[0].outputs[0].token_ids)
                             for p in batch)
            else:
                tokens = sum(len(o.outputs[0].token_ids) for o in llm.generate(
                    [{'prompt_token_ids': p} for p in batch], params))
            print(f'  {name:<11} {tokens / (time.perf_counter() - start):8.1f} tok/s', flush=True)
    if importlib.util.find_spec('llama_cpp') is None:
        print('llama_cpp: not installed, skipped (pip install llama-cpp-python to compare in the same run)')
        return
    import llama_cpp
    from swift.model.embedded import gguf_path
    llm = llama_cpp.Llama(model_path=str(gguf_path()), n_ctx=1024, n_threads=args.threads, verbose=False)
    start, tokens = time.perf_counter(), 0
    for prompt in single:  # llama-cpp-python's high-level API decodes one sequence at a time
        llm.reset()
        for token in llm.generate(prompt, temp=0.0):
            tokens += 1
            if tokens % max_tokens == 0:
                break
    print(f'  llama.cpp b1 (Q4_1 GGUF) {tokens / (time.perf_counter() - start):8.1f} tok/s', flush=True)


# ---- --fixed_mode processes: each side in its own process ------------------------------------------------------
def run_fixed_processes(args) -> Dict[str, Dict[str, float]]:
    """generate and the engine each in a fresh child process per round, the order flipping each round; the best round
    of each method is kept, as in run_fixed. The children get the same arguments (prompts, threads, tokens)."""
    n, dtype = args.requests, args.dtype
    generate_dtype = args.generate_dtype or args.dtype
    print(f'\n== fixed-length workload, each side in its own process: {args.max_tokens} new tokens per request '
          f'(EOS ignored), engine {dtype}, generate {generate_dtype}, batch 1 on {args.batch1_requests} prompts, '
          f'batch {n} on {n} prompts, {args.rounds} rounds, torch threads {args.threads}', flush=True)
    best: Dict[str, Dict[str, float]] = {}
    results: Dict[str, dict] = {}
    for round_index in range(args.rounds):
        sides = ['generate', 'engine'] if round_index % 2 == 0 else ['engine', 'generate']
        for side in sides:
            result = _run_side_process(side, args, generate_dtype if side == 'generate' else dtype)
            if side in results and result['prompts'] != results[side]['prompts']:
                raise RuntimeError(f'the {side} process encoded other prompt ids than in the round before')
            results[side] = result
            for name, row in result['rows'].items():
                print(f'  round {round_index + 1} {name:<14} {row["tok_s"]:8.1f} tok/s  {row["tok_cpu_s"]:8.1f} '
                      f'tok/CPU-s  ({row["cpu_s"]:.1f} CPU-s in {row["wall_s"]:.1f} s: '
                      f'{row["cpu_s"] / row["wall_s"]:.2f} cores busy)', flush=True)
                if name not in best or row['tok_s'] > best[name]['tok_s']:
                    best[name] = row
    if results['generate']['prompts'] != results['engine']['prompts']:
        raise RuntimeError('generate and the engine ran on different prompt ids')
    print('best round of each:')
    for engine_name, base in (('engine b1', 'generate b1'), (f'engine {n}', f'generate b{n}')):
        e, g = best[engine_name], best[base]
        print(f'  {engine_name:<11} {e["tok_s"]:8.1f} tok/s vs {base} {g["tok_s"]:8.1f}: '
              f'{e["tok_s"] / g["tok_s"]:.2f}x wall, {e["tok_cpu_s"] / g["tok_cpu_s"]:.2f}x per CPU-second', flush=True)
    ttft = {'engine_s': results['engine']['ttft_s'], 'generate_s': results['generate']['ttft_s'],
            'prompt_tokens': results['engine']['ttft_prompt_tokens']}
    print(f'time to first token, {ttft["prompt_tokens"]}-token prompt (best of {max(2, args.rounds)}, last round\'s '
          f'processes): engine {ttft["engine_s"]:.2f}s, generate prefill + 1 token {ttft["generate_s"]:.2f}s',
          flush=True)
    kv = {'engine_batch_mib': results['engine']['kv_engine_mib'],
          'generate_mib': results['generate']['kv_generate_mib'], 'prefix_cache_mib': results['engine']['prefix_cache_mib']}
    print(f'KV cache at batch {n}: engine buffers peak {kv["engine_batch_mib"]:.0f} MiB '
          f'(+ prefix cache {kv["prefix_cache_mib"]:.0f} MiB, bounded by prefix_cache_mb), '
          f'generate {kv["generate_mib"]:.0f} MiB', flush=True)
    best['ttft'], best['kv_cache_mib'] = ttft, kv
    prompts = results['engine']['prompts']
    _other_engines(prompts, prompts[:args.batch1_requests], args.max_tokens, args)  # in this process, after both
    return best


def _run_side_process(side: str, args, dtype: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'side.json'
        command = [sys.executable, '-m', 'benchmarks.fixed_throughput', '--side', side, '--dtype', dtype,
                   '--threads', str(args.threads), '--requests', str(args.requests),
                   '--max_tokens', str(args.max_tokens), '--batch1_requests', str(args.batch1_requests),
                   '--ttft_tries', str(max(2, args.rounds)), '--engine_kwargs', args.engine_kwargs, '--out', str(out)]
        subprocess.run(command, cwd=REPO, check=True)
        return json.loads(out.read_text())


def _side_main() -> None:
    """One side of --fixed_mode processes, in this process alone: load, warm up, batch 1, batch N, time to first
    token; the results go to --out as JSON."""
    parser = argparse.ArgumentParser(description='one side of the fixed-length workload (run by infer_throughput.py)')
    parser.add_argument('--side', choices=['generate', 'engine'], required=True)
    parser.add_argument('--dtype', required=True)
    parser.add_argument('--threads', type=int, required=True)
    parser.add_argument('--requests', type=int, required=True)
    parser.add_argument('--max_tokens', type=int, required=True)
    parser.add_argument('--batch1_requests', type=int, required=True)
    parser.add_argument('--ttft_tries', type=int, default=2)
    parser.add_argument('--engine_kwargs', default='{}')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    from swift.infer import InferRequest
    from swift.infer.transformers_engine import PtEngine

    # the generate side loads through the engine too (same loader, template and ids) but submits nothing to it: no
    # scheduler thread starts, every torch op runs on this process's main thread
    kwargs = json.loads(args.engine_kwargs) if args.side == 'engine' else {}
    engine = PtEngine('smollm2-135m-instruct', torch_dtype=args.dtype, max_batch_size=args.requests, **kwargs)
    n, max_tokens = args.requests, args.max_tokens
    messages = _messages(n)
    prompts = [engine._encode(InferRequest(m)) for m in messages]
    single = prompts[:args.batch1_requests]
    pad = engine.tokenizer.pad_token_id
    if args.side == 'generate':
        model = engine.model
        _generate(model, single[:1], 4, pad)  # warm-up, as the engine's below
        methods = {'generate b1': lambda: sum(_generate(model, [p], max_tokens, pad) for p in single),
                   f'generate b{n}': lambda: _generate(model, prompts, max_tokens, pad)}
    else:
        _engine(engine, messages[:1], 4, concurrent=False)  # warm-up: the engine's thread, allocator, first shapes
        kv_peak = _watch_kv_bytes(engine)
        methods = {'engine b1': lambda: _engine(engine, messages[:len(single)], max_tokens, concurrent=False),
                   f'engine {n}': lambda: _engine(engine, messages, max_tokens, concurrent=True)}
    rows = {}
    for name, fn in methods.items():
        wall, cpu = time.perf_counter(), time.process_time()
        tokens = fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows[name] = {'tokens': tokens, 'tok_s': tokens / wall, 'tok_cpu_s': tokens / cpu, 'wall_s': wall,
                      'cpu_s': cpu}
    result = {'side': args.side, 'prompts': prompts, 'rows': rows, 'threads': torch.get_num_threads()}
    text = (PASSAGE * 6)[:2400] + '\n\nWhat is this text about?'
    request = InferRequest([{'role': 'user', 'content': text}])
    ids = engine._encode(request)
    times = []
    for _ in range(args.ttft_tries):
        engine.prefix_cache.clear()  # a cold prompt: no prefix to reuse
        start = time.perf_counter()
        if args.side == 'generate':
            with torch.inference_mode():
                engine.model.generate(torch.tensor([ids]), max_new_tokens=1, do_sample=False, pad_token_id=pad)
        else:
            from swift.infer import RequestConfig
            next(iter(engine.stream(request, RequestConfig(max_tokens=2))))
        times.append(time.perf_counter() - start)
    result.update(ttft_s=min(times), ttft_prompt_tokens=len(ids))
    if args.side == 'engine':
        result.update(kv_engine_mib=kv_peak[0] / 2**20, prefix_cache_mib=engine.prefix_cache.nbytes / 2**20)
    else:
        result['kv_generate_mib'] = _kv_memory_generate(engine.model, prompts, max_tokens) / 2**20
    engine.close()
    Path(args.out).write_text(json.dumps(result))


def _kv_memory_generate(model, prompts: List[List[int]], max_tokens: int) -> int:
    """Bytes of generate's DynamicCache at the end of its batch-N run (N rows x (longest prompt + max_tokens))."""
    config = model.config
    heads = getattr(config, 'num_key_value_heads', config.num_attention_heads)
    head_dim = getattr(config, 'head_dim', None) or config.hidden_size // config.num_attention_heads
    per_token = 2 * config.num_hidden_layers * heads * head_dim * model.dtype.itemsize
    return len(prompts) * (max(len(p) for p in prompts) + max_tokens) * per_token


if __name__ == '__main__':
    _side_main()
