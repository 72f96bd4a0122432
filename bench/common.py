"""What the benchmarks (bench/run.py, models.py, bert.py, precision.py) share: blockc through
its C API (ctypes), the interleaved timing, the load from other processes, the machine's
peaks, ONNX Runtime's session. Imports neither torch nor onnxruntime at load and sets no
environment variable: each script sets its threading environment before it imports those.

BLOCKC_BUILD=DIR takes blockc and libblockc_runtime.so from DIR instead of the repository's
build/ (e.g. another worktree's build).
"""
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


THREADS_DEFAULT = 2


def early_threads():
    """--threads, read before torch is imported (OpenMP reads its environment at load)."""
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return str(THREADS_DEFAULT)

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("BLOCKC_BUILD", ROOT / "build"))
BLOCKC = BUILD / "tools/blockc/blockc"
RUNTIME = BUILD / "runtime/libblockc_runtime.so"
TOLERANCE = 1e-4
QUIET = 10.0  # % of all cores used by other processes under which a machine counts as quiet


# ---------------------------------------------------------------------------------------
# blockc through its C API (runtime/include/blockc/runtime.h)
# ---------------------------------------------------------------------------------------
class ModuleInfo(ctypes.Structure):
    """blockc_module_info, field for field."""
    _fields_ = [(n, ctypes.c_char_p) for n in ("path", "block", "target", "arch", "spec_hash", "manifest_json")] + \
               [(n, ctypes.c_int64) for n in ("tokens", "dim", "output_tokens", "output_dim")] + \
               [(n, ctypes.c_int32) for n in ("num_inputs", "num_outputs")] + \
               [("flops_per_sample", ctypes.c_double), ("num_weights", ctypes.c_int32), ("weights_bound", ctypes.c_int32),
                ("device", ctypes.c_char_p), ("max_tokens", ctypes.c_int64), ("flops_per_token", ctypes.c_double),
                ("flops_per_token_pair", ctypes.c_double)]

    def flops(self, tokens=1):
        """Flops of one sample at `tokens` (a module with run-time tokens; else per sample)."""
        return self.flops_per_sample + tokens * self.flops_per_token + tokens * tokens * self.flops_per_token_pair


class DLDevice(ctypes.Structure):  # dlpack.h (v0.6+)
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32), ("dtype", DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class NamedTensor(ctypes.Structure):
    """blockc_named_tensor."""
    _fields_ = [("name", ctypes.c_char_p), ("tensor", DLTensor)]


class TensorInfo(ctypes.Structure):
    """blockc_tensor_info."""
    _fields_ = [("name", ctypes.c_char_p), ("rank", ctypes.c_int32), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("dtype", DLDataType), ("bound", ctypes.c_int64), ("optional", ctypes.c_int32)]


KDL_CPU, KDL_INT, KDL_FLOAT = 1, 0, 2


class Blockc:
    lib = None

    def __init__(self, module_dir, weights, threads):
        if Blockc.lib is None:
            lib = ctypes.CDLL(str(RUNTIME))
            lib.blockc_last_error.restype = ctypes.c_char_p
            lib.blockc_module_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
            lib.blockc_module_run_named.argtypes = [ctypes.c_void_p, ctypes.POINTER(NamedTensor), ctypes.c_size_t,
                                                    ctypes.POINTER(NamedTensor), ctypes.c_size_t]
            lib.blockc_module_get_tensor_info.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int32,
                                                          ctypes.POINTER(TensorInfo)]
            Blockc.lib = lib
        self.handle = ctypes.c_void_p()
        self._check(self.lib.blockc_module_load(str(module_dir).encode(), ctypes.byref(self.handle)))
        self._check(self.lib.blockc_module_bind_weights(self.handle, str(weights).encode()))
        self._check(self.lib.blockc_module_set_num_threads(self.handle, threads, None))
        self.info = ModuleInfo()
        self._check(self.lib.blockc_module_get_info(self.handle, ctypes.byref(self.info)))

    def _check(self, status):
        if status != 0:
            raise RuntimeError(f"blockc: {self.lib.blockc_last_error().decode()}")

    def tensors(self, kind):
        """[(name, shape with -1 for the batch, -2 for run-time tokens)] of the inputs (kind 0)
        or outputs (kind 1)."""
        count = self.info.num_inputs if kind == 0 else self.info.num_outputs
        out = []
        for i in range(count):
            t = TensorInfo()
            self._check(self.lib.blockc_module_get_tensor_info(self.handle, kind, i, ctypes.byref(t)))
            out.append((t.name.decode(), tuple(t.shape[d] for d in range(t.rank))))
        return out

    def runner(self, x):
        """A no-argument callable that runs a block module (one input, one output) on x into a
        preallocated output."""
        y = np.empty((x.shape[0], self.info.output_tokens, self.info.output_dim), np.float32)
        run, args = self.lib.blockc_module_run, (self.handle, x.ctypes.data, x.shape[0], y.ctypes.data)

        def call():
            status = run(*args)
            if status != 0:
                self._check(status)
            return y
        return call

    def named_runner(self, inputs):
        """A no-argument callable that runs the module (blockc_module_run_named) on
        inputs = {name: C-contiguous float32 (or int64, int32: token ids, masks) array} into
        preallocated outputs and returns {name: array}; every output of the module is
        produced, at the inputs' sequence length where the module's tokens are chosen per run."""
        first = next(iter(inputs.values()))
        tokens = first.shape[1] if self.info.max_tokens and first.ndim > 1 else 1
        outputs = {name: np.empty((first.shape[0],) + tuple(tokens if d == -2 else d for d in shape[1:]), np.float32)
                   for name, shape in self.tensors(1)}
        keep = []  # the shape arrays the descriptors point to

        def describe(items):
            arr = (NamedTensor * len(items))()
            for i, (name, a) in enumerate(items):
                assert a.dtype in (np.float32, np.int64, np.int32) and a.flags.c_contiguous, name
                shape = (ctypes.c_int64 * a.ndim)(*a.shape)
                keep.append((name.encode(), shape))
                arr[i].name = keep[-1][0]
                code = KDL_FLOAT if a.dtype == np.float32 else KDL_INT
                arr[i].tensor = DLTensor(a.ctypes.data, DLDevice(KDL_CPU, 0), a.ndim,
                                         DLDataType(code, a.dtype.itemsize * 8, 1),
                                         ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64)), None, 0)
            return arr

        ins, outs = describe(list(inputs.items())), describe(list(outputs.items()))
        run, args = self.lib.blockc_module_run_named, (self.handle, ins, len(inputs), outs, len(outputs))
        hold = (inputs, keep)

        def call():
            status = run(*args)
            if status != 0:
                self._check(status)
            return outputs
        call.hold = hold
        return call

    def close(self):
        self.lib.blockc_module_free(self.handle)


def blockc_version():
    """blockc's --version and the commit of the repository whose build runs (BLOCKC_BUILD's
    source tree when that is set)."""
    src = ROOT
    try:
        cache = (BUILD / "CMakeCache.txt").read_text()
        src = Path(next(l.split("=", 1)[1] for l in cache.splitlines() if l.startswith("CMAKE_HOME_DIRECTORY")))
    except (OSError, StopIteration):
        pass
    try:
        git = subprocess.run(["git", "-C", str(src), "describe", "--always", "--dirty"], capture_output=True,
                             text=True).stdout.strip()
        blockc = subprocess.run([str(BLOCKC), "--version"], capture_output=True, text=True).stdout.strip()
    except OSError as e:
        return f"blockc ? ({e})"
    return f"{blockc or 'blockc ?'} (built from {src} at {git or '?'})"


# ---------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------
def cpu_sample():
    """(busy CPU seconds of the machine, CPU seconds of this process, wall seconds)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    t = os.times()
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK"), t.user + t.system, time.monotonic()


def other_cpu_percent(a, b):
    """Share of all cores that other processes used between two cpu_sample()s."""
    wall = b[2] - a[2]
    return max(0.0, 100.0 * ((b[0] - a[0]) - (b[1] - a[1])) / (wall * os.cpu_count())) if wall > 0 else 0.0


def wait_for_quiet(limit_s):
    """Waits up to limit_s until other processes use under QUIET % of the cores for 2 s."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        a = cpu_sample()
        time.sleep(2)
        if other_cpu_percent(a, cpu_sample()) < QUIET:
            return


def machine_load():
    with open("/proc/loadavg") as f:
        load = f.read().split()
    with open("/proc/stat") as f:
        running = next(int(l.split()[1]) for l in f if l.startswith("procs_running"))
    return f"loadavg {' '.join(load[:3])}, {running} running (this one included)"


# Each runner's turn starts with untimed calls for at least this long: PyTorch's OpenMP
# workers keep spinning after its calls and take the cores from the next runner's first
# calls (README.md, Performance, has the measurement).
TURN_WARMUP_S = 0.02
TURN_WARMUP_NOTE = f"each runner's turn after {TURN_WARMUP_S * 1e3:g} ms of untimed calls"


def time_interleaved(runners, warmup, repeat, rounds):
    """Times each runner `repeat` times in `rounds` rounds; in each round every runner gets
    untimed calls (for at least TURN_WARMUP_S) and then its share of timed calls, the order
    rotating between rounds. Returns {name: [seconds, ...]}."""
    names = list(runners)
    for f in runners.values():
        for _ in range(warmup):
            f()
    times = {n: [] for n in names}
    per_round = -(-repeat // rounds)
    for r in range(rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            f = runners[n]
            warm_until = time.perf_counter() + TURN_WARMUP_S
            f()
            while time.perf_counter() < warm_until:
                f()
            for _ in range(per_round):
                t0 = time.perf_counter()
                f()
                times[n].append(time.perf_counter() - t0)
    return times


def time_quietest(runners, peak, peak_seconds, args):
    """time_interleaved after waiting for quiet, retried (args.retries more times) while other
    processes used QUIET % of the cores or more; the quietest attempt's
    (times, other processes' CPU %, the peak measured just before it)."""
    other = None
    for _ in range(1 + args.retries):
        wait_for_quiet(args.quiet_wait)
        row_peak = peak.measure(seconds=peak_seconds, tries=2)
        before = cpu_sample()
        t = time_interleaved(runners, args.warmup, args.repeat, args.rounds)
        o = other_cpu_percent(before, cpu_sample())
        if other is None or o < other:
            times, other, best_peak = t, o, row_peak
        if other < QUIET:
            break
    return times, other, best_peak


def ort_session(path, threads):
    """An ONNX Runtime CPU session of the model at `path` on `threads` threads, all graph
    optimizations, sequential."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # ORT's workers spin inside a Run (its fast default) but, without this, keep spinning long after
    # it returns and slow whatever runs next (bench/run.py measured blockc 9 -> 12-40 ms right after ORT).
    opts.add_session_config_entry("session.force_spinning_stop", "1")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def summarize(seconds):
    """(median, p10, p90, min, max) in ms of a list of call times in seconds."""
    ms = sorted(1e3 * s for s in seconds)
    if len(ms) >= 2:
        q = statistics.quantiles(ms, n=10, method="inclusive")
        p10, p90 = q[0], q[-1]
    else:
        p10 = p90 = ms[0]
    return statistics.median(ms), p10, p90, ms[0], ms[-1]


def max_rel_err(y, ref):
    return float(np.max(np.abs(y - ref)) / np.max(np.abs(ref)))


def cpu_model():
    info = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        k, _, v = line.partition(":")
        info.setdefault(k.strip(), v.strip())
    g = lambda k: info.get(k, "?")  # noqa: E731
    return f"{g('model name')} (family {g('cpu family')}, model {g('model')}), {os.cpu_count()} cores"


# ---------------------------------------------------------------------------------------
# The peaks (bench/peak.c)
# ---------------------------------------------------------------------------------------
PEAK_FORMATS = {"fp32": 0, "bf16": 1, "int8": 2}


class Peak:
    """The machine's peak on `threads` threads for a number format (fp32 FMA, bf16 or int8
    dot products: bench/peak.c, compiled here with `cc -O2 -march=native`). measure()
    returns the best G operations/s of `tries` runs of about `seconds` each; None where no C
    compiler is found (.error says why) or the CPU has no instruction for the format."""

    def __init__(self, threads, fmt="fp32"):
        self.threads, self.lib, self.error, self.isa = threads, None, None, "?"
        self.format = PEAK_FORMATS[fmt]
        self._dir = tempfile.TemporaryDirectory(prefix="blockc-peak-")
        so = Path(self._dir.name) / "peak.so"
        cc = os.environ.get("CC", "cc")
        try:
            subprocess.run([cc, "-O2", "-march=native", "-pthread", "-shared", "-fPIC", str(ROOT / "bench/peak.c"),
                            "-o", str(so)], check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as e:
            self.error = f"could not build bench/peak.c with {cc}: {getattr(e, 'stderr', '') or e}"
            return
        self.lib = ctypes.CDLL(str(so))
        self.lib.peak_gops.restype = ctypes.c_double
        self.lib.peak_gops.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64]
        self._iters = 2_000_000
        # Calibrate the iteration count to about 0.1 s.
        t0 = time.perf_counter()
        if self.lib.peak_gops(self.format, self.threads, self._iters) < 0:
            self.error, self.lib = f"this CPU has no {fmt} multiply-add instruction peak.c knows", None
            return
        self._per_s = self._iters / max(time.perf_counter() - t0, 1e-6)
        lanes = self.lib.peak_lanes()
        vectors = {16: "AVX-512", 8: "AVX2/AVX"}.get(lanes, f"{lanes}-lane")
        self.isa = {0: f"{vectors} FMA", 1: "vdpbf16ps",
                    2: "vpdpbusd" if lanes == 16 else f"{vectors} vpmaddwd"}[self.format]

    def measure(self, seconds=0.5, tries=3):
        if self.lib is None:
            return None
        iters = max(1, int(self._per_s * seconds))
        return max(self.lib.peak_gops(self.format, self.threads, iters) for _ in range(tries))
