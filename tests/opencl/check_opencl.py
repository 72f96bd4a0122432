#!/usr/bin/env python3
"""The GPU schedules' numerics without a GPU: every run kernel compiled for `opencl` (the
host CPU's tier with Halide's OpenCL backend) runs on PoCL, the OpenCL implementation for
CPUs, and must match the same kernel compiled for the host CPU with its default schedule,
on the same inputs, at batch 2 (and matmuls also at batch 16, their large-row
specialization).

Kernels are compiled and run one at a time by blockc-tune's workers (`__compile`, `__time`:
inputs in [0.25, 1.25), outputs start as NaN; max |diff| <= 1e-4 * max(1, max |ref|) and no
NaN, per output). Each spec's every kernel is checked with the default GPU schedule; the
kernels named in SWEEP also with each value of each of their knobs, the others at their
defaults. Then the tuner's GPU path: `blockc-tune --target opencl` on --tune-spec, a few
trials per kernel (the default, Anderson2021, a random point: each compiled for the GPU,
checked against the default's outputs and timed through the device), must finish and write
a record per kernel. Exit 77 (a CTest skip) when no OpenCL platform named "Portable" (PoCL)
is found.

  check_opencl.py --tune BLOCKC_TUNE --workdir DIR [--tune-spec SPEC] [--jobs 2]
                  [--filter SUBSTR]
"""
import argparse
import concurrent.futures
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import cases  # noqa: E402  (the e2e specs: every norm type and placement)

SKIP = 77


def batches(kind):
    """The matmul's schedule is specialized on the row count (16 samples and up)."""
    return (2, 16) if kind == "matmul" else (2,)
# Every norm type and placement, BatchNorm between the FFN linears, odd sizes (tails), and a
# head wider than a warp (attention's head slices, with a partial last slice).
SPECS = ["pre_ln", "post_ln", "bnffn_ln", "pre_bn", "pre_rms", "bn_between_ln", "odd_sizes"]
EXTRA = [cases._small("wide_head", tokens=9, dim=160, heads=2, hidden=64)]
# (spec, kernel): every value of every knob. A matmul with a fused LayerNorm, attention with
# narrow and wide heads, an Add & LayerNorm kernel, a matmul with tails everywhere.
SWEEP = [("pre_ln", "k0_matmul"), ("pre_ln", "k1_attention"), ("post_ln", "k3_norm"),
         ("wide_head", "k1_attention"), ("odd_sizes", "k4_matmul")]


def opencl_platforms():
    """Names of the OpenCL platforms the ICD loader finds (empty without one)."""
    try:
        cl = ctypes.CDLL("libOpenCL.so.1")
    except OSError:
        return []
    count = ctypes.c_uint(0)
    if cl.clGetPlatformIDs(0, None, ctypes.byref(count)) != 0 or count.value == 0:
        return []
    ids = (ctypes.c_void_p * count.value)()
    cl.clGetPlatformIDs(count.value, ids, None)
    names = []
    for p in ids:
        name = ctypes.create_string_buffer(256)
        cl.clGetPlatformInfo(ctypes.c_void_p(p), 0x0902, 256, name, None)  # CL_PLATFORM_NAME
        names.append(name.value.decode(errors="replace"))
    return names


def run(cmd, env=None, timeout=300):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


class Checker:
    def __init__(self, args, env):
        self.args, self.env = args, env
        self.runtimes = {}

    def runtime(self, target):
        path = os.path.join(self.args.workdir, f"runtime-{target}.o")
        r = run([self.args.tune, "__runtime", "--target", target, "--out", path])
        if r.returncode:
            raise RuntimeError(f"Halide runtime for {target}: {r.stderr}")
        self.runtimes[target] = path

    def compile(self, spec, target, kernel, knobs, out):
        r = run([self.args.tune, "__compile", "--spec", spec, "--target", target,
                 "--kernel", kernel, "--schedule", json.dumps({"knobs": knobs}), "--out", out,
                 "--runtime", self.runtimes[target]])
        return None if r.returncode == 0 else f"compile failed: {r.stderr.strip()[-600:]}"

    def time(self, out, batch, reference, write):
        result = os.path.join(out, f"result-{batch}.json")
        cmd = [self.args.tune, "__time", "--dir", out, "--batch", str(batch), "--reference",
               reference, "--result", result, "--no-time", "--threads", "1"]
        if write:
            cmd.append("--write-reference")
        r = run(cmd, env=self.env)
        if r.returncode:
            return None, f"run failed (exit {r.returncode}) at batch {batch}: {r.stderr.strip()[-600:]}"
        with open(result) as f:
            return json.load(f), None

    def reference(self, name, spec, kernel, kind):
        """The host CPU's default schedule: writes the references, one per batch size."""
        out = os.path.join(self.args.workdir, name, kernel, "host")
        error = self.compile(spec, "host", kernel, {}, out)
        refs = {}
        for batch in batches(kind):
            refs[batch] = os.path.join(out, f"reference-{batch}.bin")
            if not error:
                _, error = self.time(out, batch, refs[batch], write=True)
        return refs, error

    def variant(self, name, spec, kernel, knobs, refs):
        label = ",".join(f"{k}={v}" for k, v in knobs.items()) or "default"
        out = os.path.join(self.args.workdir, name, kernel, "opencl-" + label.replace("=", "").replace(",", "-"))
        error = self.compile(spec, "opencl", kernel, knobs, out)
        worst = []
        for batch in refs:
            if error:
                break
            result, error = self.time(out, batch, refs[batch], write=False)
            if result and result["status"] != "ok":
                error = f"batch {batch}: {result['status']}: {result['message']}"
            elif result:
                worst.append(max((v for k, v in result.items() if k.startswith("max_diff")), default=0))
        if not self.args.keep:
            shutil.rmtree(out, ignore_errors=True)
        return f"{name} {kernel} [{label}]", error, max(worst, default=0)


def check_tuner(args, env):
    """blockc-tune end to end on the OpenCL target; returns the failures."""
    workdir = os.path.join(args.workdir, "tune")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    db = os.path.join(workdir, "db.jsonl")
    r = run([args.tune, args.tune_spec, "--target", "opencl", "--db", db, "--trials", "3",
             "--seed", "1"], env=env, timeout=600)
    if r.returncode:
        return [f"blockc-tune --target opencl: exit {r.returncode}: {r.stderr[-2000:]}"]
    listing = run([args.tune, args.tune_spec, "--target", "opencl", "--list=json"])
    kernels = {json.loads(line)["kernel"] for line in listing.stdout.splitlines()}
    with open(db + ".trials") as f:
        trials = [json.loads(line) for line in f if line.strip()]
    with open(db) as f:
        records = [json.loads(line) for line in f if line.strip()]
    failures = []
    for kernel in sorted(kernels):
        mine = sorted((t for t in trials if t["kernel"] == kernel), key=lambda t: t["trial"])
        origins = [t["origin"] for t in mine]
        if origins[:2] != ["default", "Anderson2021"] or len(mine) != 3:
            failures.append(f"tuner: {kernel}: trials {origins}, expected the default, "
                            f"Anderson2021 and one more")
        elif mine[0]["status"] != "ok" or not any(t["status"] == "ok" for t in mine[1:]):
            failures.append(f"tuner: {kernel}: no GPU candidate measured: "
                            f"{[(t['origin'], t['status'], t['message'][:200]) for t in mine]}")
    recorded = {r["kernel"] for r in records if "-opencl" in r["target"]}
    if recorded != kernels:
        failures.append(f"tuner: records for {sorted(recorded)}, expected {sorted(kernels)}")
    print(f"tuner on opencl: {len(trials)} trials of {len(kernels)} kernels, "
          f"{len(records)} records, {len(failures)} problems", flush=True)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", required=True, help="the blockc-tune executable")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--filter", default="", help="only specs whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep every variant's build")
    parser.add_argument("--tune-spec", help="also run blockc-tune --target opencl on this spec")
    args = parser.parse_args()

    env = dict(os.environ)
    # Only PoCL, on the CPU, one thread per kernel run (the jobs run side by side); its
    # kernel cache in the build tree.
    env.setdefault("HL_OCL_PLATFORM_NAME", "Portable")
    env.setdefault("HL_OCL_DEVICE_TYPE", "cpu")
    env.setdefault("POCL_MAX_PTHREAD_COUNT", "1")   # PoCL 3.x
    env.setdefault("POCL_CPU_MAX_CU_COUNT", "1")    # newer PoCL
    env.setdefault("POCL_CACHE_DIR", os.path.join(args.workdir, "pocl-cache"))
    # PoCL compiles every kernel program once (most of this test's time): unoptimized, about
    # a fifth faster; the numerics are the same IEEE float32 operations.
    env.setdefault("HL_OCL_BUILD_OPTIONS", "-cl-opt-disable")
    platforms = opencl_platforms()
    if not any(env["HL_OCL_PLATFORM_NAME"] in p for p in platforms):
        print(f"SKIP: no OpenCL platform named '{env['HL_OCL_PLATFORM_NAME']}' "
              f"(found: {platforms or 'none'}); install PoCL: apt-get install pocl-opencl-icd "
              f"ocl-icd-libopencl1 (tools/setup.sh does)")
        return SKIP
    print(f"OpenCL platforms: {platforms}; using {env['HL_OCL_PLATFORM_NAME']}, "
          f"device type {env['HL_OCL_DEVICE_TYPE']}")

    os.makedirs(args.workdir, exist_ok=True)
    start = time.time()
    checker = Checker(args, env)
    for target in ("host", "opencl"):
        checker.runtime(target)

    specs = {}
    for case in [c for c in cases.GENERAL if c.name in SPECS] + EXTRA:
        if args.filter in case.name:
            path = os.path.join(args.workdir, case.name + ".block")
            with open(path, "w") as f:
                f.write(case.spec_text())
            specs[case.name] = path
    missing = [s for s in SPECS if args.filter in s and s not in specs]
    if missing:
        print(f"FAIL: specs missing from tests/e2e/cases.py: {missing}")
        return 1

    # The kernels and their GPU knobs.
    jobs = []  # (name, spec, kernel, kind, knobs)
    for name, spec in specs.items():
        r = run([args.tune, spec, "--target", "opencl", "--list=json"])
        if r.returncode:
            print(f"FAIL {name}: --list: {r.stderr}")
            return 1
        for line in r.stdout.splitlines():
            task = json.loads(line)
            kernel, kind = task["kernel"], task["kind"]
            jobs.append((name, spec, kernel, kind, {}))
            if (name, kernel) in SWEEP:
                for knob in task["knobs"]:
                    jobs += [(name, spec, kernel, kind, {knob["name"]: v})
                             for v in knob["choices"] if v != knob["default"]]
    swept = {(n, k) for n, _, k, _, knobs in jobs if knobs}
    if args.filter == "" and swept != set(SWEEP):
        print(f"FAIL: kernels to sweep not found: {sorted(set(SWEEP) - swept)}")
        return 1

    failed, passed = [], 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        # References first (one per kernel), then the variants.
        kernels = sorted({(n, s, k, kind) for n, s, k, kind, _ in jobs})
        refs = dict(zip(kernels, pool.map(lambda t: checker.reference(*t), kernels)))
        futures = []
        for name, spec, kernel, kind, knobs in jobs:
            ref, error = refs[(name, spec, kernel, kind)]
            if error:
                failed.append(f"{name} {kernel} [host reference]: {error}")
                continue
            futures.append(pool.submit(checker.variant, name, spec, kernel, knobs, ref))
        for future in futures:
            label, error, worst = future.result()
            if error:
                failed.append(f"{label}: {error}")
                print(f"FAIL {label}: {error}", flush=True)
            else:
                passed += 1
                if args.keep:
                    print(f"PASS {label}: max |diff| {worst:.3g}", flush=True)
    kernels_checked = len({(n, k) for n, _, k, _, _ in jobs})
    print(f"{passed} passed, {len(failed)} failed: {kernels_checked} kernels of {len(specs)} "
          f"specs, {len(jobs)} schedules (defaults, and every knob value of "
          f"{len(swept)} kernels), batch 2 and matmuls also 16, "
          f"{time.time() - start:.0f} s")
    if args.tune_spec:
        failed += check_tuner(args, env)
    for f in failed:
        print("  " + f)
    return 0 if not failed and passed else 1


if __name__ == "__main__":
    sys.exit(main())
