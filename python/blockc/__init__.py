"""blockc from Python: compile a `.block` spec, load the module, bind weights, run it.

    import blockc
    path = blockc.compile("examples/models/vit_tiny_patch16_224.block")
    vit = blockc.load(path)
    vit.bind("vit_tiny.safetensors")          # or a state_dict(), or a dict of arrays
    logits = vit(pixel_values)                 # NumPy in, NumPy out; torch in, torch out

Inputs are NumPy arrays or PyTorch tensors (anything with ``__dlpack__``), passed to the
runtime without a copy when they already have the module's dtype and a C-contiguous layout
(converted otherwise). Outputs come back as the same kind of array: the array itself for a
module with one output, a dict by output name otherwise; ``Module.run(inputs, outputs)``
writes into the caller's own arrays. Runs release the GIL and may be made from several
threads at once. Every runtime failure raises a subclass of ``blockc.Error`` carrying the
runtime's message (which names the tensor, the file or the kernel).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from . import _blockc
from ._blockc import Module as _NativeModule

__all__ = [
    "compile", "load", "Module", "ModuleInfo", "TensorInfo", "KernelInfo", "WeightInfo",
    "Error", "CompileError", "InvalidArgumentError", "LoadError", "IncompatibleError",
    "WeightsError", "NotBoundError", "KernelError", "OutOfMemoryError",
]

PathLike = Union[str, "os.PathLike[str]"]


class Error(RuntimeError):
    """A blockc failure; the message is the runtime's (it names the tensor, file or kernel)."""


class InvalidArgumentError(Error):
    """A tensor of the wrong shape, dtype, layout or device; a bad name; a closed module."""


class LoadError(Error):
    """Not a loadable module: missing, cut short, changed, or a bad manifest."""


class IncompatibleError(Error):
    """A module for another ABI, architecture, CPU features or GPU."""


class WeightsError(Error):
    """Weights unreadable or not matching the module (every tensor at fault is named)."""


class NotBoundError(Error):
    """A run before weights were bound."""


class KernelError(Error):
    """A kernel failed (Halide's message)."""


class OutOfMemoryError(Error, MemoryError):
    """The runtime could not allocate memory."""


# In the order of blockc_status (runtime.h), blockc.Error for BLOCKC_OK's slot.
_blockc.register_errors([Error, InvalidArgumentError, LoadError, IncompatibleError, WeightsError,
                         NotBoundError, KernelError, OutOfMemoryError])

# The compiler this package was built with (the `blockc` command, installed beside it).
_COMPILER = Path(__file__).resolve().parent / "bin" / "blockc"


class CompileError(Error):
    """The spec did not compile: the message is the compiler's (file:line:col: error: ...)."""


def compile(spec: PathLike, target: str = "host", tuning: PathLike | None = None,
            out: PathLike | None = None, precision: str | None = None) -> str:
    """Compiles a `.block` spec into a module directory and returns its path.

    ``spec`` is the path of a `.block` file, or the spec's text itself (a string that is not
    an existing file's path); its diagnostics then name ``<spec>``. ``target``: ``host``,
    ``x86-64-avx2``, ``x86-64-zen4``, ``arm64``, ``cuda``... as ``blockc compile --target``.
    ``tuning``: a tuning database (``blockc-tune``). ``out``: the module directory
    (created), by default a new temporary directory that the caller owns. ``precision``:
    every linear's number format, ``fp32``, ``bf16`` (the weights rounded to bf16 when
    weights are bound, float32 accumulation) or ``int8`` (weights quantized per output
    channel when bound, inputs per group of <= 64 features of a token in the matmul, int32
    accumulation), as ``blockc compile --precision``; ``None``: as the spec's ``precision``
    settings say (float32 where they say nothing).
    """
    with tempfile.TemporaryDirectory(prefix="blockc-spec-") as scratch:
        text_file = None
        if isinstance(spec, str) and not os.path.isfile(spec):
            text_file = os.path.join(scratch, "spec.block")
            with open(text_file, "w", encoding="utf-8") as f:
                f.write(spec)
            spec_path = text_file
        else:
            spec_path = os.fspath(spec)
        out_dir = os.fspath(out) if out is not None else tempfile.mkdtemp(prefix="blockc-module-")
        cmd = [str(_COMPILER), "compile", spec_path, "-o", out_dir, "--target", target]
        if precision is not None:
            cmd += ["--precision", precision]
        if tuning is not None:
            cmd += ["--tuning", os.fspath(tuning)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip()
            if text_file is not None:
                message = message.replace(text_file, "<spec>")
            raise CompileError(message or f"blockc compile exited with {done.returncode}")
    return out_dir


def load(path: PathLike) -> "Module":
    """Loads a compiled module (its directory or its module.so)."""
    return Module(path)


@dataclass(frozen=True)
class TensorInfo:
    """An input or output: shape entries "B" (the batch of a run) and "S" (the sequence length
    of a module whose tokens are chosen per run) stand for run-time extents."""
    name: str
    shape: tuple
    dtype: str
    bound: int       # an integer input's values lie in [0, bound); 0 for float32
    optional: bool   # an input a run may omit (it then reads zeros)


@dataclass(frozen=True)
class WeightInfo:
    name: str
    dtype: str       # as safetensors names it: "F32", "I64"
    used: bool       # False: inference never reads it (checked if given, may be absent)


@dataclass(frozen=True)
class KernelInfo:
    name: str
    kind: str
    ops: str
    flops_per_sample: float


@dataclass(frozen=True)
class ModuleInfo:
    name: str
    path: str
    target: str
    arch: str
    device: str      # "cpu" or "cuda"
    inputs: tuple
    outputs: tuple
    weights: tuple
    kernels: tuple
    flops_per_sample: float
    max_tokens: int  # 0 unless the module's sequence length is chosen per run
    flops_per_token: float       # with run-time tokens, a sample of S tokens costs
    flops_per_token_pair: float  # flops_per_sample + S * per_token + S * S * per_pair
    manifest: str    # the module's manifest.json
    precision: str   # the linears' number format: "fp32", "bf16", "int8" or "mixed"

    def flops(self, batch: int, tokens: int | None = None) -> float:
        """2 x the multiply-adds of a run of `batch` samples (and `tokens` per sample)."""
        s = tokens if tokens is not None else self.max_tokens
        return batch * (self.flops_per_sample + s * self.flops_per_token
                        + s * s * self.flops_per_token_pair)


def _tensor_info(d: dict) -> TensorInfo:
    shape = tuple("B" if e == -1 else "S" if e == -2 else int(e) for e in d["shape"])
    return TensorInfo(d["name"], shape, d["dtype"], int(d["bound"]), bool(d["optional"]))


def _module_info(d: dict) -> ModuleInfo:
    return ModuleInfo(
        name=d["name"], path=d["path"], target=d["target"], arch=d["arch"], device=d["device"],
        inputs=tuple(_tensor_info(t) for t in d["inputs"]),
        outputs=tuple(_tensor_info(t) for t in d["outputs"]),
        weights=tuple(WeightInfo(w["name"], w["dtype"], w["used"]) for w in d["weights"]),
        kernels=tuple(KernelInfo(k["name"], k["kind"], k["ops"], k["flops_per_sample"])
                      for k in d["kernels"]),
        flops_per_sample=d["flops_per_sample"], max_tokens=int(d["max_tokens"]),
        flops_per_token=d["flops_per_token"], flops_per_token_pair=d["flops_per_token_pair"],
        manifest=d["manifest"], precision=json.loads(d["manifest"]).get("precision", "fp32"))


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "data_ptr")


def _as_array(x: Any, dtype: np.dtype) -> Any:
    """`x` as a C-contiguous array of `dtype`, without a copy where it is one already. Only
    floats become floats and integers integers: anything else is passed on as it is, for the
    runtime to refuse with the tensor's name."""
    if type(x) is np.ndarray and x.dtype == dtype and x.flags.c_contiguous:
        return x  # the common case, first
    if _is_torch(x):
        import torch
        x = x.detach()
        want = getattr(torch, dtype.name)
        integer = not x.dtype.is_floating_point and not x.dtype.is_complex and x.dtype != torch.bool
        if x.dtype != want and (x.dtype.is_floating_point if dtype.kind == "f" else integer):
            x = x.to(want)
        return x.contiguous()
    if not hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if isinstance(x, np.ndarray):
        same_kind = x.dtype.kind in ("f" if dtype.kind == "f" else "iu")
        return np.asarray(x, dtype=dtype if same_kind else None, order="C")
    return x


class Module:
    """A loaded module. ``module(x)`` or ``module(**inputs)`` runs it (see the package's doc)."""

    def __init__(self, path: PathLike):
        self._native = _NativeModule(os.fspath(path))
        self._threads = 0
        self.info: ModuleInfo = _module_info(self._native.info())
        # What every call needs, worked out once: input names and dtypes, where a run's
        # sequence length is read (input index, dimension), and each output's shape with
        # -1 for the batch and -2 for the sequence length.
        self._input_names = tuple(t.name for t in self.info.inputs)
        self._input_dtypes = {t.name: np.dtype(t.dtype) for t in self.info.inputs}
        self._input_ranks = {t.name: len(t.shape) for t in self.info.inputs}
        self._tokens_at = next(((t.name, t.shape.index("S")) for t in self.info.inputs
                                if "S" in t.shape), None)
        self._output_shapes = tuple(
            (t.name, tuple(-2 if e == "S" else e for e in t.shape[1:])) for t in self.info.outputs)

    # -- weights ------------------------------------------------------------------------
    def bind(self, weights: PathLike | Mapping[str, Any]) -> "Module":
        """Binds weights: a `.safetensors` path, a ``state_dict()`` or a dict of arrays (held by
        reference, not copied, where already float32 and C-contiguous; the runtime keeps them
        until the next bind). Returns the module."""
        if isinstance(weights, Mapping):
            declared = {w.name: w for w in self.info.weights}
            arrays = []
            for name, value in weights.items():
                w = declared.get(name)
                want = np.dtype(np.int64 if w is not None and w.dtype == "I64" else np.float32)
                arrays.append((str(name), _as_array(value, want)))
            self._native.bind_arrays(arrays, arrays)
        else:
            self._native.bind_file(os.fspath(weights))
        return self

    @property
    def bound(self) -> bool:
        """Whether weights are bound."""
        return self._native.weights_bound

    # -- runs ---------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Runs on positional inputs (in the module's order) and/or named ones; returns the
        output array for a one-output module, else a dict by output name."""
        inputs = self._named_inputs(args, kwargs)
        outputs = self._new_outputs(inputs)
        self._native.run(inputs, outputs)
        return outputs[0][1] if len(outputs) == 1 else dict(outputs)

    def run(self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        """Runs on named inputs into the caller's output arrays (float32, C-contiguous, of the
        run's shapes), which are written in place."""
        self._native.run(self._named_inputs((), inputs), list(outputs.items()))

    def profile(self, *args: Any, repeat: int = 10, **kwargs: Any) -> list:
        """Times each kernel over `repeat` runs: [(kernel, ops, median seconds)], in run order."""
        inputs = self._named_inputs(args, kwargs)
        outputs = self._new_outputs(inputs)
        runs = [self._native.run_profiled(inputs, outputs) for _ in range(max(1, repeat))]
        medians = np.median(np.array(runs), axis=0)
        return [(k.name, k.ops, float(s)) for k, s in zip(self.info.kernels, medians)]

    @property
    def threads(self) -> int:
        """The threads of the module's kernels as last set here (0: Halide's default,
        HL_NUM_THREADS or the number of cores). The setting belongs to the module.so file
        (modules loaded from one file share it) and must not change while a run of it is in
        flight."""
        return self._threads

    @threads.setter
    def threads(self, count: int) -> None:
        if count < 0:
            raise ValueError("threads must be >= 0")
        self._native.set_threads(count)
        self._threads = count

    def close(self) -> None:
        """Frees the module now (later calls raise InvalidArgumentError)."""
        self._native.close()

    def __repr__(self) -> str:
        ins = ", ".join(f"{t.name}: {t.dtype}{list(t.shape)}" for t in self.info.inputs)
        outs = ", ".join(f"{t.name}: {t.dtype}{list(t.shape)}" for t in self.info.outputs)
        return f"<blockc.Module {self.info.name} ({ins}) -> ({outs}) {self.info.target}>"

    # -- helpers ------------------------------------------------------------------------
    def _named_inputs(self, args: tuple, kwargs: Mapping[str, Any]) -> list:
        """[(name, array)]: positional inputs in the module's order, then named ones, each as
        _as_array makes it; unknown names are passed on for the runtime to name."""
        names = self._input_names
        if len(args) > len(names):
            raise InvalidArgumentError(
                f"{self.info.name}: {len(args)} positional inputs given, the module has "
                f"{len(names)} ({', '.join(names)})")
        dtypes = self._input_dtypes
        named = [(n, _as_array(a, dtypes[n])) for n, a in zip(names, args)]
        for name, value in kwargs.items():
            if name in names[:len(args)]:
                raise InvalidArgumentError(f"{self.info.name}: input '{name}' given twice")
            named.append((name, _as_array(value, dtypes[name]) if name in dtypes else value))
        return named

    def _new_outputs(self, inputs: list) -> list:
        """[(name, empty output)] of the run's batch and sequence length, of the inputs' kind
        (torch tensors on the first input's device, else NumPy arrays). The batch is the first
        input's; missing or malformed inputs are left for the runtime to name."""
        batch = tokens = 1
        if inputs:
            name, first = inputs[0]
            shape = getattr(first, "shape", ())
            if len(shape) == self._input_ranks.get(name, -1):
                batch = int(shape[0])
        if self._tokens_at is not None:
            name, dim = self._tokens_at
            shape = getattr(dict(inputs).get(name), "shape", ())
            if len(shape) > dim:
                tokens = int(shape[dim])
        if inputs and type(inputs[0][1]) is not np.ndarray and _is_torch(inputs[0][1]):
            import torch
            device = inputs[0][1].device
            empty = lambda shape: torch.empty(shape, dtype=torch.float32,  # noqa: E731
                                              device=device)
        else:
            empty = lambda shape: np.empty(shape, np.float32)  # noqa: E731
        if self._tokens_at is None:
            return [(n, empty((batch,) + rest)) for n, rest in self._output_shapes]
        return [(n, empty((batch,) + tuple(tokens if e == -2 else e for e in rest)))
                for n, rest in self._output_shapes]
