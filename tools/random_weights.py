#!/usr/bin/env python3
"""Writes random weights for a compiled module (every tensor its manifest lists, with the
PyTorch state-dict names and shapes) as safetensors, and optionally random inputs .npy.

  random_weights.py MODULE_DIR -o weights.safetensors [--input x.npy ... --batch B] [--seed S]

--input FILE writes the module's first input (of a module with several, that one only);
--input NAME=FILE writes the input NAME; repeat it for each input. Inputs are float32 of
the manifest's shape with B first.
"""
import argparse
import json
import os

import numpy as np
from safetensors.numpy import save_file


def random_tensor(rng, name, shape, dtype):
    if dtype == "I64":
        return np.zeros(shape, dtype=np.int64)
    if name.endswith("running_var"):
        return rng.uniform(0.5, 2.0, shape).astype(np.float32)  # a variance is positive
    if name.endswith(".weight") and len(shape) == 2:
        return (rng.standard_normal(shape) / np.sqrt(shape[1])).astype(np.float32)
    if name.endswith(".weight") or name.endswith(".gamma"):
        return (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
    return (0.1 * rng.standard_normal(shape)).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="directory written by blockc compile")
    parser.add_argument("-o", "--output", required=True, help="safetensors file to write")
    parser.add_argument("--input", action="append", default=[], metavar="[NAME=]FILE",
                        help="also write a random input here (NAME=FILE for input NAME, a bare "
                             "FILE for the first input); repeatable")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with open(os.path.join(args.module, "manifest.json")) as f:
        manifest = json.load(f)
    rng = np.random.default_rng(args.seed)
    tensors = {w["name"]: random_tensor(rng, w["name"], w["shape"], w["dtype"])
               for w in manifest["weights"]}
    save_file(tensors, args.output)
    inputs = {t["name"]: t["shape"] for t in manifest["inputs"]}
    for given in args.input:
        name, eq, path = given.partition("=")
        if not eq or not name.isidentifier():  # a bare FILE (a path may hold '=')
            name, path = manifest["inputs"][0]["name"], given
        if name not in inputs:
            parser.error(f"--input {given}: the module has no input '{name}' "
                         f"(its inputs: {', '.join(inputs)})")
        shape = (args.batch, *inputs[name][1:])
        np.save(path, rng.standard_normal(shape).astype(np.float32))


if __name__ == "__main__":
    main()
