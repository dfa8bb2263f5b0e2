"""In one process: generate float32 b1 on the main thread (as the in-process benchmark does), then the engine bfloat16
b1 on 2 prompts x TOKENS. MODE=thread: the engine's scheduler thread runs the steps (forced by a stream first);
MODE=caller: infer() runs them on this thread."""
import os, sys, time
import torch
torch.set_num_threads(int(os.environ.get('THREADS', '2')))
from swift.infer import InferRequest, RequestConfig
from swift.infer.transformers_engine import PtEngine
from benchmarks.fixed_throughput import _messages, _generate, _engine
tokens = int(os.environ.get('TOKENS', '32'))
engine = PtEngine('smollm2-135m-instruct', torch_dtype='bfloat16', max_batch_size=32)
gen = PtEngine('smollm2-135m-instruct', torch_dtype='float32', max_batch_size=1).model
msgs = _messages(2)
prompts = [engine._encode(InferRequest(m)) for m in msgs]
pad = engine.tokenizer.pad_token_id
if os.environ['MODE'] == 'thread':
    list(engine.stream(InferRequest(msgs[0]), RequestConfig(max_tokens=2)))  # starts the scheduler thread
assert (engine._worker is not None) == (os.environ['MODE'] == 'thread')
def timed(fn):
    w, c = time.perf_counter(), time.process_time(); n = fn()
    w, c = time.perf_counter() - w, time.process_time() - c
    return n / w, n / c, c / w
_generate(gen, prompts[:1], 4, pad); _engine(engine, msgs[:1], 4, concurrent=False)
g = timed(lambda: sum(_generate(gen, [p], tokens, pad) for p in prompts))
e = timed(lambda: _engine(engine, msgs, tokens, concurrent=False))
print(f"{os.environ['MODE']:<6} generate fp32 b1 {g[0]:5.1f} tok/s {g[1]:5.1f} tok/CPU-s {g[2]:.2f} cores | engine bf16 b1 {e[0]:5.1f} tok/s {e[1]:5.1f} tok/CPU-s {e[2]:.2f} cores | load {os.getloadavg()[0]:.1f}", flush=True)
engine.close()
