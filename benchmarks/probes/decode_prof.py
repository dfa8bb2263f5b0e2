"""Profile the engine's bf16 b1 decode step on this thread (1 torch thread), CPU time."""
import os, sys, time, json
import torch
torch.set_num_threads(int(os.environ.get('THREADS', '1')))
from swift.infer import InferRequest, RequestConfig
from swift.infer.transformers_engine import PtEngine, _Job
from benchmarks.fixed_throughput import _messages
dtype = os.environ.get('DTYPE', 'bfloat16')
batch = int(os.environ.get('BATCH', '1'))
engine = PtEngine('smollm2-135m-instruct', torch_dtype=dtype, max_batch_size=32)
msgs = _messages(batch)
def start():
    jobs = []
    for m in msgs:
        prepared = engine.prepare(InferRequest(m), RequestConfig(max_tokens=200, ignore_eos=True))
        job = _Job(prepared, lambda item: None)
        engine._waiting.append(job)
    engine._admit()
def finish():
    engine._fail_running(RuntimeError('done'))
steps = int(os.environ.get('STEPS', '20'))
with torch.inference_mode():
    start()
    for _ in range(5): engine._decode_step()
    times = []
    for _ in range(steps):
        t = time.thread_time(); engine._decode_step(); times.append(time.thread_time() - t)
    times.sort()
    print(f'unprofiled step CPU ms: median {1000*times[len(times)//2]:.1f} min {1000*times[0]:.1f}  width {engine._kv.width}')
    finish()
    if os.environ.get('PROFILE', '1') == '1':
        start()
        for _ in range(5): engine._decode_step()
        from torch.profiler import profile, ProfilerActivity
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps): engine._decode_step()
        print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=int(os.environ.get('ROWS', '40'))))
        finish()
