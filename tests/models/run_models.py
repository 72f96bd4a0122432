"""Whole-model tests of blockc against timm/PyTorch (reference.py).

For each case of reference.py (timm's vit_tiny/small/base_patch16_224, ViTBN and ViTBNFFN at
ViT-B and ViT-Ti sizes, and timm VisionTransformers of sizes no example uses):
  1. the reference: reference.py builds the timm model (seeded, every parameter and buffer
     made non-trivial, eval) and writes its state_dict as safetensors, seeded random
     pixel_values at B = 1 and 3 and timm's logits and pooled features for them; then
     checks it (the weight file reproduces the outputs, float32 within 1e-5 of float64,
     each parameter group moves the output) and that the comparison below rejects the
     reference perturbed beyond the tolerance, a NaN, a wrong dtype or shape and the batch's
     samples reordered;
  2. `blockc compile SPEC -o DIR/module` (SPEC: examples/models/<case>.block, or
     tests/models/specs/<case>.block for the sizes no example uses);
  3. `blockc run DIR/module --weights weights.safetensors --input pixel_values=X.npy
     --output logits=L.npy --output features=F.npy` at B = 1 and B = 3, each output
     compared with timm's: max|out - ref| / max|ref| <= 1e-4; BatchNorm models once more
     at B = 3 with the checkpoint's num_batches_tracked dropped
     (weights_no_counters.safetensors; test <case>_no_counters).
Then the negative checks, which show the comparison can fail: the vit_tiny module run with
the weights of another seed, and the ViTBN-Ti module with its BatchNorms' running
statistics reset to mean 0 / variance 1, must each lie further than 1e-2 from timm's
outputs.

    run_models.py --blockc PATH --workdir DIR [--filter SUBSTR ...] [--keep]
                  [--target arm64 --blockc-run ARM_BLOCKC --runner "qemu-aarch64 -L ..."]
    run_models.py --reference-only --workdir DIR [--filter SUBSTR]

With --target, modules are compiled for that target and run by --blockc-run (the AArch64
run-only blockc of tools/build-arm64.sh) through --runner (qemu-user), as e2e_arm64 does.

--reference-only runs step 1 alone (no blockc). Prints `PASS name ...` / `FAIL name ...` per
test, the error of every case/output/batch, and ends with `N passed, M failed`; exit code 0
only if every selected test passed (and at least one ran). Run with .venv-torch/bin/python
(tools/setup.sh). Weight files of passing cases are deleted at the end unless --keep.
"""
import os

# Before torch starts its OpenMP threads: on a loaded 2-core machine, spinning threads slow
# every other process (and torch itself) down.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402

TOLERANCE = 1e-4
# A run that must NOT match (wrong weights) lies at least this far from the reference.
WRONG_MIN = 1e-2
COMPILE_TIMEOUT_S, RUN_TIMEOUT_S = 900, 300


class Failure(Exception):
    pass


def execute(args, timeout):
    try:
        return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                              timeout=timeout)
    except OSError as e:
        raise Failure(f"cannot run {args[0]}: {e}") from e
    except subprocess.TimeoutExpired as e:
        raise Failure(f"{args[0]} {args[1]} timed out after {timeout} s") from e


def last_lines(p, n=3):
    lines = [s for s in (p.stderr + p.stdout).splitlines() if s.strip()]
    return " | ".join(lines[-n:])[:600] if lines else "(no output)"


def exited(p):
    return f"killed by signal {-p.returncode}" if p.returncode < 0 else \
        f"exit code {p.returncode}"


def rel_err(y, ref):
    return float(np.abs(y.astype(np.float64) - ref.astype(np.float64)).max()
                 / np.abs(ref.astype(np.float64)).max())


def compare(y, ref, what):
    """Returns max|y - ref| / max|ref|; a wrong dtype or shape, a non-finite value or an
    error above TOLERANCE is a Failure."""
    if y.dtype != np.float32 or y.shape != ref.shape:
        raise Failure(f"{what}: output {y.dtype}{list(y.shape)}, "
                      f"expected float32{list(ref.shape)}")
    if not np.isfinite(y).all():
        raise Failure(f"{what}: output has {int((~np.isfinite(y)).sum())} non-finite values")
    e = rel_err(y, ref)
    if e > TOLERANCE:
        worst = tuple(int(i) for i in np.unravel_index(
            np.abs(y.astype(np.float64) - ref).argmax(), y.shape))
        raise Failure(f"{what}: rel_err {e:.1e} > {TOLERANCE:g} (worst at {worst}: "
                      f"{y[worst]:.6g} vs {ref[worst]:.6g})")
    return e


def check_compare_logic(ref, what):
    """The comparison itself, on a reference output: it accepts the reference and the
    reference moved by half the tolerance, and rejects one element moved by twice the
    tolerance, a NaN, float64, a wrong shape and (B > 1) the samples in another order."""
    scale = float(np.abs(ref).max())
    rng = np.random.default_rng(5)
    must_pass = {
        "itself": ref.copy(),
        "moved by tol/2": (ref + rng.choice([-0.5, 0.5], ref.shape) * TOLERANCE * scale
                           ).astype(np.float32),
    }
    i = int(rng.integers(ref.size))
    moved = ref.copy()
    moved.flat[i] += np.float32(2 * TOLERANCE * scale)
    nan = ref.copy()
    nan.flat[i] = np.nan
    must_fail = {"one element moved by 2 tol": moved, "a NaN": nan,
                 "float64": ref.astype(np.float64), "a shape [1, ...]": ref[None],
                 "flattened": ref.reshape(-1)}
    if ref.shape[0] > 1:
        must_fail["samples rolled"] = np.roll(ref, 1, axis=0)
    for label, y in must_pass.items():
        try:
            compare(y, ref, what)
        except Failure as e:
            raise Failure(f"the comparison rejects the reference {label}: {e}")
    for label, y in must_fail.items():
        try:
            e = compare(y, ref, what)
        except Failure:
            continue
        raise Failure(f"the comparison accepts the reference with {label} (rel_err {e:.1e})")


def need_spec(case):
    if not case.spec.is_file():
        raise Failure(f"missing spec {case.spec}")


class Run:
    """One test run: the workdir, blockc, and what earlier tests prepared."""

    def __init__(self, blockc, workdir, keep, target=None, run_cmd=None):
        self.blockc, self.workdir, self.keep = blockc, workdir, keep
        self.target = target
        self.run_cmd = run_cmd or [blockc]  # how `blockc run` is invoked
        self.refs, self.modules = {}, {}
        self.passed_dirs = []

    def reference(self, case):
        """The case's reference folder (generated and checked once per run)."""
        if case.name not in self.refs:
            d = self.workdir / case.name / "ref"
            shutil.rmtree(d, ignore_errors=True)
            start = time.time()
            info = reference.generate(case, d)
            gen_s = time.time() - start
            start = time.time()
            ok, lines = reference.check(case, d)
            if not ok:
                raise Failure("reference check: " + "; ".join(lines))
            for B in reference.BATCHES:
                for n in info["outputs"]:
                    check_compare_logic(np.load(d / f"{n}_b{B}.npy"), f"{n} B={B}")
            self.refs[case.name] = (d, info, f"ref {gen_s:.1f} s + check "
                                    f"{time.time() - start:.1f} s ({lines[-2]})")
        return self.refs[case.name]

    def module(self, case):
        if case.name not in self.modules:
            out = self.workdir / case.name / "module"
            shutil.rmtree(out, ignore_errors=True)
            start = time.time()
            target = ["--target", self.target] if self.target else []
            p = execute([self.blockc, "compile", case.spec, "-o", out, *target],
                        COMPILE_TIMEOUT_S)
            if p.returncode != 0:
                raise Failure(f"compile {case.spec.name}: {exited(p)}: {last_lines(p)}")
            if not (out / "module.so").is_file():
                raise Failure(f"compile wrote no {out / 'module.so'}")
            self.modules[case.name] = (out, time.time() - start)
        return self.modules[case.name][0]

    def run(self, case, weights, B, tag):
        """`blockc run` of the case's module on the reference's pixel_values at B; returns
        {output name: array}."""
        d, info, _ = self.reference(case)
        module = self.module(case)
        outdir = self.workdir / case.name / f"out_{tag}_b{B}"
        shutil.rmtree(outdir, ignore_errors=True)
        outdir.mkdir(parents=True)
        args = [*self.run_cmd, "run", module, "--weights", weights,
                "--input", f"pixel_values={d / f'pixel_values_b{B}.npy'}"]
        for n in info["outputs"]:
            args += ["--output", f"{n}={outdir / f'{n}.npy'}"]
        p = execute(args, RUN_TIMEOUT_S)
        if p.returncode != 0:
            raise Failure(f"run {tag} B={B}: {exited(p)}: {last_lines(p)}")
        got = {}
        for n in info["outputs"]:
            if not (outdir / f"{n}.npy").is_file():
                raise Failure(f"run {tag} B={B} wrote no {n} ({outdir / f'{n}.npy'})")
            got[n] = np.load(outdir / f"{n}.npy")
        return got


def check_reference(run, case):
    return run.reference(case)[2]


def check_case(run, case, variant="weights"):
    """The case's module on the reference's weights (variant "weights", B = 1 and 3) or on
    the checkpoint without BatchNorm's num_batches_tracked ("no_counters", B = 3)."""
    need_spec(case)
    d, info, ref_msg = run.reference(case)
    if variant == "weights":
        weights, batches = d / "weights.safetensors", reference.BATCHES
    else:
        weights, batches = d / "weights_no_counters.safetensors", (3,)
    errs = []
    for B in batches:
        got = run.run(case, weights, B, variant)
        for n in info["outputs"]:
            ref = np.load(d / f"{n}_b{B}.npy")
            try:
                e = compare(got[n], ref, f"{variant} {n} B={B}")
            except Failure as f:
                raise Failure(f"{f} (before: {' '.join(errs) or 'nothing'})")
            errs.append(f"{n}@B{B}={e:.1e}")
    if variant == "no_counters":
        return f"{' '.join(errs)} ({len(info['counters'])} num_batches_tracked dropped)"
    run.passed_dirs.append(d)
    return f"{' '.join(errs)} (compile {run.modules[case.name][1]:.0f} s, {ref_msg})"


def check_far(run, case, weights, label):
    """Runs the case's module with other weights: every output at every B must lie further
    than WRONG_MIN from the reference."""
    need_spec(case)
    d, info, _ = run.reference(case)
    errs = []
    for B in reference.BATCHES:
        got = run.run(case, weights, B, label)
        for n in info["outputs"]:
            ref = np.load(d / f"{n}_b{B}.npy")
            if got[n].shape != ref.shape:
                raise Failure(f"{n} B={B}: shape {list(got[n].shape)}, expected "
                              f"{list(ref.shape)}")
            e = rel_err(got[n], ref)
            if not e > WRONG_MIN:  # NaN fails too
                raise Failure(f"{n} B={B} with {label} weights: rel_err {e:.1e} <= "
                              f"{WRONG_MIN:g}: the comparison cannot tell these weights apart")
            errs.append(f"{n}@B{B}={e:.1e}")
    return f"{label}: {' '.join(errs)} (each > {WRONG_MIN:g}, as it must be)"


def check_other_seed(run):
    case = reference.BY_NAME["vit_tiny_patch16_224"]
    need_spec(case)
    d = run.workdir / "neg_other_seed"
    shutil.rmtree(d, ignore_errors=True)
    reference.generate(case, d, seed=reference.SEED + 1)
    msg = check_far(run, case, d / "weights.safetensors", "seed1")
    shutil.rmtree(d, ignore_errors=True)
    return msg


def check_neutral_bn_stats(run):
    case = reference.BY_NAME["vitbn_tiny_patch16_224"]
    need_spec(case)
    ref_dir, _, _ = run.reference(case)
    w = load_file(str(ref_dir / "weights.safetensors"))
    stats = [k for k in w if k.endswith((".running_mean", ".running_var"))]
    if not stats:
        raise Failure("the ViTBN checkpoint has no running statistics")
    for k in stats:
        w[k] = np.full_like(w[k], 1.0 if k.endswith("var") else 0.0)
    d = run.workdir / "neg_neutral_bn_stats"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    save_file(w, str(d / "weights.safetensors"))
    return check_far(run, case, d / "weights.safetensors", "neutral_stats")


def tests(reference_only):
    if reference_only:
        return [(f"ref_{c.name}", lambda r, c=c: check_reference(r, c)) for c in reference.CASES]
    out = []
    for c in reference.CASES:
        out.append((c.name, lambda r, c=c: check_case(r, c)))
        if c.batchnorm:  # the same checkpoint with num_batches_tracked dropped
            out.append((f"{c.name}_no_counters",
                        lambda r, c=c: check_case(r, c, "no_counters")))
    out += [("neg_vit_tiny_other_seed_weights", check_other_seed),
            ("neg_vitbn_tiny_neutral_bn_stats", check_neutral_bn_stats)]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blockc", help="path of the blockc executable")
    ap.add_argument("--workdir", required=True, help="scratch folder (references, modules)")
    ap.add_argument("--filter", action="append", default=[],
                    help="run only tests whose name contains this (repeatable: any of them)")
    ap.add_argument("--reference-only", action="store_true",
                    help="only generate and check the references (no blockc)")
    ap.add_argument("--keep", action="store_true", help="keep every weight file")
    ap.add_argument("--target", help="compile for this target (e.g. arm64)")
    ap.add_argument("--blockc-run", help="the blockc that runs the modules (default --blockc)")
    ap.add_argument("--runner", default="", help="command prefix for --blockc-run (qemu)")
    args = ap.parse_args()
    if not args.reference_only and not args.blockc:
        ap.error("--blockc is required (or --reference-only)")
    blockc = Path(args.blockc).resolve() if args.blockc else None
    if blockc and not blockc.is_file():
        print(f"no blockc at {blockc}")
        print("0 passed, 1 failed")
        return 1
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    reference.set_threads()
    run_cmd = [*args.runner.split(), args.blockc_run] if args.blockc_run else None
    run = Run(blockc, workdir, args.keep, args.target, run_cmd)
    passed = failed = 0
    for name, fn in tests(args.reference_only):
        if args.filter and not any(f in name for f in args.filter):
            continue
        start = time.time()
        try:
            ok, msg = True, fn(run)
        except Failure as e:
            ok, msg = False, str(e)
        except Exception as e:  # a bug in the test itself still reports, and the rest runs
            ok, msg = False, f"{type(e).__name__}: {e}"
        print(f"{'PASS' if ok else 'FAIL'} {name} {msg} [{time.time() - start:.0f} s]",
              flush=True)
        passed, failed = passed + ok, failed + (not ok)
    if not args.keep:
        for d in run.passed_dirs:
            for f in d.glob("weights*.safetensors"):
                f.unlink()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
