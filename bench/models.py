#!/usr/bin/env python3
"""Compares blockc with PyTorch (timm, eager) and ONNX Runtime on whole Vision Transformers:
same weights, same input, same thread count, all timed in one process, interleaved.

For each model of examples/models/ (vit_tiny, vit_small, vit_base: timm's
`create_model(name, pretrained=False)`; vitbn_base and vitbnffn_base: timm's ViT-B/16 with its
LayerNorms replaced by BatchNorm over the token features, every one for ViTBN, each block's
norm2 for ViTBNFFN):
- build the timm model seeded, give every weight, bias, norm parameter and BatchNorm running
  statistic a non-trivial value (below), eval(), save model.state_dict() with safetensors;
- `blockc compile examples/models/<name>.block`, bind the state dict, run through the runtime's
  C API (blockc_module_run_named on DLPack tensors, via ctypes), and check blockc's logits and
  features against timm's forward (max |blockc - timm| / max |timm| <= 1e-4) before timing;
- export the model to ONNX (opset 17, dynamic batch) and run it in ONNX Runtime twice: as
  exported (all of ORT's graph optimizations) and after ORT's transformer optimizer
  (onnxruntime.transformers.optimizer.optimize_model, model_type 'vit') on an export whose
  packed qkv Linears are split into query/key/value (SplitQKVAttention: the graph the
  optimizer fuses into Attention); both are timed and the faster is the ORT column;
- PyTorch eager under torch.inference_mode() in fp32, and (where the CPU runs it) under
  torch.autocast("cpu", torch.bfloat16) as an extra column, not held to the tolerance;
- time all of them interleaved at each batch size, after waiting for other processes to
  leave the cores, and report median [p10-p90] ms, GFLOP/s (the manifest's flops_per_sample,
  2 x multiply-adds, checked against a count from the model's sizes), the share of the FP32
  peak measured in the same run (bench/peak.c) and blockc's speed-up against each peer.

PyTorch runs with its own default thread behaviour: OMP_WAIT_POLICY is not set here (PASSIVE
slows PyTorch on small shapes); OMP_NUM_THREADS and MKL_NUM_THREADS are set to --threads
unless already set; the report states what was in force.

  bench/.venv/bin/python bench/models.py [--models vit_tiny ...] [--batch 1 8] [--threads 2]
  (or bench/run.sh --models [the same options])
"""
import argparse
import os
import sys

# The threads, read before torch is imported (OpenMP reads its environment at load).
from common import THREADS_DEFAULT, early_threads  # noqa: E402


ENV = {"OMP_NUM_THREADS": early_threads(), "MKL_NUM_THREADS": early_threads()}
for k, v in ENV.items():
    os.environ.setdefault(k, v)
REPORTED_ENV = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME",
                "OMP_PROC_BIND", "ONEDNN_DEFAULT_FPMATH_MODE"]

import datetime  # noqa: E402
import copy  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import timm  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "models"))
from vit_variants import randomize, replace_norms  # noqa: E402

from common import (BLOCKC, QUIET, ROOT, TOLERANCE, TURN_WARMUP_NOTE, Blockc, Peak, blockc_version, cpu_model,  # noqa: E402
                    machine_load, max_rel_err, ort_session, summarize, time_quietest, wait_for_quiet)

EXAMPLES = ROOT / "examples" / "models"


# ---------------------------------------------------------------------------------------
# The models
# ---------------------------------------------------------------------------------------
# short name -> (blockc spec in examples/models, timm model, where BatchNorm replaces LayerNorm)
MODELS = {
    "vit_tiny": ("vit_tiny_patch16_224", "vit_tiny_patch16_224", None),
    "vit_small": ("vit_small_patch16_224", "vit_small_patch16_224", None),
    "vit_base": ("vit_base_patch16_224", "vit_base_patch16_224", None),
    "vitbn_base": ("vitbn_base_patch16_224", "vit_base_patch16_224", "all"),
    "vitbnffn_base": ("vitbnffn_base_patch16_224", "vit_base_patch16_224", "ffn"),
}
LABELS = {"vit_tiny": "ViT-Ti/16", "vit_small": "ViT-S/16", "vit_base": "ViT-B/16",
          "vitbn_base": "ViTBN-B/16", "vitbnffn_base": "ViTBNFFN-B/16"}


def model_key(name):
    """A short name or the spec's name (vit_tiny_patch16_224) -> the short name."""
    for key, (spec, _, _) in MODELS.items():
        if name in (key, spec):
            return key
    raise SystemExit(f"models.py: unknown model {name!r}; known: {', '.join(MODELS)}")


def build_model(key, seed):
    """The timm model of `key`, seeded, norms replaced, every parameter non-trivial, eval().

    timm initializes LayerNorm to 1/0, biases to 0, cls_token ~1e-6, pos_embed std 0.02 and
    Linear weights with std 0.02 (nearly uniform attention). Here Linear and Conv2d weights
    get std 1/sqrt(fan_in), biases and norm parameters are random, cls_token and pos_embed
    O(1), and a BatchNorm's running statistics are those of a seeded calibration batch (the
    model in train mode), then shifted and scaled per feature: a mistake in any of them shows
    in the output, and no value is a denormal or a special case a kernel could skip."""
    _, timm_name, where = MODELS[key]
    torch.manual_seed(seed)
    m = timm.create_model(timm_name, pretrained=False)
    if where:
        replace_norms(m, where)
    randomize(m, seed)
    return m.float().eval()


def counted_flops(m):
    """2 x the multiply-adds of one image through a timm VisionTransformer with a class token
    and a linear head: patch embedding, per block qkv, attention (QK^T and AV), proj, fc1,
    fc2, and the head."""
    D, N = m.embed_dim, m.patch_embed.num_patches + m.num_prefix_tokens
    patch = m.patch_embed.num_patches * D * m.patch_embed.proj.weight[0].numel()
    hidden = m.blocks[0].mlp.fc1.out_features
    block = N * D * 3 * D + 2 * N * N * D + N * D * D + 2 * N * D * hidden
    head = D * m.num_classes if m.num_classes else 0
    return 2 * (patch + len(m.blocks) * block + head)


# ---------------------------------------------------------------------------------------
# The peers
# ---------------------------------------------------------------------------------------
def bf16_probe():
    """Whether PyTorch's bf16 autocast is worth timing on this CPU: only where it has bf16
    arithmetic (AVX512-BF16 or AMX-BF16; elsewhere oneDNN converts and runs many times slower
    than fp32), and only if it runs, tried in a child process, since oneDNN has died with
    SIGILL where a VM hides AMX's CPUID leaf (shared/notes/toolchain.md). Returns (ok, why)."""
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    if not flags & {"avx512_bf16", "amx_bf16"}:
        return False, "this CPU has neither AVX512-BF16 nor AMX-BF16"
    code = ("import torch\nm = torch.nn.Linear(256, 256)\nx = torch.randn(197, 256)\n"
            "with torch.inference_mode(), torch.autocast('cpu', dtype=torch.bfloat16):\n"
            "    y = m(x)\n    z = torch.nn.functional.scaled_dot_product_attention(*(y[None, None],) * 3)\n"
            "assert y.dtype == torch.bfloat16 and torch.isfinite(z.float()).all()\n")
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return False, "the probe timed out"
    if r.returncode != 0:
        return False, f"the probe failed ({r.returncode}): {r.stderr.strip().splitlines()[-1:] or ''}"
    return True, ""


class SplitQKVAttention(nn.Module):
    """timm's Attention with its packed qkv Linear split into query, key and value Linears
    (the same weights, sliced), written as Hugging Face's ViTSelfAttention is: the graph ORT's
    transformer optimizer fuses into its Attention op (it does not match timm's packed qkv,
    reshape, permute and unbind). Same math as timm's; the export checks the difference."""

    def __init__(self, attn):
        super().__init__()
        D = attn.qkv.in_features
        self.heads, self.head_dim = attn.num_heads, attn.head_dim
        bias = attn.qkv.bias is not None
        self.query, self.key, self.value = (nn.Linear(D, D, bias=bias) for _ in range(3))
        with torch.no_grad():
            for i, lin in enumerate((self.query, self.key, self.value)):
                lin.weight.copy_(attn.qkv.weight[i * D:(i + 1) * D])
                if bias:
                    lin.bias.copy_(attn.qkv.bias[i * D:(i + 1) * D])
        self.proj = attn.proj

    def _heads(self, x):
        B, N, _ = x.shape
        return x.view(B, N, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x, attn_mask=None):
        assert attn_mask is None
        B, N, C = x.shape
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        p = (torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)).softmax(dim=-1)
        return self.proj(torch.matmul(p, v).permute(0, 2, 1, 3).contiguous().view(B, N, C))


def export_onnx(m, path, split_qkv):
    """The model in ONNX (opset 17, dynamic batch, TorchScript exporter), input pixel_values,
    output logits: timm's model as it is, or (split_qkv) a copy with SplitQKVAttention for
    ORT's transformer optimizer."""
    if split_qkv:
        m = copy.deepcopy(m)
        for blk in m.blocks:
            blk.attn = SplitQKVAttention(blk.attn)
    warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export")
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    with torch.no_grad():
        torch.onnx.export(m, (torch.zeros(2, 3, 224, 224),), str(path), opset_version=17, dynamo=False,
                          input_names=["pixel_values"], output_names=["logits"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}})


def ort_optimize(src, dst, heads, dim):
    """ORT's transformer optimizer (model_type 'vit', its default opt_level: ORT's basic graph
    optimizations, then its fusions). Returns (ok, what it fused or why not)."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model
        opt = optimize_model(str(src), model_type="vit", num_heads=heads, hidden_size=dim)
        stats = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
        opt.save_model_to_file(str(dst))
        return True, ", ".join(f"{k} {v}" for k, v in sorted(stats.items())) or "nothing fused"
    except Exception as e:  # reported in the results, the plain model is still timed
        traceback.print_exc()
        return False, f"{type(e).__name__}: {e}".splitlines()[0][:200]


# ---------------------------------------------------------------------------------------
def bench_model(key, args, work, peak):
    spec_name = MODELS[key][0]
    spec = EXAMPLES / f"{spec_name}.block"
    out = work / key
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    subprocess.run([str(BLOCKC), "compile", str(spec), "-o", str(out / "module")], check=True, stdout=subprocess.DEVNULL)
    compile_s = time.monotonic() - t0
    print(f"{key}: blockc compile {compile_s:.1f} s", flush=True)

    m = build_model(key, args.seed)
    heads, dim = m.blocks[0].attn.num_heads, m.embed_dim
    weights = out / "weights.safetensors"
    save_file({k: v.detach().contiguous() for k, v in m.state_dict().items()}, str(weights))
    blockc = Blockc(out / "module", weights, args.threads)
    flops = blockc.info.flops_per_sample
    counted = counted_flops(m)
    if abs(flops - counted) > 0.01 * counted:
        print(f"warning: {key}: manifest flops_per_sample {flops:.4g} != counted {counted:.4g}", file=sys.stderr)

    onnx_path, onnx_split_path, onnx_opt_path = out / "model.onnx", out / "model.split.onnx", out / "model.opt.onnx"
    export_onnx(m, onnx_path, split_qkv=False)
    export_onnx(m, onnx_split_path, split_qkv=True)
    sessions = {"ort": ort_session(onnx_path, args.threads)}
    opt_ok, opt_note = ort_optimize(onnx_split_path, onnx_opt_path, heads, dim)
    if opt_ok:
        sessions["ort_opt"] = ort_session(onnx_opt_path, args.threads)
    print(f"{key}: ORT transformer optimizer: {opt_note}", flush=True)

    rows = []
    rng = np.random.default_rng((args.seed, 1))
    for batch in args.batch:
        x = rng.standard_normal((batch, 3, 224, 224), dtype=np.float32)
        xt = torch.from_numpy(x)
        runners = {"blockc": blockc.named_runner({"pixel_values": x}),
                   "torch": lambda: m(xt)}
        if args.bf16:
            def torch_bf16():
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return m(xt)
            runners["torch_bf16"] = torch_bf16
        for name, s in sessions.items():
            runners[name] = (lambda s: lambda: s.run(["logits"], {"pixel_values": x})[0])(s)
        err = {}
        with torch.inference_mode():
            ref = m(xt).numpy().copy()
            ref_features = m.forward_head(m.forward_features(xt), pre_logits=True).numpy().copy()
            y = runners["blockc"]()
            err["blockc"] = max_rel_err(y["logits"], ref)
            err["blockc_features"] = max_rel_err(y["features"], ref_features)
            for name in runners:
                if name != "blockc":
                    err[name] = max_rel_err(np.asarray(runners[name]().float() if name.startswith("torch")
                                                       else runners[name]()), ref)
            if not max(err["blockc"], err["blockc_features"]) <= TOLERANCE:
                raise SystemExit(f"models.py: {key} B={batch}: blockc differs from timm: logits {err['blockc']:.3g}, "
                                 f"features {err['blockc_features']:.3g} > {TOLERANCE:g}; not timed")
            times, other, best_peak = time_quietest(runners, peak, args.peak_seconds, args)
        stats = {n: summarize(t) for n, t in times.items()}
        ort_best = min((n for n in stats if n.startswith("ort")), key=lambda n: stats[n][0])
        gflops = flops * batch / (stats["blockc"][0] * 1e-3) / 1e9
        row = dict(model=key, batch=batch, err=err, other_cpu=other, stats=stats, ort_best=ort_best,
                   gflops=gflops, peak=best_peak, flops=flops, counted=counted, heads=heads, dim=dim,
                   target=blockc.info.target.decode(), opt_note=opt_note, compile_s=compile_s)
        for name, e in err.items():
            if name.startswith("ort") and not e <= TOLERANCE:
                print(f"warning: {key} B={batch}: {name} vs timm max rel err {e:.3g} > {TOLERANCE:g}", file=sys.stderr)
        print(f"{key} B={batch}: " + ", ".join(f"{n} {s[0]:.2f} ms" for n, s in stats.items())
              + f"; blockc {gflops:.0f} GFLOP/s" + (f" ({100 * gflops / best_peak:.0f}% of {best_peak:.0f})" if best_peak else "")
              + f", err {err['blockc']:.2g}, other processes {other:.0f}% CPU", flush=True)
        rows.append(row)
    blockc.close()
    return rows


# ---------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------
def versions():
    return (f"{blockc_version()}, Python {platform.python_version()}, torch {torch.__version__}, timm {timm.__version__}, "
            f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}")


def torch_config():
    """What PyTorch runs with (its parallel_info: OpenMP, MKL, oneDNN), in one line."""
    parts = [f"{torch.get_num_threads()} threads, {torch.get_num_interop_threads()} inter-op"]
    for line in torch.__config__.parallel_info().splitlines():
        line = line.strip()
        if line.startswith("OpenMP ") or "Math Kernel Library" in line or "MKL-DNN" in line:
            parts.append(line.split(" (")[0].split("-Product")[0].replace("Intel(R) ", ""))
    try:
        parts.append(f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    except Exception:  # informational only
        pass
    return ", ".join(parts)


def fmt(s):
    return f"{s[0]:.2f} [{s[1]:.2f}–{s[2]:.2f}]"


def report(rows, args, info):
    env = ", ".join(f"{k}={os.environ[k]}" for k in REPORTED_ENV if k in os.environ)
    unset = [k for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME") if k not in os.environ]
    peaks = [r["peak"] for r in rows if r["peak"]]
    lines = [
        f"# Whole models: blockc vs PyTorch (timm) vs ONNX Runtime, "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"- CPU: {cpu_model()}; blockc target: {rows[0]['target'] if rows else '?'}",
        f"- FP32 peak of this machine on {args.threads} threads, measured in this run by bench/peak.c "
        f"({info['peak_isa']}, 12 independent chains per thread): "
        + (f"start {info['peak_start']:.0f}, end {info['peak_end']:.0f}, before each row "
           f"{min(peaks):.0f}–{max(peaks):.0f} GFLOP/s; \"% peak\" is blockc's GFLOP/s over the best of these, "
           f"{info['peak']:.0f} GFLOP/s" if info["peak"] else f"not measured ({info['peak_error']})"),
        f"- Threads: {args.threads} for each (torch.set_num_threads, ORT intra_op_num_threads with inter_op 1, "
        f"blockc_module_set_num_threads); environment: {env}"
        + (f"; not set: {', '.join(unset)} (PyTorch's OpenMP runs with its own default wait policy)" if unset else ""),
        f"- PyTorch: {info['torch_config']}; bf16 autocast: "
        + ("timed (torch.autocast('cpu', torch.bfloat16), not held to the tolerance)" if args.bf16 else
           f"not timed ({info['bf16_why']})"),
        f"- Versions: {versions()}",
        f"- Method: one process. Each model is timm's (`create_model(name, pretrained=False)`, seed {args.seed}, "
        f"eval; ViTBN/ViTBNFFN with TokenBatchNorm, a BatchNorm1d over the token features) with random non-trivial "
        f"weights, norm parameters and BatchNorm running statistics; its state_dict saved with safetensors and bound "
        f"to `blockc compile examples/models/<name>.block`; blockc runs through its C API "
        f"(blockc_module_run_named, ctypes). Before timing, blockc's logits and features are checked against timm's "
        f"forward (err = max |blockc − timm| / max |timm|, must be ≤ {TOLERANCE:g}). PyTorch: the timm model, eager, "
        f"under torch.inference_mode(). ORT (ORT_ENABLE_ALL, force_spinning_stop): \"plain\" is timm's model exported "
        f"to ONNX as it is (opset 17, dynamic batch); \"optimized\" is `onnxruntime.transformers.optimizer."
        f"optimize_model(model_type='vit', num_heads, hidden_size)` on the same model exported with each block's packed "
        f"qkv Linear split into query/key/value Linears (same weights, Hugging Face's ViT attention graph, which the "
        f"optimizer fuses into its Attention op; timm's packed-qkv graph gets no Attention fusion); both timed, the "
        f"ORT column is the faster (which one is named). "
        f"{args.warmup} warm-up calls each, then {args.repeat} timed calls each in {args.rounds} interleaved "
        f"rounds ({TURN_WARMUP_NOTE}); ms = median [p10–p90] of one call. GFLOP/s = the manifest's "
        f"flops_per_sample (2 x multiply-adds, matches a count from the sizes) x B / blockc's median. "
        f"Speed-up = peer's median / blockc's median (> 1: blockc faster). other CPU = share of all cores used by "
        f"other processes while timing that row (each row first waited up to {args.quiet_wait:g} s for it to fall "
        f"under {QUIET:g}%, and was timed up to {args.retries} more times if not; the quietest attempt is shown).",
        f"- Machine load: start {info['load_start']}; end {info['load_end']}",
        "",
    ]
    bf = args.bf16
    lines += ["| model | B | blockc ms | PyTorch ms | " + ("PyTorch bf16 ms | " if bf else "") +
              "ORT ms (faster of plain/optimized) | blockc GFLOP/s | % peak | vs PyTorch | "
              + ("vs PyTorch bf16 | " if bf else "") + "vs ORT | err | other CPU |",
              "|---|---|---|---|" + ("---|" if bf else "") + "---|---|---|---|" + ("---|" if bf else "") + "---|---|---|"]
    for r in rows:
        s, b = r["stats"], r["stats"]["blockc"][0]
        which = "optimized" if r["ort_best"] == "ort_opt" else "plain"
        pct = f"{100 * r['gflops'] / info['peak']:.0f}%" if info["peak"] else "n/a"
        lines.append(
            f"| {LABELS[r['model']]} | {r['batch']} | {fmt(s['blockc'])} | {fmt(s['torch'])} | "
            + (f"{fmt(s['torch_bf16'])} | " if bf else "")
            + f"{fmt(s[r['ort_best']])} ({which}) | {r['gflops']:.0f} | {pct} | {s['torch'][0] / b:.2f}x | "
            + (f"{s['torch_bf16'][0] / b:.2f}x | " if bf else "")
            + f"{s[r['ort_best']][0] / b:.2f}x | {max(r['err']['blockc'], r['err']['blockc_features']):.1e} | "
            f"{r['other_cpu']:.0f}% |")
    lines += ["", "## Details", "",
              "ORT plain and optimized separately; errors of every peer against timm's fp32 logits "
              "(blockc: logits / features); min and max of the timed calls.", "",
              "| model | B | GFLOP/img | ORT plain ms | ORT optimized ms | blockc err | ORT err plain / opt | "
              "PyTorch bf16 err | blockc min–max ms | peak before the row |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, e = r["stats"], r["err"]
        lines.append(
            f"| {LABELS[r['model']]} | {r['batch']} | {r['flops'] / 1e9:.2f} | {fmt(s['ort'])} | "
            + (fmt(s["ort_opt"]) if "ort_opt" in s else "failed") + " | "
            + f"{e['blockc']:.1e} / {e['blockc_features']:.1e} | {e['ort']:.1e} / "
            + (f"{e['ort_opt']:.1e}" if "ort_opt" in e else "–") + " | "
            + (f"{e['torch_bf16']:.1e}" if "torch_bf16" in e else "–") + " | "
            + f"{s['blockc'][3]:.2f}–{s['blockc'][4]:.2f} | " + (f"{r['peak']:.0f}" if r["peak"] else "n/a") + " |")
    lines += ["", "ORT transformer optimizer (model_type 'vit'), per model: what it fused, or why it failed; "
              "blockc compile time:", ""]
    seen = set()
    for r in rows:
        if r["model"] not in seen:
            seen.add(r["model"])
            lines.append(f"- {LABELS[r['model']]} (heads {r['heads']}, hidden {r['dim']}): {r['opt_note']}; "
                         f"compile {r['compile_s']:.1f} s")
    return "\n".join(lines) + "\n"


def readme_table(rows, args, info):
    """The short table of README's Performance section (between the models-table markers)."""
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    env = ", ".join(f"`{k}={os.environ[k]}`" for k in ("OMP_WAIT_POLICY",) if k in os.environ) or \
        "PyTorch's default OpenMP wait policy (`OMP_WAIT_POLICY` not set)"
    peak = f"{info['peak']:.0f} GFLOP/s FP32 peak measured in the run" if info["peak"] else "peak not measured"
    lines = [f"Result on {day}, {cpu_model()} ({peak}), {args.threads} threads each, {env}, torch "
             f"{torch.__version__.split('+')[0]}, timm {timm.__version__}, onnxruntime {ort.__version__}; "
             f"ms = median [p10–p90] of {args.repeat} calls (`bench/results-models.md`):", "",
             "| model | B | blockc ms | PyTorch ms | ORT ms | blockc GFLOP/s | % of peak | vs PyTorch | vs ORT |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, b = r["stats"], r["stats"]["blockc"][0]
        which = "opt." if r["ort_best"] == "ort_opt" else "plain"
        pct = f"{100 * r['gflops'] / info['peak']:.0f}%" if info["peak"] else "n/a"
        lines.append(f"| {LABELS[r['model']]} | {r['batch']} | {fmt(s['blockc'])} | {fmt(s['torch'])} | "
                     f"{fmt(s[r['ort_best']])} ({which}) | {r['gflops']:.0f} | {pct} | {s['torch'][0] / b:.2f}x | "
                     f"{s[r['ort_best']][0] / b:.2f}x |")
    if args.bf16:
        lines += ["", "PyTorch under bf16 autocast (not held to the tolerance): " + "; ".join(
            f"{LABELS[r['model']]} B={r['batch']} {r['stats']['torch_bf16'][0]:.2f} ms "
            f"({r['stats']['torch_bf16'][0] / r['stats']['blockc'][0]:.2f}x)" for r in rows) + "."]
    return "\n".join(lines) + "\n"


def update_readme(table):
    path = ROOT / "README.md"
    text = path.read_text()
    begin, end = "<!-- models-table:begin -->\n", "<!-- models-table:end -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        print(f"models.py: {path} has no models-table markers; README not updated", file=sys.stderr)
        return
    path.write_text(text[:i + len(begin)] + table + text[j:])
    print(f"models.py: updated the table in {path}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS),
                   help=f"short names ({', '.join(MODELS)}) or examples/models names")
    p.add_argument("--batch", nargs="+", type=int, default=[1, 8])
    p.add_argument("--threads", type=int, default=THREADS_DEFAULT)
    p.add_argument("--repeat", type=int, default=20, help="timed calls per runner and batch")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds the timed calls are split into")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-bf16", dest="bf16", action="store_false", help="do not time PyTorch under bf16 autocast")
    p.add_argument("--quiet-wait", type=float, default=60,
                   help="before timing each row, wait up to this many seconds for other processes to use < 10%% CPU")
    p.add_argument("--retries", type=int, default=2,
                   help="time a row again (up to this many times) if other processes used >= 10%% CPU; keep the quietest")
    p.add_argument("--peak-seconds", type=float, default=0.5, help="length of one FP32 peak measurement")
    p.add_argument("--workdir", help="keep modules, weights and ONNX files here (default: a temporary dir)")
    p.add_argument("--output", default=str(ROOT / "bench/results-models.md"), help="Markdown results file")
    p.add_argument("--update-readme", action="store_true",
                   help="also write the short table into README.md's Performance section (models-table markers)")
    args = p.parse_args()
    keys = [model_key(n) for n in args.models]

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    info = {"load_start": machine_load(), "torch_config": torch_config(), "bf16_why": "--no-bf16"}
    if args.bf16:
        args.bf16, why = bf16_probe()
        if not args.bf16:
            info["bf16_why"] = why
            print(f"models.py: PyTorch bf16 autocast not timed: {why}", file=sys.stderr)
    peak = Peak(args.threads)
    info.update(peak_isa=peak.isa, peak_error=peak.error)
    wait_for_quiet(args.quiet_wait)
    info["peak_start"] = peak.measure(seconds=1.0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="blockc-models-") as tmp:
        for key in keys:
            work = Path(args.workdir) if args.workdir else Path(tmp)
            rows += bench_model(key, args, work, peak)
            gc.collect()  # the model, its sessions and blockc's module go before the next model
            if not args.workdir:  # about 1 GB per ViT-B model
                subprocess.run(["rm", "-rf", str(Path(tmp) / key)], check=False)
    wait_for_quiet(args.quiet_wait)
    info["peak_end"] = peak.measure(seconds=1.0)
    info["load_end"] = machine_load()
    measured = [v for v in [info["peak_start"], info["peak_end"]] + [r["peak"] for r in rows] if v]
    info["peak"] = max(measured) if measured else None
    text = report(rows, args, info)
    print("\n" + text)
    Path(args.output).write_text(text)
    if args.update_readme:
        update_readme(readme_table(rows, args, info))
    (Path(args.output).with_suffix(".json")).write_text(json.dumps(
        {"rows": rows, "info": info, "args": vars(args)}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
