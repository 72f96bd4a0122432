"""NumPy reference for blockc's end-to-end tests.

Written from the formulas in docs/language.md and shared/notes/norms.md, in float64.
It never reads a .block file: each test case pairs a spec text with one of the block
functions below, so the compiler and the reference are two independent implementations.

Weights: a `Weights` object is a state dict that fills itself. A layer asks it for its
tensors by their PyTorch/timm/HF names; a tensor it does not hold yet is created at random
(float32, scaled so activations stay O(1)). So running a block function once defines the
weight file that the compiled module must accept, names and shapes included.
"""
import functools
import math

import numpy as np

# ----------------------------------------------------------------------------- formulas

_erf = np.frompyfunc(math.erf, 1, 1)  # math.erf is correctly rounded to double precision


def erf(t):
    return _erf(t).astype(np.float64)


def gelu(t):
    return 0.5 * t * (1.0 + erf(t / math.sqrt(2.0)))


def gelu_tanh(t):
    return 0.5 * t * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (t + 0.044715 * t**3)))


def relu(t):
    return np.maximum(t, 0.0)


def silu(t):
    return t / (1.0 + np.exp(-t))


ACTIVATIONS = {"gelu": gelu, "gelu_tanh": gelu_tanh, "relu": relu, "silu": silu}


def layernorm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def rmsnorm(x, weight, eps):
    return x / np.sqrt((x**2).mean(-1, keepdims=True) + eps) * weight


def batchnorm(x, weight, bias, running_mean, running_var, eps):
    """Inference BatchNorm per feature (the last axis), with the running statistics."""
    return (x - running_mean) / np.sqrt(running_var + eps) * weight + bias


def linear(x, weight, bias=None):
    """PyTorch layout: weight [out, in]."""
    y = x @ weight.T
    return y if bias is None else y + bias


def softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def mha(q, k, v, heads):
    """Self-attention core on separate [B, N, C] q, k, v; heads of size C/heads."""
    B, N, C = q.shape
    hd = C // heads
    q, k, v = (t.reshape(B, N, heads, hd).transpose(0, 2, 1, 3) for t in (q, k, v))
    a = softmax(q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd))
    return (a @ v).transpose(0, 2, 1, 3).reshape(B, N, C)


def mha_packed(qkv, heads):
    """timm layout: qkv.reshape(B, N, 3, heads, hd), q/k/v first, then heads."""
    B, N, C3 = qkv.shape
    C = C3 // 3
    q, k, v = qkv.reshape(B, N, 3, heads, C // heads).transpose(2, 0, 1, 3, 4)
    return mha(*(t.reshape(B, N, C) for t in (q, k, v)), heads)


# ----------------------------------------------------------------------------- weights

DEFAULT_EPS = {"layernorm": 1e-5, "rmsnorm": 1e-6, "batchnorm": 1e-5}


def norm_eps(kind, eps):
    """eps: None (each kind's default), a number, or a dict {kind: eps} (others default)."""
    if isinstance(eps, dict):
        return eps.get(kind, DEFAULT_EPS[kind])
    return DEFAULT_EPS[kind] if eps is None else eps


class Weights(dict):
    """A state dict (name -> float32/int64 numpy array) that creates missing tensors."""

    def __init__(self, seed=0):
        super().__init__()
        self.rng = np.random.default_rng(seed)

    def _init(self, init, shape):
        r = self.rng
        if init == "fan_in":  # linear weight [out, in]
            return r.standard_normal(shape) / math.sqrt(shape[-1])
        if init == "small":  # biases, LayerNorm beta, BatchNorm running_mean
            return 0.1 * r.standard_normal(shape)
        if init == "scale":  # norm gammas, LayerScale gamma
            return r.uniform(0.5, 1.5, shape)
        if init == "var":  # BatchNorm running_var, positive
            return r.uniform(0.5, 2.0, shape)
        raise ValueError(init)

    def param(self, name, shape, init):
        """The tensor `name` as float64, created (float32) if absent."""
        if name not in self:
            self[name] = self._init(init, shape).astype(np.float32)
        t = self[name]
        assert t.shape == tuple(shape), f"{name}: {t.shape} != {shape}"
        return t.astype(np.float64)

    # ---- layers, by kind (docs/language.md, "Layer kinds and their tensors")

    def norm(self, kind, name, x, eps=None):
        C = x.shape[-1]
        eps = norm_eps(kind, eps)
        gamma = self.param(f"{name}.weight", (C,), "scale")
        if kind == "layernorm":
            return layernorm(x, gamma, self.param(f"{name}.bias", (C,), "small"), eps)
        if kind == "rmsnorm":
            return rmsnorm(x, gamma, eps)
        if kind == "batchnorm":
            beta = self.param(f"{name}.bias", (C,), "small")
            mean = self.param(f"{name}.running_mean", (C,), "small")
            var = self.param(f"{name}.running_var", (C,), "var")
            self.setdefault(f"{name}.num_batches_tracked", np.array(1000, dtype=np.int64))
            return batchnorm(x, gamma, beta, mean, var, eps)
        raise ValueError(kind)

    def linear(self, name, x, out, bias=True):
        w = self.param(f"{name}.weight", (out, x.shape[-1]), "fan_in")
        return linear(x, w, self.param(f"{name}.bias", (out,), "small") if bias else None)

    def attention(self, name, x, heads, qkv_bias=True, proj_bias=True):
        """timm Attention: proj(mha(qkv(x)))."""
        C = x.shape[-1]
        qkv = self.linear(f"{name}.qkv", x, 3 * C, qkv_bias)
        return self.linear(f"{name}.proj", mha_packed(qkv, heads), C, proj_bias)

    def layerscale(self, name, x):
        return x * self.param(f"{name}.gamma", (x.shape[-1],), "scale")


# ----------------------------------------------------------------------------- blocks
# A sub-layer placement wires one sub-layer f (attention or MLP) with its norm(s) into the
# residual stream; i is the sub-layer's number (norm1/ls1 for attention, norm2/ls2 for MLP).


def pre_norm(w, i, x, f, kind, eps):  # ViT: x + f(norm(x))
    return x + f(w.norm(kind, f"norm{i}", x, eps))


def post_norm(w, i, x, f, kind, eps):  # BERT "Add & Norm": norm(x + f(x))
    return w.norm(kind, f"norm{i}", x + f(x), eps)


def sandwich(w, i, x, f, kind, eps):  # Swin-v2 res-post: x + norm_post(f(norm(x)))
    return x + w.norm(kind, f"norm{i}_post", f(w.norm(kind, f"norm{i}", x, eps)), eps)


def layer_scale(w, i, x, f, kind, eps):  # timm LayerScale: x + ls(f(norm(x)))
    return x + w.layerscale(f"ls{i}", f(w.norm(kind, f"norm{i}", x, eps)))


def deep_norm(alpha):  # DeepNorm: norm(alpha x + f(x))
    def place(w, i, x, f, kind, eps):
        return w.norm(kind, f"norm{i}", x * alpha + f(x), eps)
    place.__name__, place.alpha = "deep_norm", alpha
    return place


def mlp(w, x, hidden, act="gelu", fc1_bias=True, mlp_norm=None, eps=None):
    """timm Mlp: fc2(act(fc1(x))), optionally with a norm `mlp.norm` after fc1."""
    h = w.linear("mlp.fc1", x, hidden, fc1_bias)
    if mlp_norm:
        h = w.norm(mlp_norm, "mlp.norm", h, eps)
    return w.linear("mlp.fc2", ACTIVATIONS[act](h), x.shape[-1])


def encoder_block(x, w, placement, heads, hidden, norms=("layernorm", "layernorm"),
                  eps=None, act="gelu", qkv_bias=True, fc1_bias=True, mlp_norm=None):
    """timm-style block: attention then MLP, each placed by `placement` with norms[i]."""
    attn = functools.partial(w.attention, "attn", heads=heads, qkv_bias=qkv_bias)
    ffn = functools.partial(mlp, w, hidden=hidden, act=act, fc1_bias=fc1_bias,
                            mlp_norm=mlp_norm, eps=eps)
    x = placement(w, 1, x, attn, norms[0], eps)
    return placement(w, 2, x, ffn, norms[1], eps)


prenorm_block = functools.partial(encoder_block, placement=pre_norm)
postnorm_block = functools.partial(encoder_block, placement=post_norm)
sandwich_block = functools.partial(encoder_block, placement=sandwich)
layerscale_block = functools.partial(encoder_block, placement=layer_scale)


def deepnorm_block(x, w, alpha, **kw):
    return encoder_block(x, w, placement=deep_norm(alpha), **kw)


bn_between_ffn_linears_block = functools.partial(prenorm_block, mlp_norm="batchnorm")


def bert_block(x, w, heads, hidden, eps=1e-12, act="gelu"):
    """HF BertLayer (post-norm, separate query/key/value), without an attention mask."""
    C = x.shape[-1]
    q, k, v = (w.linear(f"attention.self.{n}", x, C) for n in ("query", "key", "value"))
    a = w.linear("attention.output.dense", mha(q, k, v, heads), C)
    x = w.norm("layernorm", "attention.output.LayerNorm", x + a, eps)
    h = ACTIVATIONS[act](w.linear("intermediate.dense", x, hidden))
    return w.norm("layernorm", "output.LayerNorm", x + w.linear("output.dense", h, C), eps)
