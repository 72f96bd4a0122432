"""The `blockc` Python package (pip-installed), against the NumPy reference of tests/e2e.

compile / load / bind (file, NumPy dict, torch state_dict) / call from NumPy and torch,
run-time sequence length, zero-copy outputs, errors by status, threads and the GIL.
"""

import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import blockc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import cases  # noqa: E402
import reference  # noqa: E402

TOKENS, DIM, HEADS, HIDDEN = 11, 40, 4, 72  # sizes no example uses
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def rel_err(out, ref):
    return float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    """A pre-norm block with BatchNorm between the FFN linears (its num_batches_tracked is an
    int64 tensor inference never reads), compiled from its text; its weights and a reference."""
    spec = cases.encoder_spec("py_bn_ffn", TOKENS, DIM, reference.pre_norm, HEADS, HIDDEN,
                              mlp_norm="batchnorm")
    path = blockc.compile(spec, out=tmp_path_factory.mktemp("block"))
    weights = reference.Weights(seed=3)
    x = np.random.default_rng(4).standard_normal((3, TOKENS, DIM)).astype(np.float32)
    ref = reference.bn_between_ffn_linears_block(x.astype(np.float64), weights, heads=HEADS,
                                                 hidden=HIDDEN)
    state = {k: np.asarray(v) for k, v in weights.items()}
    file = tmp_path_factory.mktemp("weights") / "w.safetensors"
    safetensors.numpy.save_file(state, str(file))
    return path, state, file, x, ref


def test_compile_load_bind_file_and_call(block):
    path, _, file, x, ref = block
    m = blockc.load(path)
    assert not m.bound
    assert m.bind(file) is m and m.bound
    info = m.info
    assert [t.name for t in info.inputs] == ["x"] and info.inputs[0].shape == ("B", TOKENS, DIM)
    assert info.device == "cpu" and info.kernels and info.flops(3) == 3 * info.flops_per_sample
    assert {w.name for w in info.weights if not w.used} == {"mlp.norm.num_batches_tracked"}
    y = m(x)
    assert isinstance(y, np.ndarray) and y.shape == x.shape and y.dtype == np.float32
    assert rel_err(y, ref) <= 1e-4
    # Positional and named calls, and a batch of one, agree.
    assert np.array_equal(m(x=x), y)
    assert rel_err(m(x[1:2]), ref[1:2]) <= 1e-4


def test_precision_in_the_spec_and_its_override(block, tmp_path):
    """`precision = ...` in the block's header and on layers: each linear and the attention
    core in its format (the kernels' names say which), the module "mixed" and close to the float32
    reference; `precision="fp32"` (`--precision fp32`) overrides the spec everywhere."""
    _, _, file, x, ref = block
    spec = cases.encoder_spec("py_mixed", TOKENS, DIM, reference.pre_norm, HEADS, HIDDEN,
                              mlp_norm="batchnorm")
    spec = (spec.replace(f"dim = {DIM})", f"dim = {DIM}, precision = int8)")
                .replace(f"heads = {HEADS})", f"heads = {HEADS}, precision = bf16)")
                .replace(f"linear({HIDDEN} -> {DIM})", f"linear({HIDDEN} -> {DIM}, precision = fp32)"))
    mixed = blockc.load(blockc.compile(spec, out=tmp_path / "mixed")).bind(file)
    assert mixed.info.precision == "mixed"
    formats = sorted(k.name.split("_", 2)[2] if k.name.count("_") == 2 else "fp32"
                     for k in mixed.info.kernels if k.kind == "matmul")
    assert formats == ["bf16", "bf16", "fp32", "int8"]  # qkv, proj; fc2; fc1
    cores = [k.name for k in mixed.info.kernels if k.kind == "attention"]
    assert cores and all(n.endswith("_bf16") for n in cores), cores  # the attention layer's
    err = rel_err(mixed(x), ref)
    assert 1e-6 < err <= 5e-2, err
    plain = blockc.load(blockc.compile(spec, out=tmp_path / "fp32", precision="fp32")).bind(file)
    assert plain.info.precision == "fp32"
    assert not any(k.name.endswith(("_bf16", "_int8")) for k in plain.info.kernels)
    assert rel_err(plain(x), ref) <= 1e-4


def test_bind_numpy_dict_by_reference(block):
    path, state, _, x, ref = block
    m = blockc.load(path).bind(dict(state))
    assert rel_err(m(x), ref) <= 1e-4
    # Float64 and non-contiguous tensors are converted (copied), not refused.
    converted = {k: (np.asfortranarray(v.astype(np.float64)) if v.dtype == np.float32 else v)
                 for k, v in state.items()}
    assert rel_err(blockc.load(path).bind(converted)(x), ref) <= 1e-4
    # Counters inference never reads may be absent.
    dropped = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    assert rel_err(blockc.load(path).bind(dropped)(x), ref) <= 1e-4


def test_torch_in_torch_out(block):
    torch = pytest.importorskip("torch")
    path, state, _, x, ref = block
    m = blockc.load(path).bind({k: torch.from_numpy(v) for k, v in state.items()})
    y = m(torch.from_numpy(x))
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32 and tuple(y.shape) == x.shape
    assert rel_err(y.numpy(), ref) <= 1e-4
    # A parameter that requires grad is read without autograd.
    p = torch.nn.Parameter(torch.from_numpy(x))
    assert rel_err(m(p).numpy(), ref) <= 1e-4


def test_zero_copy_in_and_out(block):
    path, _, file, x, ref = block
    m = blockc.load(path).bind(file)
    out = np.full(x.shape, np.nan, dtype=np.float32)
    pointer = out.ctypes.data
    m.run({"x": x}, {"y": out})
    assert out.ctypes.data == pointer and rel_err(out, ref) <= 1e-4


def test_bound_arrays_are_held_by_the_module(block):
    path, state, _, x, ref = block
    m = blockc.load(path)
    m.bind({k: v.copy() for k, v in state.items()})  # the only references are the module's
    import gc
    gc.collect()
    assert rel_err(m(x), ref) <= 1e-4
    m.bind(dict(state))  # the first arrays are released here
    assert rel_err(m(x), ref) <= 1e-4


def test_errors_name_what_is_wrong(block, tmp_path):
    path, state, file, x, _ = block
    m = blockc.load(path)
    with pytest.raises(blockc.NotBoundError):
        m(x)
    m.bind(file)
    with pytest.raises(blockc.InvalidArgumentError, match="'x'.*shape|shape.*'x'"):
        m(x[:, :, :DIM - 1])
    with pytest.raises(blockc.InvalidArgumentError, match="'x'"):
        m(x.astype(np.int32))  # integers are not converted into floats
    with pytest.raises(blockc.InvalidArgumentError):
        m(x, x)
    bad = dict(state)
    bad["mlp.fc1.weight"] = bad["mlp.fc1.weight"][:, :-1]
    with pytest.raises(blockc.WeightsError, match="mlp.fc1.weight"):
        m.bind(bad)
    assert m.bound  # a failed bind keeps the weights it had
    with pytest.raises(blockc.WeightsError, match="unexpected tensor 'extra'"):
        m.bind({**state, "extra": np.zeros(3, np.float32)})
    with pytest.raises(blockc.WeightsError, match="missing.safetensors"):
        m.bind(tmp_path / "missing.safetensors")
    with pytest.raises(blockc.LoadError):
        blockc.load(tmp_path)
    with pytest.raises(blockc.CompileError, match=r"<spec>:3:\d+: error"):
        blockc.compile("block b (tokens = 4, dim = 8) {\n  n = layernorm()\n  x = n(y)\n}\n")
    assert issubclass(blockc.CompileError, blockc.Error)
    with pytest.raises(blockc.CompileError, match=r"unknown precision 'int4' \(expected fp32, bf16 or int8\)"):
        blockc.compile(EXAMPLES / "vit_ti16.block", precision="int4")
    assert issubclass(blockc.KernelError, blockc.Error) and issubclass(blockc.Error, RuntimeError)
    m.close()
    with pytest.raises(blockc.InvalidArgumentError, match="closed"):
        m(x)


def test_run_time_tokens_and_profile(tmp_path):
    spec = cases.bert_spec("py_bert", 0, DIM, HEADS, HIDDEN, max_tokens=24)
    m = blockc.load(blockc.compile(spec, out=tmp_path / "bert"))
    assert m.info.max_tokens == 24 and m.info.inputs[0].shape == ("B", "S", DIM)
    weights = reference.Weights(seed=5)
    reference.bert_block(np.zeros((1, 2, DIM)), weights, heads=HEADS, hidden=HIDDEN)
    m.bind({k: np.asarray(v) for k, v in weights.items()})
    for s in (1, 9, 24):
        x = np.random.default_rng(s).standard_normal((2, s, DIM)).astype(np.float32)
        ref = reference.bert_block(x.astype(np.float64), weights, heads=HEADS, hidden=HIDDEN)
        y = m(x)
        assert y.shape == (2, s, DIM) and rel_err(y, ref) <= 1e-4
    with pytest.raises(blockc.InvalidArgumentError, match="24"):
        m(np.zeros((1, 25, DIM), np.float32))
    times = m.profile(x, repeat=3)
    assert [name for name, _, _ in times] == [k.name for k in m.info.kernels]
    assert all(s > 0 for _, _, s in times)


def test_threads_share_a_module(block):
    path, _, file, x, ref = block
    m = blockc.load(path).bind(file)
    m.threads = 1
    assert m.threads == 1
    expected = m(x)
    results, failures = [], []

    def work(seed):
        try:
            for i in range(20):
                b = 1 + (seed + i) % 3
                results.append(np.array_equal(m(x[:b]), expected[:b]))
        except Exception as e:  # noqa: BLE001 (reported below)
            failures.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and len(results) == 80 and all(results)


def test_threads_take_effect(block):
    """Setting the threads restarts the kernels' pool: with 1, a run starts no worker."""
    path, _, file, x, ref = block
    m = blockc.load(path).bind(file)

    def tasks():
        return len(os.listdir("/proc/self/task"))

    m.threads = 2
    m(x)
    with_two = tasks()
    m.threads = 1
    assert rel_err(m(x), ref) <= 1e-4
    assert m.threads == 1 and tasks() == with_two - 1
    m.threads = 2
    m(x)
    assert tasks() == with_two


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_threads_do_not_change_the_result(block, tmp_path, precision):
    """The matmuls split their rows among the pool's threads at run time (row blocks as the
    parallel tasks from 16 register tiles of rows per thread, fewer rows as column panels),
    and the attention its (sample, head) pairs, or their queries where the pairs do not
    divide among the threads (2 samples x 4 heads on 3 threads): every thread count gives
    the same bits, in every order."""
    _, _, file, _, _ = block
    spec = cases.encoder_spec("py_threads", TOKENS, DIM, reference.pre_norm, HEADS, HIDDEN,
                              mlp_norm="batchnorm")
    m = blockc.load(blockc.compile(spec, out=tmp_path, precision=precision)).bind(file)
    x = np.random.default_rng(5).standard_normal((50, TOKENS, DIM)).astype(np.float32)
    ref = reference.bn_between_ffn_linears_block(x.astype(np.float64), reference.Weights(seed=3),
                                                 heads=HEADS, hidden=HIDDEN)
    outs, small = {}, {}  # 550 rows: blocks as the tasks; 22 rows: panels in parallel
    for threads in (1, 2, 3):
        m.threads = threads
        outs[threads], small[threads] = m(x), m(x[:2])
    m.threads = 0
    assert all(np.array_equal(outs[1], y) for y in outs.values())
    assert all(np.array_equal(small[1], y) for y in small.values())
    bound = 1e-4 if precision == "fp32" else 5e-2
    assert rel_err(outs[1], ref) <= bound and rel_err(small[1], ref[:2]) <= bound


def test_runs_release_the_gil(block):
    path, _, file, x, _ = block
    m = blockc.load(path).bind(file)
    m.threads = 1  # the other core is the counter's
    big = np.repeat(x, 32, axis=0)
    while True:  # a run of at least 50 ms
        start = time.perf_counter()
        m(big)
        if time.perf_counter() - start >= 0.05:
            break
        big = np.concatenate([big, big])
    ticks, stop = [0], threading.Event()

    def count():
        while not stop.is_set():
            ticks[0] += 1

    def rate(wait):
        t0, n0 = time.perf_counter(), ticks[0]
        wait()
        return (ticks[0] - n0) / (time.perf_counter() - t0)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        idle = rate(lambda: time.sleep(0.1))
        running = max(rate(lambda: m(big)) for _ in range(3))
    finally:
        stop.set()
        counter.join()
    # Holding the GIL, a run would stop the counter for all of it but the switch intervals
    # (5 ms) around it: well under a third of its idle rate.
    assert running > idle / 3, (running, idle)
