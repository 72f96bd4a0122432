"""Checks the NumPy reference (reference.py) against PyTorch, for every e2e case.

Each case's block is built out of torch.nn modules (nn.LayerNorm, nn.BatchNorm1d over the
feature dim, nn.Linear, nn.GELU, timm's Attention code, PyTorch's own multi-head attention
for BERT), loads the reference's generated weights with load_state_dict(strict=True) (so
the state-dict names and shapes are PyTorch's), and must match the reference within 1e-5
(relative to max|ref|), in float64 and in float32.

Run with a Python that has torch and numpy (Debian: /usr/bin/python3 with python3-torch):
    python3 tests/e2e/check_reference_against_torch.py [--filter SUBSTR]
Prints one line per case and `N passed, M failed`; exit code 0 only if all passed.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402
from reference import norm_eps  # noqa: E402

TOLERANCE = 1e-5


class TokenBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d(C) on the features of [B, N, C] tokens (same state dict)."""

    def forward(self, x):
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class RMSNorm(nn.Module):  # torch 1.13 has no nn.RMSNorm
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class LayerScale(nn.Module):  # timm
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Attention(nn.Module):  # timm.models.vision_transformer.Attention, forward as in timm
    def __init__(self, dim, heads, qkv_bias):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):  # timm Mlp, with timm's optional `norm` after fc1
    def __init__(self, dim, hidden, act, fc1_bias, norm):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, bias=fc1_bias)
        self.act = {"gelu": nn.GELU(), "gelu_tanh": nn.GELU(approximate="tanh"),
                    "relu": nn.ReLU(), "silu": nn.SiLU()}[act]
        self.norm = norm
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.norm(self.fc1(x))))


def make_norm(kind, dim, eps):
    eps = norm_eps(kind, eps)
    return {"layernorm": lambda: nn.LayerNorm(dim, eps=eps),
            "batchnorm": lambda: TokenBatchNorm(dim, eps=eps),
            "rmsnorm": lambda: RMSNorm(dim, eps)}[kind]()


class Block(nn.Module):
    """timm-style encoder block with the placement named by the reference's function."""

    def __init__(self, dim, placement, heads, hidden, norms=("layernorm", "layernorm"),
                 eps=None, act="gelu", qkv_bias=True, fc1_bias=True, mlp_norm=None):
        super().__init__()
        self.placement = placement.__name__
        self.alpha = getattr(placement, "alpha", None)
        self.norm1 = make_norm(norms[0], dim, eps)
        self.attn = Attention(dim, heads, qkv_bias)
        self.norm2 = make_norm(norms[1], dim, eps)
        self.mlp = Mlp(dim, hidden, act, fc1_bias,
                       make_norm(mlp_norm, hidden, eps) if mlp_norm else nn.Identity())
        for i in (1, 2):
            if self.placement == "sandwich":
                self.add_module(f"norm{i}_post", make_norm(norms[i - 1], dim, eps))
            if self.placement == "layer_scale":
                self.add_module(f"ls{i}", LayerScale(dim))

    def sublayer(self, i, x, f):
        norm = getattr(self, f"norm{i}")
        if self.placement == "pre_norm":
            return x + f(norm(x))
        if self.placement == "post_norm":
            return norm(x + f(x))
        if self.placement == "sandwich":
            return x + getattr(self, f"norm{i}_post")(f(norm(x)))
        if self.placement == "layer_scale":
            return x + getattr(self, f"ls{i}")(f(norm(x)))
        if self.placement == "deep_norm":
            return norm(x * self.alpha + f(x))
        raise ValueError(self.placement)

    def forward(self, x):
        return self.sublayer(2, self.sublayer(1, x, self.attn), self.mlp)


def _tree(**children):
    m = nn.Module()
    for name, child in children.items():
        m.add_module(name, child)
    return m


class BertLayer(nn.Module):
    """HF BertLayer's modules and names; attention by torch's multi_head_attention_forward."""

    def __init__(self, dim, heads, hidden, eps=1e-12, act="gelu"):
        super().__init__()
        assert act == "gelu"
        self.heads = heads
        self.attention = _tree(
            self=_tree(query=nn.Linear(dim, dim), key=nn.Linear(dim, dim),
                       value=nn.Linear(dim, dim)),
            output=_tree(dense=nn.Linear(dim, dim), LayerNorm=nn.LayerNorm(dim, eps=eps)))
        self.intermediate = _tree(dense=nn.Linear(dim, hidden))
        self.output = _tree(dense=nn.Linear(hidden, dim), LayerNorm=nn.LayerNorm(dim, eps=eps))

    def forward(self, x):
        s, o = self.attention.self, self.attention.output
        t = x.transpose(0, 1)  # [N, B, C]
        a, _ = F.multi_head_attention_forward(
            t, t, t, x.shape[-1], self.heads, None,
            torch.cat([s.query.bias, s.key.bias, s.value.bias]), None, None, False, 0.0,
            o.dense.weight, o.dense.bias, training=False, need_weights=False,
            use_separate_proj_weight=True, q_proj_weight=s.query.weight,
            k_proj_weight=s.key.weight, v_proj_weight=s.value.weight)
        x = o.LayerNorm(x + a.transpose(0, 1))
        h = F.gelu(self.intermediate.dense(x))
        return self.output.LayerNorm(x + self.output.dense(h))


TORCH_BLOCKS = {"encoder_block": Block, "bert_block": BertLayer}


def check(case):
    w, data = case.generate()
    model = TORCH_BLOCKS[case.block.__name__](case.dim, **case.cfg).eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=True)
    errs = {}
    for dtype in (torch.float64, torch.float32):
        model.to(dtype)
        with torch.no_grad():
            errs[dtype] = max(
                np.abs(model(torch.from_numpy(x).to(dtype)).double().numpy() - ref).max()
                / np.abs(ref).max() for x, ref in data)
    return errs[torch.float64], errs[torch.float32]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--filter", default="")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    passed = failed = 0
    for case in cases.ALL + [cases.NEGATIVE_BASE]:
        if args.filter not in case.name:
            continue
        try:
            e64, e32 = check(case)
            ok = e64 <= TOLERANCE and e32 <= TOLERANCE
            msg = f"rel_err_f64={e64:.1e} rel_err_f32={e32:.1e}"
        except Exception as e:  # a wrong state-dict name or shape lands here
            ok, msg = False, f"{type(e).__name__}: {e}"
        print(f"{'PASS' if ok else 'FAIL'} {case.name} {msg}", flush=True)
        passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
