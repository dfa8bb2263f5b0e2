import time, torch, os
torch.set_num_threads(int(os.environ.get('T', '1')))
import torch.nn.functional as F
def bench(fn, n=50):
    for _ in range(5): fn()
    ts = []
    for _ in range(5):
        t = time.thread_time()
        for _ in range(n): fn()
        ts.append((time.thread_time() - t) / n * 1e6)
    return min(ts)
for dt in (torch.float32, torch.bfloat16):
    for (o, i) in ((576, 576), (1536, 576), (49152, 576)):
        w = torch.randn(o, i).to(dt) * 0.05
        for M in (1, 32):
            x = torch.randn(M, i).to(dt)
            print(dt, o, i, M, '%.1f us' % bench(lambda: F.linear(x, w), n=10 if o > 10000 else 50))
