"""Checks that bf16 and int8 modules multiply with the CPU's dot product instructions.

For each spec and precision: `blockc compile --precision P --emit-stmt` for the targets with
that dot product must give matmul kernels whose assembly has it (bf16: `vdpbf16ps` for
x86-64-zen4, x86-64-zen5, x86-64-sapphirerapids; int8: `vpdpbusd` for those, `sdot` for
arm64-dotprod, `vpmaddwd` for x86-64-avx2), with every matmul kernel of the module named for
the precision, the manifest saying the precision, storing the converted weights (BF16, I8,
or I16 where int8 is widened for vpmaddwd) and listing the CPU flag the runtime must check
(avx512bf16, avx512vnni, asimddp, avx2); the fp32 module for the same target has none of it.
Attention kernels of a bf16 or int8 module are bf16 (named `..._bf16`), with `vdpbf16ps` in
their assembly on the targets that have it; the fp32 module's are neither.
bf16 on x86-64-avx2 has no bf16 instruction at all (widened FMAs). GPU targets refuse both
formats. Compiling needs no such CPU; running is e2e_bf16's and e2e_int8's job (on a host
with AVX512-BF16/VNNI, `host` compiles these kernels).

    check_precision_assembly.py --blockc PATH --workdir DIR SPEC...

Prints `PASS ...` / `FAIL ...` per spec, precision and target and `N passed, M failed`.
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

AVX512_DOT = ("x86-64-zen4", "x86-64-zen5", "x86-64-sapphirerapids")
# (precision, target) -> (instruction every matmul kernel has, CPU flag the manifest lists,
# the dtype its weights are stored as: int8 widened to 16 bits for vpmaddwd)
DOT_PRODUCTS = {("bf16", t): (r"\bvdpbf16ps\b", "avx512bf16", "BF16") for t in AVX512_DOT}
DOT_PRODUCTS.update({("int8", t): (r"\bvpdpbusd\b", "avx512vnni", "I8") for t in AVX512_DOT})
DOT_PRODUCTS[("int8", "arm64-dotprod")] = (r"\bsdot\b", "asimddp", "I8")
DOT_PRODUCTS[("int8", "x86-64-avx2")] = (r"\bvpmaddwd\b", "avx2", "I16")
REDUCED = ("bf16", "int8")


class Failure(Exception):
    pass


_compiled = {}


def compile_module(blockc, spec, out, target, precision):
    """The manifest and each kernel's assembly; compiled once per spec, target, precision."""
    key = (spec, target, precision)
    if key not in _compiled:
        _compiled[key] = _compile(blockc, spec, out, target, precision)
    return _compiled[key]


def _compile(blockc, spec, out, target, precision):
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


def check_dot_product(blockc, spec, workdir, precision, target):
    instruction, flag, stored = DOT_PRODUCTS[(precision, target)]
    manifest, asm = compile_module(blockc, spec, workdir / precision, target, precision)
    if manifest.get("precision") != precision:
        raise Failure(f"manifest precision {manifest.get('precision')!r}, expected {precision!r}")
    if flag not in manifest["cpu_features"]:
        raise Failure(f"cpu_features {manifest['cpu_features']} lack {flag}")
    matmuls = [k["name"] for k in manifest["run"] if "matmul" in k["name"]]
    if not matmuls or any(not n.endswith("_" + precision) for n in matmuls):
        raise Failure(f"matmul kernels {matmuls}: expected all of them {precision}")
    dtypes = {c.get("dtype", "F32") for c in manifest["constants"]}
    if stored not in dtypes:
        raise Failure(f"no {stored} constant (dtypes {sorted(dtypes)})")
    for name, text in asm.items():
        if text is None:
            raise Failure(f"no assembly for {name}")
    found = {n: count(instruction, asm[n]) for n in matmuls}
    if min(found.values()) == 0:
        raise Failure(f"no {instruction} in {[n for n, c in found.items() if c == 0]}")
    attentions = check_attention(manifest, asm, target, "bf16")
    fp32_manifest, fp32 = compile_module(blockc, spec, workdir / "fp32", target, "fp32")
    if any(count(instruction, t) for n, t in fp32.items() if "matmul" in n):
        raise Failure(f"the fp32 module's matmuls have {instruction}")
    check_attention(fp32_manifest, fp32, target, None)
    return (f"{len(matmuls)} {precision} matmuls, {instruction.strip(chr(92) + 'b')} "
            f"{min(found.values())}-{max(found.values())} each; {attentions}")


def check_attention(manifest, asm, target, precision):
    """Attention kernels named for `precision` (None: float32), with vdpbf16ps where bf16 on
    a target that has it and nowhere else."""
    names = [k["name"] for k in manifest["run"] if "attention" in k["name"]]
    suffix = f"_{precision}" if precision else None
    if any((suffix and not n.endswith(suffix)) or (not suffix and n.endswith(("_bf16", "_int8")))
           for n in names):
        raise Failure(f"attention kernels {names}: expected {precision or 'float32'} names")
    dot = precision == "bf16" and target in AVX512_DOT
    found = {n: count(r"\bvdpbf16ps\b", asm[n]) for n in names}
    if any((c > 0) != dot for c in found.values()):
        raise Failure(f"vdpbf16ps in attention kernels {found}: expected "
                      f"{'some in each' if dot else 'none'}")
    return f"{len(names)} {precision or 'fp32'} attention kernels" + (
        f", vdpbf16ps {min(found.values())}-{max(found.values())} each" if dot and names else "")


def check_bf16_without_dot(blockc, spec, workdir):
    manifest, asm = compile_module(blockc, spec, workdir / "bf16", "x86-64-avx2", "bf16")
    if manifest.get("precision") != "bf16":
        raise Failure(f"manifest precision {manifest.get('precision')!r}, expected 'bf16'")
    if any(f.startswith("avx512") for f in manifest["cpu_features"]):
        raise Failure(f"an AVX2 module needs {manifest['cpu_features']}")
    if any(count(r"\bvdpbf16ps\b", t) for t in asm.values()):
        raise Failure("an AVX2 module has vdpbf16ps")
    return "bf16 matmuls without vdpbf16ps; " + check_attention(manifest, asm, "x86-64-avx2", "bf16")


def check_gpu_refused(blockc, spec, workdir, precision):
    """GPU modules are float32: a reduced precision for CUDA is a clear error, no module."""
    out = workdir / precision
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.run([blockc, "compile", spec, "-o", out, "--target", "cuda",
                        "--precision", precision], capture_output=True, text=True, timeout=900)
    expected = "bf16 and int8 modules are for CPU targets"
    if p.returncode == 0 or expected not in p.stderr:
        raise Failure(f"exit {p.returncode}, stderr {p.stderr.strip()[-300:]!r}: expected an "
                      f"error saying '{expected}'")
    if (out / "module.so").exists():
        raise Failure("a refused compile left a module.so")
    return "refused"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blockc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args()
    workdir = Path(args.workdir).resolve()
    passed = failed = 0
    for spec in args.specs:
        checks = [(f"{p} {t}", lambda d, p=p, t=t: check_dot_product(args.blockc, spec, d, p, t))
                  for p, t in DOT_PRODUCTS]
        checks.append(("bf16 x86-64-avx2", lambda d: check_bf16_without_dot(args.blockc, spec, d)))
        checks += [(f"{p} cuda", lambda d, p=p: check_gpu_refused(args.blockc, spec, d, p))
                   for p in REDUCED]
        for target, check in checks:
            d = workdir / Path(spec).stem / target.replace(" ", "-")
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
