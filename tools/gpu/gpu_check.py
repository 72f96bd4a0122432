#!/usr/bin/env python3
"""GPU checks of blockc's CUDA modules, run on the GPU machine (tools/gpu/README.md).

    gpu_check.py test  [--carry DIR] [--filter SUBSTR] [--batches 3,1] [--case-timeout S]
    gpu_check.py bench [--carry DIR] [--filter SUBSTR] [--batches 1,8,64] [--repeat N]
    gpu_check.py profile [--carry DIR] [--filter SUBSTR] [--batches 1,64]

DIR (default .device-carry, written by tools/gpu/prepare.sh) holds lib/libblockc_runtime.so.1,
bin/blockc and modules/<case>/module.so, each case of tests/e2e/cases.py compiled with
`blockc compile --target cuda`. The runtime is called through its C API with ctypes.

test: for each module, random weights with the PyTorch state-dict names (cases.py's
generator), and at each batch size (default B = 3 and 1) the module's output through
blockc_module_run (host buffers) and blockc_module_run_device (CUDA tensors) is compared with
an independent PyTorch reference built from torch.nn modules
(tests/e2e/check_reference_against_torch.py), evaluated on the GPU in float64:
max|out - ref| / max|ref| <= 1e-4. Also: concurrent runs from several threads, `blockc run`
(the CLI) on one module, and the errors for a host pointer passed to run_device.

bench: the ViT-B/16 examples (vit_b16*) at each batch size (default 1, 8, 64): blockc
through blockc_module_run_device (CUDA tensors in and out) and through blockc_module_run
(host buffers, copies included), against PyTorch eager in float32 on the same GPU (the
same torch.nn block, attention through F.scaled_dot_product_attention as timm does;
TF32 off, PyTorch's default for float32 matrix products). Median wall time of N timed calls
after warm-up, each call ending synchronized. Prints a Markdown table with the date and GPU.

profile: per-kernel GPU time (CUPTI through torch.profiler) of a module (default vit_b16)
and of the PyTorch eager block, at B = 1 and 64 by default.

Exit code 0 only if every check passed.
"""
import argparse
import ctypes
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import cases  # noqa: E402
import check_reference_against_torch as torch_ref  # noqa: E402

TOLERANCE = 1e-4


# ----------------------------------------------------------------------------- the runtime

class BlockcError(Exception):
    pass


class Runtime:
    """The C API of runtime/include/blockc/runtime.h, through ctypes."""

    def __init__(self, lib_path):
        lib = ctypes.CDLL(str(lib_path))
        vp, i64 = ctypes.c_void_p, ctypes.c_int64
        lib.blockc_last_error.restype = ctypes.c_char_p
        lib.blockc_status_name.restype = ctypes.c_char_p
        lib.blockc_status_name.argtypes = [ctypes.c_int]
        lib.blockc_module_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(vp)]
        lib.blockc_module_free.argtypes = [vp]
        lib.blockc_module_free.restype = None
        lib.blockc_module_bind_weights.argtypes = [vp, ctypes.c_char_p]
        lib.blockc_module_run.argtypes = [vp, vp, i64, vp]
        lib.blockc_module_run_device.argtypes = [vp, vp, i64, vp]
        self.lib = lib

    def check(self, status, what):
        if status != 0:
            raise BlockcError(f"{what}: {self.lib.blockc_status_name(status).decode()}: "
                              f"{self.lib.blockc_last_error().decode()}")


class Module:
    def __init__(self, rt, path):
        self.rt, self.handle = rt, ctypes.c_void_p()
        rt.check(rt.lib.blockc_module_load(str(path).encode(), ctypes.byref(self.handle)),
                 f"load {path}")
        self.manifest = json.loads((Path(path) / "manifest.json").read_text())
        self.tokens, self.dim = self.manifest["tokens"], self.manifest["dim"]
        _, self.out_tokens, self.out_dim = self.manifest["outputs"][0]["shape"]

    def bind(self, weights_path):
        self.rt.check(self.rt.lib.blockc_module_bind_weights(self.handle,
                                                             str(weights_path).encode()),
                      "bind weights")

    def run(self, x):
        """Host buffers: x [B, tokens, dim] float32 numpy -> numpy."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.empty((x.shape[0], self.out_tokens, self.out_dim), np.float32)
        self.rt.check(self.rt.lib.blockc_module_run(self.handle, x.ctypes.data, x.shape[0],
                                                    y.ctypes.data), "run")
        return y

    def run_device(self, x, y):
        """CUDA tensors (contiguous float32): x [B, tokens, dim] -> y [B, T, D]."""
        self.rt.check(self.rt.lib.blockc_module_run_device(self.handle, x.data_ptr(),
                                                           x.shape[0], y.data_ptr()),
                      "run_device")
        return y

    def status_of_run_device(self, x_ptr, batch, y_ptr):
        s = self.rt.lib.blockc_module_run_device(self.handle, x_ptr, batch, y_ptr)
        return s, self.rt.lib.blockc_last_error().decode()

    def free(self):
        if self.handle:
            self.rt.lib.blockc_module_free(self.handle)
            self.handle = ctypes.c_void_p()


# ----------------------------------------------------------------------------- helpers

def torch_block(case, weights, device, dtype):
    """check_reference_against_torch's torch.nn block for the case, with `weights`."""
    model = torch_ref.TORCH_BLOCKS[case.block.__name__](case.dim, **case.cfg).eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    return model.to(device=device, dtype=dtype)


def save_weights(weights, path):
    from safetensors.numpy import save_file
    save_file(dict(weights), str(path))


def rel_err(y, ref):
    y = y.double().cpu().numpy() if isinstance(y, torch.Tensor) else y.astype(np.float64)
    ref = ref.double().cpu().numpy() if isinstance(ref, torch.Tensor) else ref
    return float(np.abs(y - ref).max() / np.abs(ref).max())


def selected_cases(carry, filt, names=None):
    found = [c for c in cases.ALL
             if filt in c.name and (carry / "modules" / c.name / "module.so").is_file()]
    return [c for c in found if names is None or names(c.name)]


def gpu_line():
    p = torch.cuda.get_device_properties(0)
    return (f"{torch.cuda.get_device_name(0)} ({p.multi_processor_count} SMs, "
            f"{p.total_memory / 2**30:.0f} GiB), torch {torch.__version__}, "
            f"CUDA {torch.version.cuda}")


# ----------------------------------------------------------------------------- test

def hung(name, passed, failed):
    print(f"FAIL {name}: no result after the case timeout (a hung kernel?); stopping\n"
          f"{passed} passed, {failed + 1} failed", flush=True)
    os._exit(2)


def test(args, rt, carry):
    dev = torch.device("cuda")
    batches = [int(b) for b in args.batches.split(",")]
    todo = selected_cases(carry, args.filter)
    if not todo:
        print(f"no modules under {carry}/modules match '{args.filter}'")
        return 1
    print(f"GPU: {gpu_line()}")
    passed = failed = 0
    tmp = Path(tempfile.mkdtemp(prefix="blockc-gpu-"))

    def report(ok, name, msg):
        nonlocal passed, failed
        print(f"{'PASS' if ok else 'FAIL'} {name} {msg}", flush=True)
        passed, failed = passed + bool(ok), failed + (not ok)

    for case in todo:
        t0 = time.time()
        m = None
        # A kernel that never finishes (a hung warp) blocks this thread in the driver: the
        # watchdog names the case and ends the run, so the cases before it are reported.
        watchdog = threading.Timer(args.case_timeout, hung, args=(case.name, passed, failed))
        watchdog.start()
        try:
            w, data = case.generate(batches=tuple(batches))
            wpath = tmp / f"{case.name}.safetensors"
            save_weights(w, wpath)
            model = torch_block(case, w, dev, torch.float64)
            m = Module(rt, carry / "modules" / case.name)
            m.bind(wpath)
            msgs, ok = [], True
            for x, ref_np in data:
                with torch.no_grad():
                    ref = model(torch.from_numpy(x).to(dev, torch.float64))
                y_host = m.run(x)
                xd = torch.from_numpy(x).to(dev)
                yd = torch.full((x.shape[0], m.out_tokens, m.out_dim), float("nan"), device=dev)
                m.run_device(xd, yd)
                e_host, e_dev = rel_err(y_host, ref), rel_err(yd, ref)
                e_np = rel_err(y_host, ref_np)  # the NumPy reference, for information
                ok &= e_host <= TOLERANCE and e_dev <= TOLERANCE
                msgs.append(f"B={x.shape[0]}: run {e_host:.1e} run_device {e_dev:.1e} "
                            f"(numpy ref {e_np:.1e})")
            report(ok, case.name, "; ".join(msgs) + f" [{time.time() - t0:.1f} s]")
        except Exception as e:  # noqa: BLE001 - one failing case must not stop the others
            report(False, case.name, f"{type(e).__name__}: {e}")
        finally:
            watchdog.cancel()
            if m:
                m.free()

    # Concurrent runs: 4 threads x 5 runs each, mixed batch sizes and both entry points, on
    # one module (each run has its own arena and stream).
    case = next((c for c in todo if c.name == "vit_ti16"), todo[0])
    try:
        w, _ = case.generate(batches=(1,))
        wpath = tmp / f"{case.name}.safetensors"
        save_weights(w, wpath)
        model = torch_block(case, w, dev, torch.float64)
        m = Module(rt, carry / "modules" / case.name)
        m.bind(wpath)
        errors, worst = [], [0.0]
        rng = np.random.default_rng(7)
        inputs = [rng.standard_normal((b, case.tokens, case.dim)).astype(np.float32)
                  for b in (1, 2, 3, 5)]
        with torch.no_grad():
            refs = [model(torch.from_numpy(x).to(dev, torch.float64)) for x in inputs]
        torch.cuda.synchronize()

        def worker(t):
            try:
                for r in range(5):
                    i = (t + r) % len(inputs)
                    if (t + r) % 2:
                        y = m.run(inputs[i])
                    else:
                        xd = torch.from_numpy(inputs[i]).to(dev)
                        torch.cuda.synchronize()
                        y = torch.empty((xd.shape[0], m.out_tokens, m.out_dim), device=dev)
                        m.run_device(xd, y)
                    worst[0] = max(worst[0], rel_err(y, refs[i]))
            except Exception as e:  # noqa: BLE001
                errors.append(f"thread {t}: {e}")

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report(not errors and worst[0] <= TOLERANCE, f"concurrent_runs({case.name})",
               f"4 threads x 5 runs, B in 1,2,3,5: worst {worst[0]:.1e} " + "; ".join(errors))

        # A host pointer given to run_device is refused with a message, not a crash.
        x = np.zeros((1, case.tokens, case.dim), np.float32)
        y = np.zeros((1, m.out_tokens, m.out_dim), np.float32)
        s, msg = m.status_of_run_device(x.ctypes.data, 1, y.ctypes.data)
        report(s == 1 and "not CUDA device memory" in msg, "run_device_host_pointer",
               f"status {s}: {msg}")
        m.free()

        # The CLI (host path) on the same module.
        xpath, ypath = tmp / "x.npy", tmp / "y.npy"
        np.save(xpath, inputs[2])
        p = subprocess.run([str(carry / "bin" / "blockc"), "run", str(carry / "modules" / case.name),
                            "--weights", str(wpath), "--input", str(xpath),
                            "--output", str(ypath)], capture_output=True, text=True)
        ok = p.returncode == 0 and ypath.is_file()
        e = rel_err(np.load(ypath), refs[2]) if ok else float("nan")
        report(ok and e <= TOLERANCE, f"cli_run({case.name})",
               f"exit {p.returncode}, rel_err {e:.1e}: {(p.stdout + p.stderr).strip()[-300:]}")
    except Exception as e:  # noqa: BLE001
        report(False, "concurrency/cli/errors", f"{type(e).__name__}: {e}")

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


# ----------------------------------------------------------------------------- bench

class SdpaAttention(torch.nn.Module):
    """check_reference_against_torch.Attention's forward with F.scaled_dot_product_attention
    (timm's fused_attn path): the same weights, PyTorch's fast attention kernel."""

    def __init__(self, attn):
        super().__init__()
        self.inner = attn

    def forward(self, x):
        a = self.inner
        B, N, C = x.shape
        qkv = a.qkv(x).reshape(B, N, 3, a.heads, C // a.heads).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(*qkv.unbind(0))
        return a.proj(o.transpose(1, 2).reshape(B, N, C))


def module_and_peer(rt, carry, case, dev, tmp):
    """The case's module with fresh random weights bound, and the same block in PyTorch on
    `dev` (attention through SDPA, as timm runs it): the two sides of a timing."""
    w, _ = case.generate(batches=(1,))
    wpath = Path(tmp) / f"{case.name}.safetensors"
    save_weights(w, wpath)
    m = Module(rt, carry / "modules" / case.name)
    m.bind(wpath)
    model = torch_block(case, w, dev, torch.float32)
    if hasattr(model, "attn"):
        model.attn = SdpaAttention(model.attn)
    return m, model


def time_ms(fn, warmup, repeat):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def bench(args, rt, carry):
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    batches = [int(b) for b in args.batches.split(",")]
    todo = selected_cases(carry, args.filter, lambda n: n.startswith("vit_b16"))
    if not todo:
        print(f"no vit_b16* modules under {carry}/modules match '{args.filter}'")
        return 1
    rows, failures = [], 0
    tmp = Path(tempfile.mkdtemp(prefix="blockc-bench-"))
    for case in todo:
        m = None
        try:
            m, model = module_and_peer(rt, carry, case, dev, tmp)
            flops = m.manifest["flops_per_sample"]
            for b in batches:
                x = torch.randn(b, case.tokens, case.dim, device=dev)
                y = torch.empty(b, m.out_tokens, m.out_dim, device=dev)
                xh = x.cpu().numpy()
                m.run_device(x, y)  # first call: the driver JIT-compiles the kernels' PTX
                with torch.no_grad():
                    ref = model(x)
                err = rel_err(y, ref)
                t_dev = time_ms(lambda: m.run_device(x, y), args.warmup, args.repeat)
                t_host = time_ms(lambda: m.run(xh), args.warmup, max(5, args.repeat // 4))
                with torch.no_grad():
                    t_torch = time_ms(lambda: model(x), args.warmup, args.repeat)
                rows.append((case.name, b, t_dev, t_host, t_torch,
                             flops * b / (t_dev * 1e-3) / 1e12, err))
                print(f"{case.name} B={b}: blockc {t_dev:.3f} ms (host API {t_host:.3f} ms), "
                      f"torch {t_torch:.3f} ms, rel_err vs torch fp32 {err:.1e}", flush=True)
        except Exception as e:  # noqa: BLE001
            failures += 1
            print(f"FAIL {case.name}: {type(e).__name__}: {e}", flush=True)
        finally:
            if m:
                m.free()

    print()
    print(f"### blockc CUDA modules vs PyTorch eager, "
          f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print()
    print(f"GPU: {gpu_line()}. float32 everywhere (TF32 off). Median of {args.repeat} "
          f"synchronized calls after {args.warmup} warm-up calls.")
    print("blockc: blockc_module_run_device on CUDA tensors; host API: blockc_module_run "
          "(input/output copies included). PyTorch: eager torch.nn block, SDPA attention.")
    print()
    print("| block | B | blockc (ms) | blockc host API (ms) | PyTorch eager (ms) | "
          "PyTorch / blockc | blockc TFLOP/s | max rel err vs PyTorch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, b, t_dev, t_host, t_torch, tflops, err in rows:
        print(f"| {name} | {b} | {t_dev:.3f} | {t_host:.3f} | {t_torch:.3f} | "
              f"{t_torch / t_dev:.2f}x | {tflops:.2f} | {err:.1e} |")
    return 1 if failures or not rows else 0


def profile(args, rt, carry):
    """Per-kernel GPU time (CUPTI, through torch.profiler) of blockc's module and of the
    PyTorch eager block, for the schedules' authors: where the time goes."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    batches = [int(b) for b in args.batches.split(",")]
    todo = selected_cases(carry, args.filter,
                          None if args.filter else (lambda n: n == "vit_b16"))
    runs = 10

    def kernel_table(fn, title):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        with torch_profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(runs):
                fn()
            torch.cuda.synchronize()
        rows = []
        for a in prof.key_averages():
            t = getattr(a, "self_device_time_total", None)
            if t is None:
                t = getattr(a, "self_cuda_time_total", 0)
            if t > 0:
                rows.append((t / runs / 1e3, a.count // runs, a.key))
        rows.sort(reverse=True)
        total = sum(r[0] for r in rows)
        print(f"{title}: GPU busy {total:.3f} ms per call")
        for ms, n, key in rows[:12]:
            print(f"  {ms:8.3f} ms {100 * ms / max(total, 1e-9):5.1f}%  x{n:<3d} {key[:110]}")

    for case in todo:
        m, model = module_and_peer(rt, carry, case, dev, tempfile.mkdtemp(prefix="blockc-prof-"))
        for b in batches:
            x = torch.randn(b, case.tokens, case.dim, device=dev)
            y = torch.empty(b, m.out_tokens, m.out_dim, device=dev)
            wall = time_ms(lambda: m.run_device(x, y), 3, 20)
            print(f"== {case.name} B={b}: blockc wall {wall:.3f} ms per call")
            kernel_table(lambda: m.run_device(x, y), f"blockc {case.name} B={b}")
            with torch.no_grad():
                kernel_table(lambda: model(x), f"PyTorch eager {case.name} B={b}")
        # Streams per run: 4 threads running concurrently vs the same runs one after another.
        b = batches[0]
        xs = [torch.randn(b, case.tokens, case.dim, device=dev) for _ in range(4)]
        ys = [torch.empty(b, m.out_tokens, m.out_dim, device=dev) for _ in range(4)]
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(10):
            for i in range(4):
                m.run_device(xs[i], ys[i])
        sequential = time.perf_counter() - t0

        def worker(i):
            for _ in range(10):
                m.run_device(xs[i], ys[i])
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        concurrent = time.perf_counter() - t0
        print(f"== {case.name} B={b}, 40 runs: one thread {sequential * 1e3:.1f} ms, "
              f"4 threads (a stream each) {concurrent * 1e3:.1f} ms")
        m.free()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("test", "bench", "profile"))
    ap.add_argument("--carry", default=str(ROOT / ".device-carry"))
    ap.add_argument("--filter", default="")
    ap.add_argument("--batches", default=None)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--case-timeout", type=float, default=120,
                    help="test: seconds a case may take before the run stops as hung")
    args = ap.parse_args()
    args.batches = args.batches or {"test": "3,1", "bench": "1,8,64", "profile": "1,64"}[
        args.command]
    carry = Path(args.carry).resolve()
    if not torch.cuda.is_available():
        print("gpu_check.py: PyTorch sees no CUDA GPU")
        return 1
    rt = Runtime(carry / "lib" / "libblockc_runtime.so.1")
    return {"test": test, "bench": bench, "profile": profile}[args.command](args, rt, carry)


if __name__ == "__main__":
    sys.exit(main())
