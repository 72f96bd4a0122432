"""timm/PyTorch references for blockc's whole-model tests (run_models.py).

Each case is a timm VisionTransformer: timm's own vit_tiny/small/base_patch16_224
(`timm.create_model(name, pretrained=False)`), ViTBN and ViTBNFFN built from them with
their LayerNorms replaced by BatchNorm over the token features (vit_variants.py), and
timm VisionTransformers of sizes no example uses. For a case, `generate` builds the model
seeded (torch.manual_seed), makes every parameter and buffer that a mistake could hide
behind non-trivial (below), puts it in eval mode and writes into a folder:

  weights.safetensors              model.state_dict(), float32 (BatchNorm's
                                   num_batches_tracked as the int64 it is)
  weights_no_counters.safetensors  (BatchNorm models) the same without num_batches_tracked
  pixel_values_b{B}.npy            seeded random float32 [B, 3, H, W], B = 1 and 3
  features_b{B}.npy                timm's pooled pre-logits features,
                                   model.forward_head(model.forward_features(x), pre_logits=True)
  logits_b{B}.npy                  timm's model(x) (not for a features-only model)
  case.json                        what a model spec must state, read from the built model:
                                   sizes, each norm's type and eps, pooling, class token,
                                   final norm / fc_norm, classes, every state-dict tensor

The outputs are timm's forward in float32 under torch.no_grad(); blockc is never involved.

Non-trivial parameters: timm initializes LayerNorm to weight 1 / bias 0, Linear biases to 0,
cls_token to ~1e-6 and pos_embed to std 0.02, and Linear weights with std 0.02 (so attention
is nearly uniform, where a wrong scale or head split would barely show). Here every Linear
and Conv2d weight is redrawn with std 1/sqrt(fan_in) (attention scores of O(1)), every bias
is random, every norm's weight and bias are random, cls_token and pos_embed are O(1), and a
BatchNorm's running statistics are the statistics of a seeded calibration batch (the model
in train mode, momentum None), then perturbed per feature (the mean shifted, the variance
scaled: never 0 and 1). `check` shows each of these groups changes the output.

    reference.py --list
    reference.py CASE [CASE...] --out DIR [--seed S] [--check]
Writes DIR/CASE/..., prints case.json and the time each case took.
Run with .venv-torch/bin/python (tools/setup.sh: Debian's torch, timm from PyPI).
"""
import os

# Before torch starts its OpenMP threads: on a loaded 2-core machine, spinning threads slow
# every other process (and torch itself) down.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import copy  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import timm  # noqa: E402

from vit_variants import TokenBatchNorm, randomize, replace_norms  # noqa: E402,F401
from timm.models.vision_transformer import VisionTransformer  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "models"
SPECS = Path(__file__).resolve().parent / "specs"
BATCHES = (1, 3)
SEED = 0


def timm_vit(name):
    return lambda: timm.create_model(name, pretrained=False)


def custom_vit(**kwargs):
    return lambda: VisionTransformer(**kwargs)


def with_batchnorm(make, where):
    """ViTBN or ViTBNFFN (vit_variants.replace_norms) of the model `make` builds."""
    return lambda: replace_norms(make(), where)


@dataclass
class Case:
    name: str
    build: object   # () -> torch model, built under torch.manual_seed
    spec: Path      # the blockc model spec
    about: str

    @property
    def batchnorm(self):
        return "vitbn" in self.name


CASES = [
    Case("vit_tiny_patch16_224", timm_vit("vit_tiny_patch16_224"),
         EXAMPLES / "vit_tiny_patch16_224.block", "timm, 5.7 M parameters"),
    Case("vit_small_patch16_224", timm_vit("vit_small_patch16_224"),
         EXAMPLES / "vit_small_patch16_224.block", "timm, 22 M parameters"),
    Case("vit_base_patch16_224", timm_vit("vit_base_patch16_224"),
         EXAMPLES / "vit_base_patch16_224.block", "timm, 86 M parameters"),
    Case("vitbn_base_patch16_224", with_batchnorm(timm_vit("vit_base_patch16_224"), "all"),
         EXAMPLES / "vitbn_base_patch16_224.block", "ViTBN: every LayerNorm -> BatchNorm"),
    Case("vitbnffn_base_patch16_224",
         with_batchnorm(timm_vit("vit_base_patch16_224"), "ffn"),
         EXAMPLES / "vitbnffn_base_patch16_224.block", "ViTBNFFN: norm2 -> BatchNorm"),
    Case("vitbn_tiny_patch16_224", with_batchnorm(timm_vit("vit_tiny_patch16_224"), "all"),
         SPECS / "vitbn_tiny_patch16_224.block", "ViTBN at ViT-Ti sizes"),
    Case("vitbnffn_tiny_patch16_224",
         with_batchnorm(timm_vit("vit_tiny_patch16_224"), "ffn"),
         SPECS / "vitbnffn_tiny_patch16_224.block", "ViTBNFFN at ViT-Ti sizes"),
    # Sizes no example uses. 48x64 image, 8x8 patches: 6x8 = 48 patches + class token;
    # global_pool 'avg' (mean of the patch tokens) with fc_norm and no final norm.
    Case("vit_avgpool_48x64_p8", custom_vit(
        img_size=(48, 64), patch_size=8, embed_dim=96, depth=3, num_heads=4, mlp_ratio=2,
        num_classes=10, global_pool="avg"),
        SPECS / "vit_avgpool_48x64_p8.block", "class token, mean pooling, fc_norm, 10 classes"),
    # No class token, mean of all tokens, fc_norm, no head (features only); 5x7 = 35 tokens.
    Case("vit_nocls_features_40x56_p8", custom_vit(
        img_size=(40, 56), patch_size=8, embed_dim=64, depth=2, num_heads=2, mlp_ratio=3,
        class_token=False, global_pool="avg", num_classes=0),
        SPECS / "vit_nocls_features_40x56_p8.block", "no class token, no head: features only"),
    # No qkv bias, 5 heads of 16, 8x8 patches of 4: 64 + 1 tokens, 7 classes, class-token
    # pooling; every LayerNorm with eps 1e-3, large enough that a spec or a compiler that
    # used timm's default 1e-6 instead lies outside the tolerance.
    Case("vit_noqkvbias_32_p4", custom_vit(
        img_size=32, patch_size=4, embed_dim=80, depth=2, num_heads=5, mlp_ratio=4,
        qkv_bias=False, num_classes=7, norm_layer=functools.partial(nn.LayerNorm, eps=1e-3)),
        SPECS / "vit_noqkvbias_32_p4.block", "qkv_bias=False, LayerNorm eps 1e-3"),
]
BY_NAME = {c.name: c for c in CASES}


# ----------------------------------------------------------------------------- the model

def _norms(model):
    return [m for m in model.modules() if isinstance(m, (nn.LayerNorm, nn.BatchNorm1d))]


def set_threads():
    """All cores, at most 4 (torch's default may be 1 here)."""
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))


def build(case, seed=SEED):
    torch.manual_seed(seed)
    model = case.build()
    randomize(model, seed)
    return model.float().eval()


def describe(case, model):
    """What a model spec must state, read from the built model (asserting what the spec
    language cannot express is absent)."""
    pe, blocks = model.patch_embed, list(model.blocks)
    b0 = blocks[0]

    def norm(m):
        if isinstance(m, nn.Identity):
            return None
        if isinstance(m, TokenBatchNorm):
            return {"type": "batchnorm", "eps": m.eps}
        assert type(m) in (nn.LayerNorm, timm.layers.LayerNorm), type(m)
        assert m.elementwise_affine
        return {"type": "layernorm", "eps": m.eps}

    for blk in blocks:
        assert norm(blk.norm1) == norm(b0.norm1) and norm(blk.norm2) == norm(b0.norm2)
        for ident in (blk.ls1, blk.ls2, blk.attn.q_norm, blk.attn.k_norm, blk.attn.norm,
                      blk.mlp.norm, blk.drop_path1, blk.drop_path2):
            assert isinstance(ident, nn.Identity), ident
        assert type(blk.mlp.act) is nn.GELU and blk.mlp.act.approximate == "none"
        assert blk.attn.proj.bias is not None and blk.mlp.fc1.bias is not None
    assert model.reg_token is None and not model.no_embed_class and not model.dynamic_img_size
    assert isinstance(model.norm_pre, nn.Identity) and model.attn_pool is None
    assert isinstance(pe.norm, nn.Identity) and pe.flatten and pe.proj.bias is not None
    assert tuple(pe.proj.kernel_size) == tuple(pe.proj.stride) == tuple(pe.patch_size)
    assert model.global_pool in ("token", "avg") and not model.pool_include_prefix
    head = model.head if isinstance(model.head, nn.Linear) else None
    class_token = model.cls_token is not None
    tokens = pe.num_patches + model.num_prefix_tokens
    assert tuple(model.pos_embed.shape) == (1, tokens, model.embed_dim)
    pooling = {"token": "class token: take(x, 0)",
               "avg": "mean(x, from = 1)" if class_token else "mean(x)"}[model.global_pool]
    return {
        "case": case.name,
        "about": case.about,
        "spec": str(case.spec.relative_to(ROOT)),
        "image_size": list(pe.img_size),          # [H, W]
        "in_chans": pe.proj.in_channels,
        "patch_size": list(pe.patch_size),
        "grid": list(pe.grid_size),
        "patches": pe.num_patches,
        "class_token": class_token,
        "tokens": tokens,                          # patches + class token
        "dim": model.embed_dim,
        "depth": len(blocks),
        "heads": b0.attn.num_heads,
        "head_dim": b0.attn.head_dim,
        "mlp_hidden": b0.mlp.fc1.out_features,
        "qkv_bias": b0.attn.qkv.bias is not None,
        "norm1": norm(b0.norm1),
        "norm2": norm(b0.norm2),
        "final_norm": norm(model.norm),            # `norm`, on all tokens before pooling
        "global_pool": model.global_pool,
        "pooling": pooling,
        "fc_norm": norm(model.fc_norm),            # `fc_norm`, after pooling
        "num_classes": head.out_features if head is not None else 0,
        "head": head is not None,
        "outputs": ["features", "logits"] if head is not None else ["features"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "state_dict": {k: list(v.shape) for k, v in model.state_dict().items()},
        "versions": {"torch": torch.__version__, "timm": timm.__version__},
    }


@torch.no_grad()
def forward(model, x):
    """timm's outputs: {'features': pooled pre-logits, 'logits': the head's output} as
    NumPy arrays; the tokens are computed once for both, exactly as timm's forward does
    (VisionTransformer.forward is forward_head(forward_features(x))). A features-only
    model (no head) has no logits."""
    t = torch.from_numpy(x).to(next(model.parameters()).dtype)
    tokens = model.forward_features(t)
    out = {"features": model.forward_head(tokens, pre_logits=True)}
    if isinstance(model.head, nn.Linear):
        out["logits"] = model.forward_head(tokens)
    return {k: v.numpy() for k, v in out.items()}


def pixel_values(case_info, B, seed=SEED):
    H, W = case_info["image_size"]
    return np.random.default_rng((seed, B)).standard_normal(
        (B, case_info["in_chans"], H, W), dtype=np.float32)


def state_dict(model):
    sd = {}
    for k, v in model.state_dict().items():
        v = v.detach().contiguous()
        sd[k] = v if k.endswith("num_batches_tracked") else v.float()
    return sd


def generate(case, out, seed=SEED):
    """Writes the case's reference folder (module docstring); returns case.json's dict."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    model = build(case, seed)
    info = describe(case, model)
    sd = state_dict(model)
    save_file(sd, str(out / "weights.safetensors"))
    counters = [k for k in sd if k.endswith("num_batches_tracked")]
    assert bool(counters) == case.batchnorm, counters
    if counters:
        save_file({k: v for k, v in sd.items() if k not in counters},
                  str(out / "weights_no_counters.safetensors"))
    for B in BATCHES:
        x = pixel_values(info, B, seed)
        np.save(out / f"pixel_values_b{B}.npy", x)
        for name, y in forward(model, x).items():
            assert y.dtype == np.float32 and np.isfinite(y).all()
            np.save(out / f"{name}_b{B}.npy", y)
    info.update(seed=seed, batches=list(BATCHES), counters=counters,
                seconds=round(time.time() - start, 2))
    (out / "case.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


# ----------------------------------------------------------------------------- checks

def rel_err(y, ref):
    return float(np.abs(y.astype(np.float64) - ref.astype(np.float64)).max()
                 / np.abs(ref.astype(np.float64)).max())


# Parameter groups a mistake could hide behind, each with its trivial (timm/PyTorch init)
# value; resetting any one must move the output (SENSITIVITY relative to max|output|).
SENSITIVITY = 1e-3
TRIVIAL = {
    "norm weights": (lambda k, m: k.endswith(".weight") and isinstance(m, (nn.LayerNorm, nn.BatchNorm1d)), 1.0),
    "norm biases": (lambda k, m: k.endswith(".bias") and isinstance(m, (nn.LayerNorm, nn.BatchNorm1d)), 0.0),
    "running_mean": (lambda k, m: k.endswith(".running_mean"), 0.0),
    "running_var": (lambda k, m: k.endswith(".running_var"), 1.0),
    "cls_token": (lambda k, m: k == "cls_token", 0.0),
    "pos_embed": (lambda k, m: k == "pos_embed", 0.0),
    "patch_embed bias": (lambda k, m: k == "patch_embed.proj.bias", 0.0),
    "qkv bias": (lambda k, m: k.endswith("attn.qkv.bias"), 0.0),
    "proj biases": (lambda k, m: k.endswith("attn.proj.bias"), 0.0),
    "mlp biases": (lambda k, m: ".mlp.fc" in k and k.endswith(".bias"), 0.0),
    "head bias": (lambda k, m: k == "head.bias", 0.0),
}


def _owner(model, key):
    return model.get_submodule(key.rpartition(".")[0]) if "." in key else model


@torch.no_grad()
def check(case, out, seed=SEED):
    """Checks a generated reference folder against a freshly built model: returns
    (ok, lines). The weight file must reproduce the outputs exactly (strict load, and the
    no-counters file with only num_batches_tracked missing); float32 timm must be within 1e-5
    of the same model in float64 (so the reference's own rounding is far below the 1e-4
    tolerance); each parameter group reset to its trivial value must change the output."""
    out = Path(out)
    info = json.loads((out / "case.json").read_text())
    lines, ok = [], True
    model = build(case, seed + 12345)  # other values, replaced by the file's
    sd = load_file(str(out / "weights.safetensors"))
    model.load_state_dict(sd, strict=True)
    model.eval()
    refs = {B: {n: np.load(out / f"{n}_b{B}.npy") for n in info["outputs"]} for B in BATCHES}
    xs = {B: np.load(out / f"pixel_values_b{B}.npy") for B in BATCHES}
    for B in BATCHES:
        got = forward(model, xs[B])
        whole = model(torch.from_numpy(xs[B])).numpy()  # timm's forward, in one call
        got_whole = got.get("logits", got["features"])
        if not np.array_equal(whole, got_whole):
            ok = False
            lines.append(f"model(x) differs from forward_head(forward_features(x)) at B={B} "
                         f"(rel {rel_err(whole, got_whole):.1e})")
        for n in info["outputs"]:
            if not np.array_equal(got[n], refs[B][n]):
                ok = False
                lines.append(f"reload: {n} B={B} differs from the saved reference "
                             f"(rel {rel_err(got[n], refs[B][n]):.1e})")
    if info["counters"]:
        # The counters are absent from the second file and nothing else is; PyTorch itself
        # loads it (BatchNorm fills in a missing num_batches_tracked) to the same outputs.
        nc = load_file(str(out / "weights_no_counters.safetensors"))
        if sorted(set(sd) - set(nc)) != sorted(info["counters"]) or set(nc) - set(sd):
            ok = False
            lines.append(f"no-counters file: keys {sorted(set(sd) ^ set(nc))} differ, "
                         f"expected exactly {info['counters']} missing")
        m2 = build(case, seed + 12345)
        res = m2.load_state_dict(nc, strict=False)
        if res.unexpected_keys or set(res.missing_keys) - set(info["counters"]):
            ok = False
            lines.append(f"no-counters file: missing {res.missing_keys}, "
                         f"unexpected {res.unexpected_keys}")
        for n in info["outputs"]:
            if not np.array_equal(forward(m2.eval(), xs[1])[n], refs[1][n]):
                ok = False
                lines.append(f"no-counters file: {n} differs from the reference")
        lines.append(f"no-counters file: {len(info['counters'])} num_batches_tracked dropped")
    m64 = copy.deepcopy(model).double()
    e64 = max(rel_err(refs[B][n], forward(m64, xs[B])[n])
              for B in BATCHES for n in info["outputs"])
    ok &= e64 <= 1e-5
    lines.append(f"float32 vs float64: {e64:.1e}")
    base = forward(model, xs[1])
    sens = []
    for group, (select, value) in TRIVIAL.items():
        keys = [k for k in sd if select(k, _owner(model, k))]
        if not keys:
            continue
        m = copy.deepcopy(model)
        msd = m.state_dict()
        for k in keys:
            msd[k].fill_(value)
        moved = max(rel_err(forward(m, xs[1])[n], base[n]) for n in info["outputs"])
        sens.append(f"{group} {moved:.0e}")
        if moved <= SENSITIVITY:
            ok = False
            lines.append(f"resetting {group} ({len(keys)} tensors) moves the output by only "
                         f"{moved:.1e} <= {SENSITIVITY:g}: not a real test of them")
    lines.append("reset -> output moves: " + ", ".join(sens))
    return ok, lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ap.add_argument("--out", help="folder: one subfolder per case")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--check", action="store_true", help="also check each reference")
    args = ap.parse_args()
    if args.list:
        for c in CASES:
            print(f"{c.name:30s} {c.about}  [{c.spec.relative_to(ROOT)}]")
        return 0
    if not args.out:
        ap.error("--out is required")
    unknown = [n for n in args.cases if n not in BY_NAME]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; --list lists them")
    set_threads()
    failed = 0
    for c in [BY_NAME[n] for n in args.cases] or CASES:
        info = generate(c, Path(args.out) / c.name, args.seed)
        shown = {k: v for k, v in info.items() if k != "state_dict"}
        print(json.dumps(shown))
        print(f"{c.name}: generated in {info['seconds']} s", flush=True)
        if args.check:
            start = time.time()
            ok, lines = check(c, Path(args.out) / c.name, args.seed)
            failed += not ok
            for s in lines:
                print(f"  {s}")
            print(f"{'PASS' if ok else 'FAIL'} {c.name} check ({time.time() - start:.1f} s)",
                  flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
