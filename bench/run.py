#!/usr/bin/env python3
"""Compares blockc with PyTorch (eager) and ONNX Runtime on the ViT-B/16 block variants of
examples/: same weights, same input, same thread count, all three timed in one process.

For each variant: `blockc compile` the spec, write random weights (tools/random_weights.py),
build the same block as a PyTorch nn.Module and load the weights with load_state_dict, check
blockc's output against it (max |blockc - torch| / max |torch| <= 1e-4), export the module to
ONNX (opset 17, dynamic batch) for ONNX Runtime, then time the three interleaved.
blockc runs through the runtime's C API (build/runtime/libblockc_runtime.so, via ctypes), so
all three are measured the same way: wall time of one call, on the same input array.

  bench/.venv/bin/python bench/run.py [--batch 1 8] [--threads 2] [--variants vit_b16 ...]
"""
import argparse
import os
import sys

# The threads, read before torch is imported (OpenMP reads its environment at load).
from common import THREADS_DEFAULT, early_threads  # noqa: E402


# PyTorch's OpenMP threads must sleep, not spin, when idle: otherwise they take the cores
# from the other two runtimes between rounds (see shared/notes/toolchain.md). An already set
# variable is kept, and the table header says what was in force.
ENV = {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": early_threads(),
       "MKL_NUM_THREADS": early_threads()}
for k, v in ENV.items():
    os.environ.setdefault(k, v)

import datetime  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

# The norms and the MLP are the e2e check's PyTorch modules (timm names and layouts).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))
from check_reference_against_torch import Mlp, make_norm  # noqa: E402
from common import (BLOCKC, QUIET, ROOT, TOLERANCE, TURN_WARMUP_NOTE, Blockc, blockc_version, cpu_model, cpu_sample,  # noqa: E402
                    machine_load, max_rel_err, ort_session, other_cpu_percent, time_interleaved, wait_for_quiet)

VARIANTS = ["vit_b16", "vit_b16_postnorm", "vit_b16_bnffn", "vit_b16_bn", "vit_b16_rmsnorm"]


# ---------------------------------------------------------------------------------------
# The block spec, as far as the PyTorch model needs it
# ---------------------------------------------------------------------------------------
PRE = ["x = x + attn(norm1(x))", "x = x + mlp.fc2(gelu(mlp.fc1(norm2(x))))"]
POST = ["x = norm1(x + attn(x))", "x = norm2(x + mlp.fc2(gelu(mlp.fc1(x))))"]


def parse_block(path):
    """Reads tokens, dim, heads, MLP width, each norm's kind and eps, and the placement from a
    ViT-style .block (the examples' template); anything else is an error."""
    text = re.sub(r"#.*", "", Path(path).read_text())
    lines = [" ".join(l.split()) for l in text.splitlines() if l.strip()]
    head = re.search(r"block\s+(\w+)\s*\(\s*tokens\s*=\s*(\d+)\s*,\s*dim\s*=\s*(\d+)\s*\)", text)
    heads = re.search(r"\battn\s*=\s*attention\s*\(\s*heads\s*=\s*(\d+)\s*(,\s*qkv_bias\s*=\s*true\s*)?\)", text)
    fc1 = re.search(r"\bmlp\.fc1\s*=\s*linear\s*\(\s*(\d+)\s*->\s*(\d+)\s*\)", text)
    norms = {m[1]: (m[2], float(m[3]) if m[3] else (1e-6 if m[2] == "rmsnorm" else 1e-5))
             for m in re.finditer(r"\b(norm[12])\s*=\s*(layernorm|batchnorm|rmsnorm)\s*\(\s*(?:eps\s*=\s*([0-9.eE+-]+))?\s*\)", text)}
    stmts = [l for l in lines if l.startswith("x =")]
    placement = "pre" if stmts == PRE else "post" if stmts == POST else None
    if not (head and heads and fc1 and set(norms) == {"norm1", "norm2"} and placement):
        raise SystemExit(f"run.py: {path} is not a ViT block it can model "
                         "(pre- or post-norm, norm1/norm2, attn, mlp.fc1/fc2 with gelu)")
    return dict(name=head[1], tokens=int(head[2]), dim=int(head[3]), heads=int(heads[1]),
                hidden=int(fc1[2]), norm1=norms["norm1"], norm2=norms["norm2"], placement=placement)


# ---------------------------------------------------------------------------------------
# The same block in PyTorch (timm names: norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2)
# ---------------------------------------------------------------------------------------
class Attention(nn.Module):
    """timm's Attention on PyTorch's fast path (fused scaled_dot_product_attention), unlike
    the e2e check's, which spells the softmax out as the reference."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class Block(nn.Module):
    def __init__(self, spec):
        super().__init__()
        dim = spec["dim"]
        self.post = spec["placement"] == "post"
        self.norm1 = make_norm(spec["norm1"][0], dim, spec["norm1"][1])
        self.attn = Attention(dim, spec["heads"])
        self.norm2 = make_norm(spec["norm2"][0], dim, spec["norm2"][1])
        self.mlp = Mlp(dim, spec["hidden"], "gelu", True, nn.Identity())

    def forward(self, x):
        if self.post:
            x = self.norm1(x + self.attn(x))
            return self.norm2(x + self.mlp(x))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def load_torch_block(spec, weights):
    model = Block(spec)
    missing, unexpected = model.load_state_dict(load_file(weights), strict=False)
    # BatchNorm's num_batches_tracked counter is not used at inference; tolerate only it.
    bad = [k for k in missing + unexpected if not k.endswith("num_batches_tracked")]
    if bad:
        raise SystemExit(f"run.py: weights do not match the PyTorch block: missing {missing}, unexpected {unexpected}")
    return model.eval()


# ---------------------------------------------------------------------------------------
def bench_variant(variant, args, work):
    spec_path = ROOT / "examples" / f"{variant}.block"
    spec = parse_block(spec_path)
    out = work / variant
    subprocess.run([str(BLOCKC), "compile", str(spec_path), "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
    weights = out / "weights.safetensors"
    subprocess.run([sys.executable, str(ROOT / "tools/random_weights.py"), str(out), "-o", str(weights), "--seed", "0"], check=True)

    blockc = Blockc(out, weights, args.threads)
    tuned = None
    if args.tuning:  # the same block compiled with the tuning database's schedules
        subprocess.run([str(BLOCKC), "compile", str(spec_path), "-o", str(out / "tuned"), "--tuning", args.tuning],
                       check=True)
        tuned = Blockc(out / "tuned", weights, args.threads)
    model = load_torch_block(spec, weights)
    onnx_path = out / "block.onnx"
    example = torch.zeros(2, spec["tokens"], spec["dim"])
    warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export")
    torch.onnx.export(model, (example,), str(onnx_path), opset_version=17, dynamo=False,
                      input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    session = ort_session(onnx_path, args.threads)

    rows = []
    rng = np.random.default_rng(1)
    for batch in args.batch:
        x = rng.standard_normal((batch, spec["tokens"], spec["dim"])).astype(np.float32)
        xt = torch.from_numpy(x)
        runners = {"blockc": blockc.runner(x),
                   "torch": lambda: model(xt),
                   "ort": lambda: session.run(["y"], {"x": x})[0]}
        if tuned:
            runners["tuned"] = tuned.runner(x)
        with torch.inference_mode():
            ref = runners["torch"]().numpy().copy()
            err = max_rel_err(runners["blockc"](), ref)
            if tuned:
                err = max(err, max_rel_err(runners["tuned"](), ref))
            err_ort = max_rel_err(runners["ort"](), ref)
            for attempt in range(1 + args.retries):  # a row disturbed by other processes is timed again
                wait_for_quiet(args.quiet_wait)
                before = cpu_sample()
                t = time_interleaved(runners, args.warmup, args.repeat, args.rounds)
                o = other_cpu_percent(before, cpu_sample())
                if attempt == 0 or o < other:
                    times, other = t, o
                if other < QUIET:
                    break
        stats = {n: (statistics.median(t) * 1e3, min(t) * 1e3, max(t) * 1e3) for n, t in times.items()}
        row = dict(variant=variant, batch=batch, err=err, err_ort=err_ort, other_cpu=other, stats=stats,
                   gflops=blockc.info.flops_per_sample * batch / (stats["blockc"][0] * 1e-3) / 1e9,
                   target=blockc.info.target.decode())
        for name, e in (("blockc", err), ("ONNX Runtime", err_ort)):
            if not e <= TOLERANCE:
                print(f"\n!!!!! MISMATCH: {variant} B={batch}: {name} vs PyTorch max rel err {e:.3g} > {TOLERANCE:g} !!!!!\n",
                      file=sys.stderr, flush=True)
        print(f"{variant} B={batch}: " + ", ".join(f"{n} {s[0]:.2f} ms" for n, s in stats.items())
              + f", err {err:.2g}, other processes {other:.0f}% CPU", flush=True)
        rows.append(row)
    blockc.close()
    if tuned:
        tuned.close()
    return rows


def versions():
    return (f"{blockc_version()}, Python {platform.python_version()}, torch {torch.__version__}, "
            f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}")


def report(rows, args, load_start, load_end):
    fmt = lambda s: f"{s[0]:.2f} [{s[1]:.2f}–{s[2]:.2f}]"  # noqa: E731
    env = ", ".join(f"{k}={os.environ[k]}" for k in ENV)
    lines = [
        f"# blockc vs PyTorch vs ONNX Runtime, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"- CPU: {cpu_model()}; blockc target: {rows[0]['target'] if rows else '?'}",
        f"- Threads: {args.threads} for each (torch.set_num_threads, ORT intra_op_num_threads with inter_op 1, "
        f"blockc_module_set_num_threads); environment: {env}",
        f"- Versions: {versions()}",
        f"- Method: one process; blockc via its C API (ctypes), PyTorch eager nn.Module under inference_mode, "
        f"ORT on the module exported to ONNX (opset 17, dynamic batch, all graph optimizations, "
        f"session.force_spinning_stop=1 so its idle workers stop spinning between calls). {args.warmup} warm-up "
        f"calls each, then {args.repeat} timed calls each in {args.rounds} interleaved rounds ({TURN_WARMUP_NOTE}); ms = median [min–max] of one "
        f"call. Speed-up = other's median / blockc's median (> 1: blockc faster). err = max |blockc − torch| / max |torch| "
        f"(must be ≤ {TOLERANCE:g}). other CPU = share of all cores used by other processes while timing that row "
        f"(each row first waited up to {args.quiet_wait:g} s for it to fall under {QUIET:g}%, and was timed up to "
        f"{args.retries} more times if it was not under that while timing; the quietest attempt is shown).",
        f"- Machine load: start {load_start}; end {load_end}",
        "",
    ]
    if args.tuning:
        lines.insert(-1, f"- Tuned: `blockc compile --tuning {args.tuning}`; the tuned module is timed in the same "
                         f"interleaved rounds; err covers both modules; vs PyTorch/ORT are the default module's.")
        lines += ["| variant | B | blockc ms | tuned ms | tuned vs default | tuned vs PyTorch | PyTorch ms | ORT ms "
                  "| blockc GFLOP/s | vs PyTorch | vs ORT | err | other CPU |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    else:
        lines += ["| variant | B | blockc ms | PyTorch ms | ORT ms | blockc GFLOP/s | vs PyTorch | vs ORT | err | other CPU |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s = r["stats"]
        flag = ("" if r["err"] <= TOLERANCE else " **MISMATCH**") + \
            ("" if r["err_ort"] <= TOLERANCE else f" **ORT vs torch {r['err_ort']:.1e}**")
        tuned = (f"{fmt(s['tuned'])} | {s['blockc'][0] / s['tuned'][0]:.2f}x | {s['torch'][0] / s['tuned'][0]:.2f}x | "
                 if "tuned" in s else "")
        lines.append(f"| {r['variant']} | {r['batch']} | {fmt(s['blockc'])} | {tuned}{fmt(s['torch'])} | {fmt(s['ort'])} | "
                     f"{r['gflops']:.0f} | {s['torch'][0] / s['blockc'][0]:.2f}x | {s['ort'][0] / s['blockc'][0]:.2f}x | "
                     f"{r['err']:.1e}{flag} | {r['other_cpu']:.0f}% |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", nargs="+", default=VARIANTS, help="names of examples/*.block")
    p.add_argument("--batch", nargs="+", type=int, default=[1, 8])
    p.add_argument("--threads", type=int, default=THREADS_DEFAULT)
    p.add_argument("--repeat", type=int, default=20, help="timed calls per framework and batch")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds the timed calls are split into")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--quiet-wait", type=float, default=60,
                   help="before timing each row, wait up to this many seconds for other processes to use < 10%% CPU")
    p.add_argument("--retries", type=int, default=2,
                   help="time a row again (up to this many times) if other processes used >= 10%% CPU; keep the quietest")
    p.add_argument("--tuning", help="also time the blocks compiled with this tuning database (blockc-tune --db)")
    p.add_argument("--workdir", help="keep modules, weights and ONNX files here (default: a temporary dir)")
    p.add_argument("--output", default=str(ROOT / "bench/results.md"), help="Markdown results file")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    load_start = machine_load()
    rows = []
    with tempfile.TemporaryDirectory(prefix="blockc-bench-") as tmp:
        work = Path(args.workdir or tmp)
        for variant in args.variants:
            rows += bench_variant(variant, args, work)
    text = report(rows, args, load_start, machine_load())
    print("\n" + text)
    Path(args.output).write_text(text)
    bad = [f"{r['variant']} B={r['batch']}" for r in rows if not (r["err"] <= TOLERANCE and r["err_ort"] <= TOLERANCE)]
    if bad:
        print(f"MISMATCH against PyTorch in: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
