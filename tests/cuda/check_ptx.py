#!/usr/bin/env python3
"""Compiles every example for CUDA and assembles each kernel's PTX with ptxas for every
given GPU architecture: the proof, without a GPU, that the CUDA modules are valid.

  check_ptx.py --blockc BLOCKC --ptxas PTXAS --workdir DIR [--arch sm_80 --arch sm_90]
"""
import argparse
import glob
import os
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blockc", required=True)
    parser.add_argument("--ptxas", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--examples", default=os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
    parser.add_argument("--arch", action="append", default=[])
    args = parser.parse_args()
    archs = args.arch or ["sm_80", "sm_90"]
    specs = sorted(glob.glob(os.path.join(args.examples, "*.block")) +
                   glob.glob(os.path.join(args.examples, "models", "*.block")))
    passed = failed = 0
    for spec in specs:
        name = os.path.splitext(os.path.basename(spec))[0]
        out = os.path.join(args.workdir, name)
        result = subprocess.run([args.blockc, "compile", spec, "-o", out, "--target", "cuda"],
                                capture_output=True, text=True)
        ptx_files = sorted(glob.glob(os.path.join(out, "kernels", "*.ptx")))
        if result.returncode != 0 or not ptx_files:
            print(f"FAIL {name}: compile exit {result.returncode}, {len(ptx_files)} PTX files\n"
                  f"{result.stdout}{result.stderr}")
            failed += 1
            continue
        errors = []
        for ptx in ptx_files:
            for arch in archs:
                run = subprocess.run([args.ptxas, f"-arch={arch}", ptx, "-o", os.devnull],
                                     capture_output=True, text=True)
                if run.returncode != 0:
                    errors.append(f"{os.path.basename(ptx)} {arch}: {run.stderr.strip()}")
        if errors:
            print(f"FAIL {name}: " + "; ".join(errors))
            failed += 1
        else:
            print(f"PASS {name}: {len(ptx_files)} kernels assemble for {', '.join(archs)}")
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
