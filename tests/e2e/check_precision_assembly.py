"""Checks that bf16 modules multiply with the CPU's bf16 dot product where the target has one.

For each spec: `blockc compile --precision bf16 --emit-stmt` for x86-64-zen4, x86-64-zen5 and
x86-64-sapphirerapids (AVX512-BF16) must give matmul kernels whose assembly has
`vdpbf16ps` and no float32 multiply-add of the weight (every matmul kernel of the module is
a bf16 one), and whose manifest says "precision": "bf16", stores every matmul weight as a
BF16 constant and lists `avx512bf16` among the CPU features the runtime checks; the fp32
module for the same target has no `vdpbf16ps`, nor the bf16 module for x86-64-avx2 (no such
instruction: there the products are float32 multiply-adds of widened bf16). Compiling needs
no such CPU; running is e2e_bf16's job (on a host with AVX512-BF16 it runs these kernels).

    check_precision_assembly.py --blockc PATH --workdir DIR SPEC...

Prints `PASS ...` / `FAIL ...` per spec and target and `N passed, M failed`.
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

BF16_TARGETS = ("x86-64-zen4", "x86-64-zen5", "x86-64-sapphirerapids")


class Failure(Exception):
    pass


def compile_module(blockc, spec, out, target, precision):
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.run([blockc, "compile", spec, "-o", out, "--target", target,
                        "--precision", precision, "--emit-stmt"],
                       capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise Failure(f"compile --target {target} --precision {precision}: "
                      f"{(p.stderr or p.stdout).strip()[-400:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    # Kernels of one signature share a function (and its assembly): by kernel name.
    text = {s.stem: s.read_text() for s in (out / "kernels").glob("*.s")}
    asm = {k["name"]: text.get(k["function"]) for k in manifest["run"] + manifest["prepare"]}
    return manifest, asm


def count(pattern, text):
    return len(re.findall(pattern, text))


def check_bf16(blockc, spec, workdir, target):
    manifest, asm = compile_module(blockc, spec, workdir / "bf16", target, "bf16")
    if manifest.get("precision") != "bf16":
        raise Failure(f"manifest precision {manifest.get('precision')!r}, expected 'bf16'")
    if "avx512bf16" not in manifest["cpu_features"]:
        raise Failure(f"cpu_features {manifest['cpu_features']} lack avx512bf16")
    run = [k["name"] for k in manifest["run"]]
    matmuls = [n for n in run if "matmul" in n]
    if not matmuls or any(not n.endswith("_bf16") for n in matmuls):
        raise Failure(f"matmul kernels {matmuls}: expected all of them bf16")
    dtypes = {c.get("dtype", "F32") for c in manifest["constants"]}
    if "BF16" not in dtypes:
        raise Failure(f"no BF16 constant (dtypes {sorted(dtypes)})")
    dots = {}
    for name in matmuls:
        text = asm.get(name)
        if text is None:
            raise Failure(f"no assembly for {name}")
        dots[name] = count(r"\bvdpbf16ps\b", text)
        if dots[name] == 0:
            raise Failure(f"{name}: no vdpbf16ps in its assembly")
    for name, text in asm.items():
        if text is None:
            raise Failure(f"no assembly for {name}")
        if "matmul" not in name and count(r"\bvdpbf16ps\b", text):
            raise Failure(f"{name}, not a matmul, has vdpbf16ps")
    _, fp32 = compile_module(blockc, spec, workdir / "fp32", target, "fp32")
    if any(count(r"\bvdpbf16ps\b", t) for t in fp32.values()):
        raise Failure("the fp32 module has vdpbf16ps")
    return f"{len(matmuls)} bf16 matmuls, vdpbf16ps {min(dots.values())}-{max(dots.values())} each"


def check_avx2(blockc, spec, workdir):
    manifest, asm = compile_module(blockc, spec, workdir / "avx2", "x86-64-avx2", "bf16")
    if manifest.get("precision") != "bf16":
        raise Failure(f"manifest precision {manifest.get('precision')!r}, expected 'bf16'")
    if any(f.startswith("avx512") for f in manifest["cpu_features"]):
        raise Failure(f"an AVX2 module needs {manifest['cpu_features']}")
    if any(count(r"\bvdpbf16ps\b", t) for t in asm.values()):
        raise Failure("an AVX2 module has vdpbf16ps")
    return "bf16 matmuls without vdpbf16ps"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blockc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args()
    workdir = Path(args.workdir).resolve()
    passed = failed = 0
    for spec in args.specs:
        checks = [(t, lambda d, t=t: check_bf16(args.blockc, spec, d, t)) for t in BF16_TARGETS]
        checks.append(("x86-64-avx2", lambda d: check_avx2(args.blockc, spec, d)))
        for target, check in checks:
            d = workdir / Path(spec).stem / target
            d.mkdir(parents=True, exist_ok=True)
            try:
                print(f"PASS {Path(spec).name} {target}: {check(d)}", flush=True)
                passed += 1
            except (Failure, subprocess.TimeoutExpired, OSError) as e:
                print(f"FAIL {Path(spec).name} {target}: {e}", flush=True)
                failed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
