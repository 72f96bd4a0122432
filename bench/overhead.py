#!/usr/bin/env python3
"""What a call from Python costs: blockc's Python package against its C API, and against the
Python calls of ONNX Runtime (`InferenceSession.run`) and IREE (`iree.runtime`), on a trivial
model (y = 2 x on a [1, 4, 8] tensor: the call is nearly all overhead) and on ViT-Ti/16 at
B = 1 (blockc's Python call against its C API only).

- blockc C API: `blockc bench --json` (C++, steady_clock around blockc_module_run_named; the
  median of its runs), run between the Python rounds.
- blockc Python: `module(x)` (the output allocated per call, as a user calls it) and
  `module.run({...}, {...})` (into the caller's array); ctypes on the C API for reference.
- ONNX Runtime: `session.run(None, {"x": x})` on the same computation (ONNX Mul), ORT_ENABLE_ALL.
- IREE: the same computation in MLIR compiled by iree-base-compiler for llvm-cpu (this CPU)
  and called through iree.runtime with the `local-sync` and `local-task` drivers, the result
  brought to NumPy (`to_host()`); the faster driver is reported.
All on one thread, in one process, interleaved in rounds; ms = median [p10-p90] of one call.

  bench/.venv/bin/python bench/overhead.py [--repeat 20000] [--rounds 5] [--out bench/results-overhead.md]
"""
import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from common import BLOCKC, BUILD, ROOT, Blockc, blockc_version, cpu_model, machine_load, \
    summarize, time_interleaved  # noqa: E402

sys.path.insert(0, str(BUILD / "python"))  # the build tree's blockc package
import blockc  # noqa: E402

SHAPE = (1, 4, 8)
TRIVIAL_SPEC = "block twice (tokens = 4, dim = 8) {\n  x = x * 2.0\n}\n"
TRIVIAL_MLIR = """
func.func @main(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %two = arith.constant dense<2.0> : tensor<1x4x8xf32>
  %y = arith.mulf %x, %two : tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}
"""


def c_api_ms(module, weights, repeat):
    """blockc's C API: the median ms of `blockc bench` on one thread."""
    out = subprocess.run([str(BLOCKC), "bench", str(module), "--weights", str(weights),
                          "--batch", "1", "--threads", "1", "--warmup", "100",
                          "--repeat", str(repeat), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["median_ms"]


def ort_runner(x):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"])], "twice",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(SHAPE))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(SHAPE))], [two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feed = {"x": x}
    return lambda: sess.run(None, feed)[0], f"onnxruntime {ort.__version__}"


def iree_runners(x):
    import iree.compiler as ireec
    import iree.runtime as ireert
    vmfb = ireec.compile_str(TRIVIAL_MLIR, target_backends=["llvm-cpu"],
                             extra_args=["--iree-llvmcpu-target-cpu=host"])
    runners = {}
    for driver in ("local-sync", "local-task"):
        config = ireert.Config(driver)
        ctx = ireert.SystemContext(config=config)
        ctx.add_vm_module(ireert.VmModule.copy_buffer(ctx.instance, vmfb))
        main = ctx.modules.module["main"]
        runners[f"IREE ({driver})"] = (lambda f: lambda: f(x).to_host())(main)
    return runners, f"iree-base-runtime {importlib.metadata.version('iree-base-runtime')}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20000, help="timed calls per runner")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--vit-repeat", type=int, default=100, help="timed ViT-Ti calls per runner")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results-overhead.md")
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="blockc-overhead-"))
    x = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    module_dir = blockc.compile(TRIVIAL_SPEC, out=work / "twice")
    weights = work / "none.safetensors"
    import safetensors.numpy
    safetensors.numpy.save_file({}, str(weights))
    m = blockc.load(module_dir).bind(weights)
    m.threads = 1
    y = np.empty(SHAPE, np.float32)
    ctypes_run = Blockc(module_dir, weights, 1).named_runner({"x": x})
    def run_into():
        m.run({"x": x}, {"y": y})
        return y

    runners = {"blockc Python module(x)": lambda: m(x),
               "blockc Python module.run(...)": run_into,
               "blockc ctypes (C API)": ctypes_run}
    ort_run, ort_version = ort_runner(x)
    runners["ONNX Runtime session.run"] = ort_run
    iree, iree_version = iree_runners(x)
    runners.update(iree)
    for name, f in runners.items():
        result = f()
        result = result["y"] if isinstance(result, dict) else result  # ctypes: by name
        assert np.allclose(np.asarray(result), 2 * x), name

    times = {n: [] for n in runners}
    c_api = []
    per_round = -(-a.repeat // a.rounds)
    for _ in range(a.rounds):
        c_api.append(c_api_ms(module_dir, weights, per_round))
        for n, t in time_interleaved(runners, 200, per_round, 1).items():
            times[n] += t
    c_ms = float(np.median(c_api))

    # ViT-Ti/16 at B = 1: blockc's Python call against its C API.
    vit_dir = blockc.compile(ROOT / "examples/models/vit_tiny_patch16_224.block", out=work / "vit")
    vit = blockc.load(vit_dir)
    vit_weights = work / "vit.safetensors"
    subprocess.run([sys.executable, str(ROOT / "tools/random_weights.py"), str(vit_dir), "-o",
                    str(vit_weights)], check=True, capture_output=True)
    vit.bind(vit_weights)
    vit.threads = 1
    px = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    vit_py, vit_c = [], []
    for _ in range(a.rounds):
        vit_c.append(c_api_ms(vit_dir, vit_weights, max(1, a.vit_repeat // a.rounds)))
        vit_py += time_interleaved({"vit": lambda: vit(px)}, 2,
                                   max(1, a.vit_repeat // a.rounds), 1)["vit"]

    us = lambda s: 1e3 * s  # noqa: E731  (ms to µs)
    lines = [
        "# What a call from Python costs: blockc, ONNX Runtime, IREE",
        "",
        f"- CPU: {cpu_model()}; one thread each; {machine_load()} at the end",
        f"- Versions: {blockc_version()}, {ort_version}, {iree_version}, Python {sys.version.split()[0]}",
        "- Method: bench/overhead.py (docstring): y = 2x on [1, 4, 8], "
        f"{a.repeat} calls per runner in {a.rounds} interleaved rounds; µs = median [p10–p90] of one call.",
        "",
        "| call | µs per call | over blockc's C API |",
        "|---|---|---|",
        f"| blockc C API (`blockc bench`, C++) | {us(c_ms):.2f} | – |",
    ]
    for n, t in times.items():
        med, p10, p90, _, _ = summarize(t)
        lines.append(f"| {n} | {us(med):.2f} [{us(p10):.2f}–{us(p90):.2f}] | "
                     f"{us(med - c_ms):+.2f} |")
    vmed, vp10, vp90, _, _ = summarize(vit_py)
    vc = float(np.median(vit_c))
    spread = "within" if abs(vmed - vc) <= vp90 - vp10 else "outside"
    lines += ["",
              f"ViT-Ti/16, B = 1, one thread: blockc Python `module(x)` {vmed:.3f} ms "
              f"[{vp10:.3f}–{vp90:.3f}], C API {vc:.3f} ms (median of {a.rounds} `blockc bench` "
              f"runs): a difference of {1e3 * (vmed - vc):+.1f} µs, {spread} the Python calls' "
              f"p10–p90 spread.",
              ""]
    a.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
