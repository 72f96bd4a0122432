//===- Bindings.cpp - blockc._blockc: the runtime's C API for Python ---------===//
//
// A thin layer over blockc/runtime.h (nanobind): a module handle, its description as plain
// Python values, binds from a file or from arrays held by reference, and runs on named
// arrays (any DLPack producer: NumPy, PyTorch...). Every blocking call releases the GIL; every
// failure raises the blockc.Error subclass of its status with the runtime's message. The
// Python API (blockc/__init__.py) is written on top of this.
//
//===----------------------------------------------------------------------===//

#include "blockc/runtime.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <iterator>
#include <stdexcept>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace nb = nanobind;

namespace {

/// blockc.Error and its subclass for each blockc_status (index = status; 0 is the base),
/// defined in Python (blockc/__init__.py) and registered at import. Strong references that
/// are never dropped: a static object's destructor would run after the interpreter is gone.
PyObject *errorTypes[BLOCKC_ERROR_OUT_OF_MEMORY + 1];

void registerErrors(const std::vector<nb::object> &types) {
  if (types.size() != std::size(errorTypes))
    throw std::invalid_argument("register_errors: expected " +
                                std::to_string(std::size(errorTypes)) + " classes");
  for (size_t i = 0; i < types.size(); ++i) {
    if (!PyType_Check(types[i].ptr()) ||
        !PyType_IsSubtype(reinterpret_cast<PyTypeObject *>(types[i].ptr()),
                          reinterpret_cast<PyTypeObject *>(PyExc_Exception)))
      throw std::invalid_argument("register_errors: not an exception class");
    Py_XDECREF(errorTypes[i]);
    errorTypes[i] = types[i].inc_ref().ptr();
  }
}

/// Raises `type` (a registered class, or RuntimeError before registration) with `message`.
[[noreturn]] void raiseAs(int index, const char *message) {
  PyObject *type = errorTypes[index] ? errorTypes[index] : PyExc_RuntimeError;
  PyErr_SetString(type, message);
  throw nb::python_error();
}

/// Raises the status's exception with the calling thread's runtime message.
[[noreturn]] void raise(blockc_status status) {
  raiseAs(status >= BLOCKC_ERROR_INVALID_ARGUMENT && status <= BLOCKC_ERROR_OUT_OF_MEMORY
              ? int(status)
              : 0,
          blockc_last_error());
}

void check(blockc_status status) {
  if (status != BLOCKC_OK)
    raise(status);
}

using Array = nb::ndarray<nb::ro>;
using WritableArray = nb::ndarray<>;
using NamedArrays = std::vector<std::pair<std::string, Array>>;
using NamedWritableArrays = std::vector<std::pair<std::string, WritableArray>>;

/// The DLTensor view of an array (its memory stays the array's).
template <class A> DLTensor dlTensor(const A &a) {
  DLTensor t{};
  t.data = const_cast<void *>(static_cast<const void *>(a.data()));
  t.device = DLDevice{static_cast<DLDeviceType>(a.device_type()), a.device_id()};
  t.ndim = int32_t(a.ndim());
  t.dtype = DLDataType{a.dtype().code, a.dtype().bits, a.dtype().lanes};
  t.shape = const_cast<int64_t *>(a.shape_ptr());
  t.strides = const_cast<int64_t *>(a.stride_ptr());
  return t;
}

/// Named tensors pointing into `arrays`' names and memory (both must outlive the result).
template <class A>
std::vector<blockc_named_tensor> namedTensors(const std::vector<std::pair<std::string, A>> &arrays) {
  std::vector<blockc_named_tensor> out;
  out.reserve(arrays.size());
  for (const auto &[name, array] : arrays)
    out.push_back(blockc_named_tensor{name.c_str(), dlTensor(array)});
  return out;
}

/// Drops the reference bind_tensors took on the caller's arrays, once the runtime is done
/// with them (from whichever thread lets go of the binding).
void releaseArrays(void *context) {
  if (Py_IsInitialized() == 0)
    return; // the interpreter is gone: nothing to release into
  PyGILState_STATE gil = PyGILState_Ensure();
  Py_DECREF(static_cast<PyObject *>(context));
  PyGILState_Release(gil);
}

nb::dict tensorInfo(const blockc_tensor_info &t) {
  nb::list shape;
  for (int32_t d = 0; d < t.rank; ++d)
    shape.append(t.shape[d]);
  nb::dict d;
  d["name"] = t.name;
  d["shape"] = nb::tuple(shape);
  d["dtype"] = t.dtype.code == kDLFloat ? "float32" : t.dtype.bits == 64 ? "int64" : "int32";
  d["bound"] = t.bound;
  d["optional"] = bool(t.optional);
  return d;
}

/// A loaded module (blockc_module), freed with the Python object or by close().
class Module {
public:
  explicit Module(const std::string &path) {
    blockc_status status;
    {
      nb::gil_scoped_release released;
      status = blockc_module_load(path.c_str(), &module_);
    }
    check(status);
  }
  ~Module() { close(); }
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;

  void close() {
    blockc_module *m = std::exchange(module_, nullptr);
    if (m) {
      nb::gil_scoped_release released; // the weights' release may take the GIL
      blockc_module_free(m);
    }
  }

  void bindFile(const std::string &path) {
    blockc_module *m = get();
    blockc_status status;
    {
      nb::gil_scoped_release released;
      status = blockc_module_bind_weights(m, path.c_str());
    }
    check(status);
  }

  /// Binds `arrays` by reference: `owner` (holding them) lives until the runtime lets go.
  void bindArrays(const NamedArrays &arrays, nb::object owner) {
    blockc_module *m = get();
    std::vector<blockc_named_tensor> tensors = namedTensors(arrays);
    PyObject *context = owner.release().ptr();
    blockc_status status;
    {
      nb::gil_scoped_release released;
      status = blockc_module_bind_tensors(m, tensors.data(), tensors.size(), releaseArrays,
                                          context);
    }
    check(status);
  }

  void run(const NamedArrays &inputs, const NamedWritableArrays &outputs) {
    blockc_module *m = get();
    std::vector<blockc_named_tensor> in = namedTensors(inputs), out = namedTensors(outputs);
    blockc_status status;
    {
      nb::gil_scoped_release released;
      status = blockc_module_run_named(m, in.data(), in.size(), out.data(), out.size());
    }
    check(status);
  }

  /// Runs once and returns each kernel's seconds, in run order.
  std::vector<double> runProfiled(const NamedArrays &inputs, const NamedWritableArrays &outputs) {
    blockc_module *m = get();
    int32_t count = 0;
    check(blockc_module_num_kernels(m, &count));
    std::vector<double> seconds(size_t(count), 0.0);
    std::vector<blockc_named_tensor> in = namedTensors(inputs), out = namedTensors(outputs);
    blockc_status status;
    {
      nb::gil_scoped_release released;
      status = blockc_module_run_named_profiled(m, in.data(), in.size(), out.data(), out.size(),
                                                seconds.data(), count);
    }
    check(status);
    return seconds;
  }

  int setThreads(int threads) {
    int previous = 0;
    check(blockc_module_set_num_threads(get(), threads, &previous));
    return previous;
  }

  bool weightsBound() const {
    blockc_module_info info;
    check(blockc_module_get_info(get(), &info));
    return info.weights_bound != 0;
  }

  /// What the module is, as plain values (blockc_module_info, its tensors, weights, kernels).
  nb::dict info() const {
    blockc_module *m = get();
    blockc_module_info mi;
    check(blockc_module_get_info(m, &mi));
    nb::dict d;
    d["path"] = mi.path;
    d["name"] = mi.block;
    d["target"] = mi.target;
    d["arch"] = mi.arch;
    d["device"] = *mi.device ? mi.device : "cpu";
    d["manifest"] = mi.manifest_json;
    d["flops_per_sample"] = mi.flops_per_sample;
    d["max_tokens"] = mi.max_tokens;
    d["flops_per_token"] = mi.flops_per_token;
    d["flops_per_token_pair"] = mi.flops_per_token_pair;
    for (auto [kind, key, count] : {std::tuple{BLOCKC_INPUT, "inputs", mi.num_inputs},
                                    std::tuple{BLOCKC_OUTPUT, "outputs", mi.num_outputs}}) {
      nb::list list;
      for (int32_t i = 0; i < count; ++i) {
        blockc_tensor_info t;
        check(blockc_module_get_tensor_info(m, kind, i, &t));
        list.append(tensorInfo(t));
      }
      d[key] = list;
    }
    nb::list weights;
    for (int32_t i = 0; i < mi.num_weights; ++i) {
      blockc_weight_info w;
      check(blockc_module_get_weight_info(m, i, &w));
      nb::dict e;
      e["name"] = w.name;
      e["dtype"] = w.dtype;
      e["used"] = bool(w.used);
      weights.append(e);
    }
    d["weights"] = weights;
    int32_t kernels = 0;
    check(blockc_module_num_kernels(m, &kernels));
    nb::list kernelList;
    for (int32_t i = 0; i < kernels; ++i) {
      blockc_kernel_info k;
      check(blockc_module_get_kernel_info(m, i, &k));
      nb::dict e;
      e["name"] = k.name;
      e["kind"] = k.kind;
      e["ops"] = k.ops;
      e["flops_per_sample"] = k.flops_per_sample;
      e["flops_per_token"] = k.flops_per_token;
      e["flops_per_token_pair"] = k.flops_per_token_pair;
      kernelList.append(e);
    }
    d["kernels"] = kernelList;
    return d;
  }

private:
  blockc_module *get() const {
    if (!module_)
      raiseAs(BLOCKC_ERROR_INVALID_ARGUMENT, "the module is closed");
    return module_;
  }

  blockc_module *module_ = nullptr;
};

} // namespace

NB_MODULE(_blockc, m) {
  m.doc() = "blockc's runtime (blockc/runtime.h); use the blockc package, not this module";
  m.def("register_errors", &registerErrors, nb::arg("types"),
        "The exception classes to raise, by blockc_status (blockc.Error first).");

  nb::class_<Module>(m, "Module")
      .def(nb::init<const std::string &>(), nb::arg("path"))
      .def("close", &Module::close)
      .def("bind_file", &Module::bindFile, nb::arg("path"))
      .def("bind_arrays", &Module::bindArrays, nb::arg("arrays"), nb::arg("owner"))
      .def("run", &Module::run, nb::arg("inputs"), nb::arg("outputs"))
      .def("run_profiled", &Module::runProfiled, nb::arg("inputs"), nb::arg("outputs"))
      .def("set_threads", &Module::setThreads, nb::arg("threads"))
      .def_prop_ro("weights_bound", &Module::weightsBound)
      .def("info", &Module::info);
}
