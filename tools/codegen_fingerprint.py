#!/usr/bin/env python3
"""Fingerprints of the code blockc generates, to show that a refactoring changed none of it.

Compiles every example (examples/*.block) and every end-to-end spec (tests/e2e/cases.py)
for each target with `blockc compile --emit-stmt`, and writes one line per generated file:
the spec, the target, the file and the SHA-256 of its text (kernels' assembly `*.s` and, on
CUDA, their PTX; the manifest as canonical JSON). Run it before and after a change and
compare:

    codegen_fingerprint.py --blockc build/tools/blockc/blockc -o before.txt
    ... change the compiler, rebuild ...
    codegen_fingerprint.py --blockc build/tools/blockc/blockc --compare before.txt

--compare exits 1 and lists every line that differs, appeared or disappeared.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import cases  # noqa: E402

DEFAULT_TARGETS = ("x86-64-avx512", "x86-64-avx2", "arm64", "cuda")


def specs():
    """(name, spec text) of every example and every e2e spec, each once."""
    found = {p.stem: p.read_text() for p in sorted((ROOT / "examples").glob("*.block"))}
    for case in cases.ALL + cases.VARIANTS:
        if case.example is None and case.name not in found:
            found[case.name] = case.spec_text()
    return sorted(found.items())


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(blockc, name, text, target, scratch):
    """Lines '<spec> <target> <file> <sha256>' for one compile; a failed compile is a line too."""
    work = Path(scratch) / f"{name}-{target}"
    work.mkdir(parents=True)
    spec = work / f"{name}.block"
    spec.write_text(text)
    out = work / "module"
    p = subprocess.run([blockc, "compile", str(spec), "-o", str(out), "--target", target,
                        "--emit-stmt"], capture_output=True, text=True)
    if p.returncode != 0:
        return [f"{name} {target} compile-error {digest(p.stderr)}"]
    manifest = json.loads((out / "manifest.json").read_text())
    lines = [f"{name} {target} manifest.json {digest(json.dumps(manifest, sort_keys=True))}"]
    for f in sorted((out / "kernels").iterdir()):
        if f.suffix in (".s", ".ptx"):
            lines.append(f"{name} {target} {f.name} {digest(f.read_text())}")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blockc", required=True, help="path of the blockc executable")
    ap.add_argument("--targets", nargs="+", default=list(DEFAULT_TARGETS))
    ap.add_argument("--filter", default="", help="only specs whose name contains this")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    out = ap.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", help="write the fingerprints here")
    out.add_argument("--compare", help="compare with fingerprints written before")
    args = ap.parse_args()

    jobs = [(name, text, target) for name, text in specs() if args.filter in name
            for target in args.targets]
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(args.jobs) as pool:
        results = pool.map(lambda j: fingerprint(args.blockc, *j, scratch), jobs)
        lines = sorted(line for result in results for line in result)

    if args.output:
        Path(args.output).write_text("\n".join(lines) + "\n")
        print(f"{len(lines)} fingerprints of {len(jobs)} compiles written to {args.output}")
        return 0
    before = Path(args.compare).read_text().splitlines()
    if args.filter or args.targets != list(DEFAULT_TARGETS):
        keys = {tuple(line.split()[:2]) for line in lines}
        before = [line for line in before if tuple(line.split()[:2]) in keys]
    removed, added = sorted(set(before) - set(lines)), sorted(set(lines) - set(before))
    for line in removed:
        print("- " + line)
    for line in added:
        print("+ " + line)
    print(f"{len(lines)} fingerprints of {len(jobs)} compiles: "
          f"{'unchanged' if not removed and not added else f'{len(removed)} removed, {len(added)} added'}")
    return 1 if removed or added else 0


if __name__ == "__main__":
    sys.exit(main())
