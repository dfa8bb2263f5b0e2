"""Prototype (not landed): a SmolLM2 decode step with q/k/v and gate/up fused into one matmul each, transformers'
own norm, rotary and sdpa functions otherwise. Bit-equality with the model's forward, and CPU time, alternating."""
import os, time, copy
import torch
torch.set_num_threads(int(os.environ.get('THREADS', '1')))
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from swift.infer import InferRequest
from swift.infer.transformers_engine import PtEngine
from benchmarks.fixed_throughput import _messages
engine = PtEngine('smollm2-135m-instruct', torch_dtype=os.environ.get('DTYPE', 'bfloat16'), max_batch_size=1)
model = engine.model
inner = model.model
ids = engine._encode(InferRequest(_messages(1)[0]))
layers = inner.layers
fused = []
for L in layers:
    a, m = L.self_attn, L.mlp
    fused.append((torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]), torch.cat([m.gate_proj.weight, m.up_proj.weight])))
cfg = model.config
H, KV, D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads
def fused_step(token, pos, cache):
    h = inner.embed_tokens(torch.tensor([[token]]))
    position_ids = torch.tensor([[pos]])
    cos, sin = inner.rotary_emb(h, position_ids)
    for i, L in enumerate(layers):
        wqkv, wgu = fused[i]
        r = h
        x = L.input_layernorm(h)
        qkv = F.linear(x, wqkv)
        q = qkv[..., :H * D].view(1, 1, H, D).transpose(1, 2)
        k = qkv[..., H * D:(H + KV) * D].view(1, 1, KV, D).transpose(1, 2)
        v = qkv[..., (H + KV) * D:].view(1, 1, KV, D).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        k, v = cache.update(k, v, i)
        o, _ = sdpa_attention_forward(L.self_attn, q, k, v, None, dropout=0.0, scaling=L.self_attn.scaling)
        h = r + L.self_attn.o_proj(o.reshape(1, 1, H * D))
        r = h
        x = L.post_attention_layernorm(h)
        gu = F.linear(x, wgu)
        inter = gu.shape[-1] // 2
        h = r + L.mlp.down_proj(L.mlp.act_fn(gu[..., :inter]) * gu[..., inter:])
    return model.lm_head(inner.norm(h))[:, -1, :]
with torch.inference_mode():
    cache = DynamicCache()
    out = model(input_ids=torch.tensor([ids]), past_key_values=cache, use_cache=True, logits_to_keep=1)
    token = int(out.logits[0, -1].argmax())
    base = copy.deepcopy(cache)
    ref_cache, fus_cache = copy.deepcopy(base), copy.deepcopy(base)
    t1, t2, pos = token, token, len(ids)
    same = 0
    for step in range(40):  # greedy both ways, each on its own cache
        ref = model(input_ids=torch.tensor([[t1]]), past_key_values=ref_cache, use_cache=True, logits_to_keep=1).logits[:, -1, :]
        fus = fused_step(t2, pos, fus_cache)
        same += torch.equal(ref, fus)
        t1, t2, pos = int(ref.argmax()), int(fus.argmax()), pos + 1
    print(f'{model.dtype}: logits bit-equal on {same}/40 greedy decode steps; tokens equal to the end: {t1 == t2}')
    for r in range(3):
        res = {}
        for name in (['hf', 'fused'] if r % 2 == 0 else ['fused', 'hf']):
            c = copy.deepcopy(base); tok = token; ts = []
            for s in range(40):
                t = time.thread_time()
                if name == 'hf':
                    lg = model(input_ids=torch.tensor([[tok]]), past_key_values=c, use_cache=True, logits_to_keep=1).logits[:, -1, :]
                else:
                    lg = fused_step(tok, len(ids) + s, c)
                ts.append(time.thread_time() - t); tok = int(lg.argmax())
            ts.sort(); res[name] = (1000 * ts[len(ts) // 2], 1000 * ts[0])
        print(f"round {r}: forward CPU ms median/min: transformers {res['hf'][0]:.1f}/{res['hf'][1]:.1f}, fused {res['fused'][0]:.1f}/{res['fused'][1]:.1f}, load {os.getloadavg()[0]:.1f}", flush=True)
