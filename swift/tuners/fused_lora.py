"""LoRA on a plain `nn.Linear` as one autograd node, with the adapter's product added in place.

PEFT's LoRA linear computes `base(x) + lora_B(lora_A(dropout(x))) * scaling` with autograd. The
rank-r products are cheap, but around them are passes over output- and input-sized tensors: the
scale and the sum in forward, the scale again in backward, and the sum of the two gradients that
reach x (through the base weight and through lora_A). On a CPU these passes are memory-bound.

`_LoraLinear` computes the same thing with BLAS doing the additions: forward adds
`scaling * (x A^T) B^T` into the base output with one in-place `addmm_`, and backward adds
`scaling * (g B) A` into `g W` the same way. Every other product is rank-r sized. The values are
PEFT's up to float rounding (tested: loss and every gradient).

`FusedLoraLinear` is PEFT's own `lora.Linear` (same parameters, same saved adapter, same merge);
only `forward` differs, and only for the plain case: one active adapter, not merged, no variant
(DoRA, ...), no bias on lora_B, a frozen base weight, one dtype throughout and no autocast, no
per-call adapter selection, no ZeRO-3 partitioned weights. Everything else goes to PEFT's forward.
It reaches PEFT through its custom-module mapping (`LoraConfig._register_custom_module`), not by
patching PEFT.
"""
import torch
import torch.nn.functional as F
from peft.tuners.lora import Linear as PeftLoraLinear

from .peft_tuners import is_quantized


def _flat(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.reshape(-1, tensor.shape[-1])


class _LoraLinear(torch.autograd.Function):
    """F.linear(x, weight, bias) + scaling * (lora_in @ lora_a^T) @ lora_b^T, where lora_in is x when
    None is passed (no dropout). The base weight is frozen; its bias may train (--lora_bias all)."""

    @staticmethod
    def forward(ctx, x, lora_in, weight, bias, lora_a, lora_b, scaling: float):
        out = F.linear(x, weight, bias).contiguous()
        source = x if lora_in is None else lora_in
        hidden = _flat(source) @ lora_a.t()
        out.view(-1, out.shape[-1]).addmm_(hidden, lora_b.t(), alpha=scaling)
        ctx.save_for_backward(source, weight, lora_a, lora_b, hidden)
        ctx.scaling, ctx.shared_input = scaling, lora_in is None
        return out

    @staticmethod
    def backward(ctx, grad_out):
        source, weight, lora_a, lora_b, hidden = ctx.saved_tensors
        want_x, want_lora_in, _, want_bias, want_a, want_b, _ = ctx.needs_input_grad
        grad = _flat(grad_out)
        grad_hidden = (grad @ lora_b).mul_(ctx.scaling)
        grad_a = grad_hidden.t() @ _flat(source) if want_a else None
        grad_b = (grad.t() @ hidden).mul_(ctx.scaling) if want_b else None
        grad_bias = grad.sum(dim=0) if want_bias else None
        grad_x = grad_lora_in = None
        if want_x:
            grad_x = grad @ weight
            if ctx.shared_input:
                grad_x.addmm_(grad_hidden, lora_a)
            grad_x = grad_x.view(*grad_out.shape[:-1], weight.shape[1])
        if want_lora_in:
            grad_lora_in = (grad_hidden @ lora_a).view(source.shape)
        return grad_x, grad_lora_in, None, grad_bias, grad_a, grad_b, None


class FusedLoraLinear(PeftLoraLinear):

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        adapter = None if args or kwargs else self._plain_adapter(x)
        if adapter is None:
            return super().forward(x, *args, **kwargs)
        base = self.get_base_layer()
        dropout = self.lora_dropout[adapter]
        lora_in = None if isinstance(dropout, torch.nn.Identity) else dropout(x)
        return _LoraLinear.apply(x, lora_in, base.weight, base.bias, self.lora_A[adapter].weight,
                                 self.lora_B[adapter].weight, self.scaling[adapter])

    def _plain_adapter(self, x: torch.Tensor):
        """The one active adapter when the fused path computes PEFT's result (up to float rounding), else None."""
        if self.disable_adapters or self.merged or len(self.active_adapters) != 1:
            return None
        adapter = self.active_adapters[0]
        if adapter not in self.lora_A or adapter in self.lora_variant:
            return None
        if self.lora_B[adapter].bias is not None:
            return None
        base = self.get_base_layer()
        if type(base) is not torch.nn.Linear or base.weight.requires_grad:
            return None  # a subclass may compute something else; a trained base weight needs its gradient
        weights = (base.weight, self.lora_A[adapter].weight, self.lora_B[adapter].weight)
        if any(hasattr(w, 'ds_id') for w in weights):
            return None  # DeepSpeed ZeRO-3 gathers a weight in its own module's forward, which this path skips
        if not (x.dtype == base.weight.dtype == self.lora_A[adapter].weight.dtype
                == self.lora_B[adapter].weight.dtype) or torch.is_autocast_enabled(x.device.type):
            return None
        return adapter


def register_fused_lora(config, model) -> bool:
    """Route plain `nn.Linear` targets of `config` to FusedLoraLinear; True when it did.

    Quantised models keep PEFT's own layers: bitsandbytes' Linear4bit is an nn.Linear subclass
    whose weight and merge PEFT handles in its bnb layer, and the custom mapping matches subclasses.
    """
    if is_quantized(model):
        return False
    config._register_custom_module({torch.nn.Linear: FusedLoraLinear})
    return True
