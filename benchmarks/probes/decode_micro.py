import time, torch, os
torch.set_num_threads(int(os.environ.get('T', '1')))
import torch.nn.functional as F
torch.manual_seed(0)
def bench(fn, n=200):
    for _ in range(10): fn()
    ts = []
    for _ in range(5):
        t = time.thread_time()
        for _ in range(n): fn()
        ts.append((time.thread_time() - t) / n * 1e6)
    return min(ts)
bf = torch.bfloat16
for L in (80, 300):
    q = torch.randn(1, 9, 1, 64, dtype=bf); k = torch.randn(1, 3, L, 64, dtype=bf); v = torch.randn(1, 3, L, 64, dtype=bf)
    a = F.scaled_dot_product_attention(q, k, v, enable_gqa=True, scale=0.125)
    kr, vr = k.repeat_interleave(3, 1), v.repeat_interleave(3, 1)
    b = F.scaled_dot_product_attention(q, kr, vr, scale=0.125)
    # transformers' repeat_kv: expand + reshape
    ke = k[:, :, None].expand(1, 3, 3, L, 64).reshape(1, 9, L, 64); ve = v[:, :, None].expand(1, 3, 3, L, 64).reshape(1, 9, L, 64)
    c = F.scaled_dot_product_attention(q, ke, ve, scale=0.125)
    print(L, 'equal gqa vs repeat', torch.equal(a, b), torch.equal(a, c),
          'gqa %.1f us' % bench(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True, scale=0.125)),
          'repeat+sdpa %.1f us' % bench(lambda: F.scaled_dot_product_attention(q, k[:, :, None].expand(1, 3, 3, L, 64).reshape(1, 9, L, 64), v[:, :, None].expand(1, 3, 3, L, 64).reshape(1, 9, L, 64), scale=0.125)),
          'sdpa on repeated %.1f us' % bench(lambda: F.scaled_dot_product_attention(q, kr, vr, scale=0.125)))
x = torch.randn(1, 1, 576)
print('mean fp32 576: %.1f us' % bench(lambda: x.pow(2).mean(-1, keepdim=True)), 'sum %.1f' % bench(lambda: x.sum(-1, keepdim=True)))
# fused qkv
W = [torch.randn(o, 576, dtype=bf) * 0.05 for o in (576, 192, 192)]
Wf = torch.cat(W, 0)
G = [torch.randn(1536, 576, dtype=bf) * 0.05 for _ in range(2)]; Gf = torch.cat(G, 0)
for M in (1, 32):
    x = torch.randn(M, 576, dtype=bf)
    sep = torch.cat([F.linear(x, w) for w in W], -1); fus = F.linear(x, Wf)
    sepg = torch.cat([F.linear(x, w) for w in G], -1); fusg = F.linear(x, Gf)
    print(M, 'qkv equal', torch.equal(sep, fus), 'gate/up equal', torch.equal(sepg, fusg),
          'qkv sep %.1f fused %.1f us' % (bench(lambda: [F.linear(x, w) for w in W]), bench(lambda: F.linear(x, Wf))),
          'gu sep %.1f fused %.1f us' % (bench(lambda: [F.linear(x, w) for w in G]), bench(lambda: F.linear(x, Gf))))
