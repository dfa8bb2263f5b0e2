import os, time
import torch
torch.set_num_threads(1)
from swift.infer import InferRequest, RequestConfig
from swift.infer.transformers_engine import PtEngine, _Job
from benchmarks.fixed_throughput import _messages
engine = PtEngine('smollm2-135m-instruct', torch_dtype=os.environ.get('DTYPE', 'bfloat16'), max_batch_size=32)
model = engine.model
fwd = []
orig = model.forward
def timed_forward(*a, **k):
    t = time.thread_time(); out = orig(*a, **k); fwd.append(time.thread_time() - t); return out
model.forward = timed_forward
def start():
    prepared = engine.prepare(InferRequest(_messages(1)[0]), RequestConfig(max_tokens=200, ignore_eos=True))
    engine._waiting.append(_Job(prepared, lambda item: None)); engine._admit()
lin = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
print(len(lin))
x = torch.randn(1, 1, 576, dtype=model.dtype)
def mms():
    for m in lin:
        m(x if m.in_features == 576 else torch.randn(1, 1, m.in_features, dtype=model.dtype))
with torch.inference_mode():
    for r in range(3):
        start()
        for _ in range(5): engine._decode_step()
        fwd.clear(); steps = []
        for _ in range(20):
            t = time.thread_time(); engine._decode_step(); steps.append(time.thread_time() - t)
        engine._fail_running(RuntimeError('x'))
        ts = []
        for _ in range(10):
            t = time.thread_time(); mms(); ts.append(time.thread_time() - t)
        med = lambda v: 1000 * sorted(v)[len(v) // 2]
        print(f'round {r}: step {med(steps):.1f} ms, forward {med(fwd):.1f} ms, linears alone (no LM head) {med(ts):.1f} ms, load {os.getloadavg()[0]:.1f}')
