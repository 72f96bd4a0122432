//===- Harness.cpp - the timing worker ------------------------------------===//
//
// The kernel is called as the runtime calls a module's kernels (blockc_kernel_call): its
// library opened with the same flags, its arguments parsed as a manifest kernel's
// (parseStandaloneKernel) and built as halide_buffer_t views (ViewBuffer.h), its Halide
// errors captured the same way. Each argument has storage of its own,
// offset + 1 + sum((extent - 1) * stride) floats (64-byte aligned).
// A CUDA kernel runs as in a CUDA module (the runtime's Run.cpp): its Halide runtime on the
// device's primary context and a stream of its own (HalideCuda.h), its arguments views of
// device memory (only `device` set) uploaded from the host storage once, the outputs
// copied back for the check; each call ends when the stream has finished.
// On another GPU target (OpenCL) the buffers are host buffers: the inputs are marked
// host-dirty, so the pipeline copies them to the device (a clean host buffer is not
// copied: the kernel would read uninitialized device memory), and the outputs are copied
// back for the check (halide_copy_to_host); each timed call ends with halide_device_sync,
// and every device allocation is freed (halide_device_free) before the host storage is.
//
//===----------------------------------------------------------------------===//
#include "Harness.h"

#include "blockc/KernelCall/HalideCuda.h"
#include "blockc/KernelCall/HalideErrors.h"
#include "blockc/KernelCall/KernelLibrary.h"
#include "blockc/KernelCall/ViewBuffer.h"
#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/Manifest.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <HalideRuntime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace blockc::tune;
namespace json = llvm::json;

namespace {

struct Failure {
  int code;
  std::string message;
};

[[noreturn]] void fail(int code, const std::string &message) { throw Failure{code, message}; }

using blockc::rt::ArgSource;
using blockc::rt::ArgView;
using blockc::rt::KernelSpec;

/// The kernel's description (DIR/kernel.json).
KernelSpec readKernelJson(const std::string &path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    fail(1, path + ": " + buffer.getError().message());
  try {
    return blockc::rt::parseStandaloneKernel((*buffer)->getBuffer().str());
  } catch (const blockc::rt::RtError &e) {
    fail(1, path + ": " + e.what());
  }
}

using blockc::rt::RunShape;

/// Floats an argument's storage needs.
size_t storageSize(const ArgView &a, RunShape run) {
  int64_t last = a.offset;
  for (size_t d = 0; d < a.shape.size(); ++d)
    last += (a.extent(d, run) - 1) * a.strides[d];
  return static_cast<size_t>(last + 1);
}

/// Calls fn(element index) for every element of the view, row-major.
template <typename F> void forEachElement(const ArgView &a, RunShape run, F fn) {
  const size_t rank = a.shape.size();
  std::vector<int64_t> index(rank, 0);
  for (size_t d = 0; d < rank; ++d)
    if (a.extent(d, run) <= 0)
      return;
  for (;;) {
    int64_t at = a.offset;
    for (size_t d = 0; d < rank; ++d)
      at += index[d] * a.strides[d];
    fn(static_cast<size_t>(at));
    size_t d = rank;
    while (d > 0) {
      --d;
      if (++index[d] < a.extent(d, run))
        break;
      index[d] = 0;
      if (d == 0)
        return;
    }
    if (rank == 0)
      return;
  }
}

/// A fixed value in [0.25, 1.25) for element i of argument k (splitmix64).
float inputValue(uint64_t k, uint64_t i) {
  uint64_t z = (k << 40) ^ i;
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return 0.25f + static_cast<float>(z >> 40) * 0x1.0p-24f;
}

/// The `n` elements of argument k, a weight in a narrower format, at `p`: bf16 (inputValue
/// rounded down to bf16) or integers in [-127, 127] (int8, or int8 stored widened to int16).
void fillNarrowWeight(blockc::rt::ElementType type, uint64_t k, size_t n, void *p) {
  for (size_t i = 0; i < n; ++i) {
    const float v = inputValue(k, i);
    if (type == blockc::rt::ElementType::BF16) {
      uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      static_cast<uint16_t *>(p)[i] = static_cast<uint16_t>(bits >> 16);
      continue;
    }
    const auto q = static_cast<int16_t>(std::lround((v - 0.75f) * 254.f)); // [-127, 127]
    if (type == blockc::rt::ElementType::I16)
      static_cast<int16_t *>(p)[i] = q;
    else
      static_cast<int8_t *>(p)[i] = static_cast<int8_t>(q);
  }
}

struct FreeDeleter {
  void operator()(float *p) const { std::free(p); }
};

using BufferFunction = int (*)(void *, halide_buffer_t *);
using ThreadSetter = int (*)(int);

constexpr char kReferenceMagic[8] = {'B', 'L', 'K', 'R', 'E', 'F', '1', '\0'};

void writeReference(const std::string &path, const std::vector<std::vector<float>> &outputs) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(kReferenceMagic, sizeof kReferenceMagic);
  const uint64_t count = outputs.size();
  out.write(reinterpret_cast<const char *>(&count), sizeof count);
  for (const std::vector<float> &o : outputs) {
    const uint64_t n = o.size();
    out.write(reinterpret_cast<const char *>(&n), sizeof n);
    out.write(reinterpret_cast<const char *>(o.data()), static_cast<std::streamsize>(n * 4));
  }
  if (!out)
    fail(1, "cannot write the reference " + path);
}

std::vector<std::vector<float>> readReference(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  uint64_t count = 0;
  in.read(magic, sizeof magic);
  in.read(reinterpret_cast<char *>(&count), sizeof count);
  if (!in || std::memcmp(magic, kReferenceMagic, sizeof magic) != 0 || count > 1024)
    fail(1, "cannot read the reference " + path);
  std::vector<std::vector<float>> outputs(count);
  for (std::vector<float> &o : outputs) {
    uint64_t n = 0;
    in.read(reinterpret_cast<char *>(&n), sizeof n);
    if (!in || n > (uint64_t(1) << 34))
      fail(1, "cannot read the reference " + path);
    o.resize(n);
    in.read(reinterpret_cast<char *>(o.data()), static_cast<std::streamsize>(n * 4));
  }
  if (!in)
    fail(1, "cannot read the reference " + path);
  return outputs;
}

std::string number(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

void writeResult(const std::string &path, const json::Object &result) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << json::Value(json::Object(result)) << "\n";
  os.flush();
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << text;
    if (!out)
      fail(1, "cannot write " + temp);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0)
    fail(1, "cannot write " + path);
}

bool isOutput(const ArgView &a) { return a.source == ArgSource::Output; }

namespace cuda = blockc::rt::cuda;

/// A CUDA kernel's device: its Halide runtime pointed at the primary context and `stream`,
/// and the arguments' device memory.
struct CudaArguments {
  const halide_device_interface_t *interface = nullptr;
  cuda::Stream stream;
  std::vector<cuda::DeviceMemory> memory; // by argument: its whole storage
};

/// Points the kernel library's Halide CUDA runtime at the device's primary context and
/// the streams, as the runtime does for a CUDA module (CudaModule.cpp).
void useCudaAsAModule(void *handle, CudaArguments &device) {
  std::vector<std::string> missing;
  const cuda::HalideCudaRuntime runtime = cuda::findHalideCudaRuntime(handle, missing);
  if (!missing.empty())
    fail(1, "the kernel's Halide CUDA runtime lacks " + blockc::rt::joinNames(missing));
  cuda::usePrimaryContextAndStreams(runtime, cuda::device());
  device.interface = runtime.interfaceOf();
  if (!device.interface)
    fail(1, "halide_cuda_device_interface() returned null");
  device.stream = cuda::Stream::create();
}

int run(const HarnessOptions &options) {
  using blockc::rt::lookupSymbol;
  const KernelSpec kernel = readKernelJson(options.kernelDir + "/kernel.json");
  const std::vector<ArgView> &args = kernel.args;
  const std::string soPath = options.kernelDir + "/kernel.so";
  // The kernel calls its own Halide runtime, not libHalide's (in this executable).
  void *handle = ::dlopen(soPath.c_str(), blockc::rt::kernelLibraryOpenFlags());
  if (!handle)
    fail(1, std::string("cannot load ") + soPath + ": " + ::dlerror());
  auto function =
      reinterpret_cast<blockc::rt::ArgvFunction>(lookupSymbol(handle, kernel.function + "_argv"));
  if (!function)
    fail(1, soPath + " has no " + kernel.function + "_argv");
  blockc::rt::captureHalideErrors(handle);
  if (options.threads > 0)
    if (auto setThreads =
            reinterpret_cast<ThreadSetter>(lookupSymbol(handle, "halide_set_num_threads")))
      setThreads(options.threads);
  auto copyToHost = reinterpret_cast<BufferFunction>(lookupSymbol(handle, "halide_copy_to_host"));
  auto deviceSync = reinterpret_cast<BufferFunction>(lookupSymbol(handle, "halide_device_sync"));
  auto deviceFree = reinterpret_cast<BufferFunction>(lookupSymbol(handle, "halide_device_free"));

  std::optional<CudaArguments> cudaArgs;
  std::optional<cuda::ScopedContext> cudaContext;
  std::optional<cuda::StreamScope> cudaStream;
  if (lookupSymbol(handle, "halide_cuda_device_interface")) {
    cudaArgs.emplace();
    useCudaAsAModule(handle, *cudaArgs);
    cudaContext.emplace();
    cudaStream.emplace(cudaArgs->stream.get());
  }

  if (options.inject == "crash")
    std::abort();
  if (options.inject == "hang")
    for (;;)
      std::this_thread::sleep_for(std::chrono::hours(1));

  // Storage, inputs and buffers.
  std::vector<std::unique_ptr<float, FreeDeleter>> storage;
  std::vector<size_t> sizes;
  size_t totalRank = 0;
  for (const ArgView &a : args)
    totalRank += a.shape.size();
  std::vector<halide_buffer_t> buffers(args.size());
  std::vector<halide_dimension_t> dims(std::max<size_t>(1, totalRank));
  std::vector<void *> argv(args.size());
  size_t dimAt = 0;
  const RunShape run{options.batch, kernel.tokens};
  int32_t tokens = static_cast<int32_t>(kernel.tokens); // a `tokens` argument points here
  for (size_t k = 0; k < args.size(); ++k) {
    const ArgView &a = args[k];
    if (a.source == ArgSource::Tokens) {
      storage.emplace_back(nullptr);
      sizes.push_back(0);
      if (cudaArgs) // keeps the device allocations in argument order
        cudaArgs->memory.emplace_back(sizeof(float));
      argv[k] = &tokens;
      continue;
    }
    const size_t n = storageSize(a, run);
    const size_t elementBytes = blockc::rt::elementBytes(a.elementType);
    const size_t bytes = ((n * elementBytes + 63) / 64) * 64;
    float *p = static_cast<float *>(std::aligned_alloc(64, std::max<size_t>(bytes, 64)));
    if (!p)
      fail(1, "out of memory for argument " + std::to_string(k));
    storage.emplace_back(p);
    sizes.push_back(n);
    if (isOutput(a))
      std::fill(p, p + n, std::numeric_limits<float>::quiet_NaN());
    else if (a.panelWidth && a.elementType != blockc::rt::ElementType::F32)
      fillNarrowWeight(a.elementType, k, n, p); // a bf16 or int8 matmul's weight
    else if (a.elementType != blockc::rt::ElementType::F32) // ids 0 and masks of padding: valid
      std::memset(p, 0, n * elementBytes);
    else if (a.panelWidth) // the values of the row-major [in, out] a GPU kernel reads
      for (size_t i = 0; i < n; ++i) {
        const size_t width = static_cast<size_t>(a.panelWidth), in = static_cast<size_t>(a.shape[1]);
        const size_t out = static_cast<size_t>(a.shape[0]) * width;
        const size_t panel = i / (in * width), row = i / width % in, column = panel * width + i % width;
        p[i] = inputValue(k, row * out + column);
      }
    else
      for (size_t i = 0; i < n; ++i)
        p[i] = inputValue(k, i);

    halide_buffer_t &b = buffers[k];
    b = blockc::rt::viewBuffer(a, run, dims.data() + dimAt, a.elementType);
    if (cudaArgs) { // a crop of device memory, as the runtime's views on a GPU
      cuda::DeviceMemory &memory = cudaArgs->memory.emplace_back(n * elementBytes);
      cuda::check(cuda::device().api.cuMemcpyHtoD(memory.get(), p, n * elementBytes),
                  "copying argument " + std::to_string(k) + " to the GPU", BLOCKC_ERROR_KERNEL);
      b.device = memory.get() + static_cast<uint64_t>(a.offset) * elementBytes;
      b.device_interface = cudaArgs->interface;
    } else {
      b.host = reinterpret_cast<uint8_t *>(p) + static_cast<size_t>(a.offset) * elementBytes;
      b.flags = isOutput(a) ? 0 : halide_buffer_flag_host_dirty; // no effect on a CPU kernel
    }
    dimAt += a.shape.size();
    argv[k] = &b;
  }

  std::string messages;
  auto call = [&] {
    const int rc = blockc::rt::callHalide([&] { return function(argv.data()); }, messages);
    if (rc != 0)
      fail(3, "the kernel failed with code " + std::to_string(rc) +
                  (messages.empty() ? std::string(" (no message)") : ": " + messages));
    if (cudaArgs) {
      const int synced = cuda::device().api.cuStreamSynchronize(cudaArgs->stream.get());
      if (synced != 0)
        fail(3, "the kernel failed on the GPU: CUDA error " + cuda::describe(synced));
    } else if (deviceSync) {
      for (size_t k = 0; k < args.size(); ++k)
        if (isOutput(args[k]) && buffers[k].device)
          deviceSync(nullptr, &buffers[k]);
    }
  };

  // The correctness run.
  call();
  std::vector<std::vector<float>> outputs;
  for (size_t k = 0; k < args.size(); ++k) {
    if (!isOutput(args[k]))
      continue;
    if (cudaArgs) {
      cuda::check(cuda::device().api.cuMemcpyDtoHAsync(storage[k].get(), cudaArgs->memory[k].get(),
                                                       sizes[k] * sizeof(float),
                                                       cudaArgs->stream.get()),
                  "copying output " + std::to_string(k) + " to the host", BLOCKC_ERROR_KERNEL);
      cuda::check(cuda::device().api.cuStreamSynchronize(cudaArgs->stream.get()),
                  "copying output " + std::to_string(k) + " to the host", BLOCKC_ERROR_KERNEL);
    } else if (copyToHost && buffers[k].device)
      if (blockc::rt::callHalide([&] { return copyToHost(nullptr, &buffers[k]); }, messages) != 0)
        fail(3, "copying output " + std::to_string(k) + " to the host failed: " + messages);
    std::vector<float> values;
    const float *p = storage[k].get();
    forEachElement(args[k], run, [&](size_t i) { values.push_back(p[i]); });
    outputs.push_back(std::move(values));
  }

  json::Object result{{"status", "ok"}};
  std::string message;
  if (options.writeReference) {
    size_t nonFinite = 0;
    for (const std::vector<float> &o : outputs)
      for (float v : o)
        nonFinite += !std::isfinite(v);
    if (nonFinite)
      message = "the default's outputs hold " + std::to_string(nonFinite) +
                " non-finite values: every other candidate will be 'wrong'";
    writeReference(options.referencePath, outputs);
  } else {
    const std::vector<std::vector<float>> reference = readReference(options.referencePath);
    if (reference.size() != outputs.size())
      fail(1, "the reference has " + std::to_string(reference.size()) + " outputs, the kernel " +
                  std::to_string(outputs.size()));
    for (size_t o = 0; o < outputs.size(); ++o) {
      if (reference[o].size() != outputs[o].size())
        fail(1, "output " + std::to_string(o) + " has " + std::to_string(outputs[o].size()) +
                    " elements, the reference " + std::to_string(reference[o].size()));
      double maxRef = 0;
      for (float v : reference[o])
        if (std::isfinite(v))
          maxRef = std::max(maxRef, std::fabs(double(v)));
      const double tolerance = 1e-4 * std::max(1.0, maxRef);
      double worst = 0;
      size_t worstAt = 0, nan = 0, firstNan = 0;
      for (size_t i = 0; i < outputs[o].size(); ++i) {
        const double got = outputs[o][i], want = reference[o][i];
        if (!std::isfinite(got)) {
          if (nan++ == 0)
            firstNan = i;
          continue;
        }
        double diff = std::fabs(got - want);
        if (!std::isfinite(diff)) // a non-finite reference matches nothing
          diff = INFINITY;
        if (diff > worst) {
          worst = diff;
          worstAt = i;
        }
      }
      if (nan || !(worst <= tolerance)) {
        result["status"] = "wrong";
        message = "output " + std::to_string(o) + ": " +
                  (nan ? std::to_string(nan) + " non-finite values (the first at element " +
                             std::to_string(firstNan) + ")"
                       : "max |diff| " + number(worst) + " at element " +
                             std::to_string(worstAt) + " (reference " +
                             number(reference[o][worstAt]) + ", got " +
                             number(outputs[o][worstAt]) + ") > tolerance " +
                             number(tolerance));
        break;
      }
      result["max_diff_" + std::to_string(o)] = worst;
    }
  }

  if (options.time && result["status"] == json::Value("ok")) {
    using Clock = std::chrono::steady_clock;
    auto seconds = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration<double>(b - a).count();
    };
    // Calibrate: one call, then as many calls per sample as make a sample >= 200 us.
    Clock::time_point t0 = Clock::now();
    call();
    const double once = std::max(1e-7, seconds(t0, Clock::now()));
    const int inner = static_cast<int>(std::clamp(std::ceil(200e-6 / once), 1.0, 10000.0));
    // Warm-up: at least 3 samples' worth of calls and 20 ms.
    Clock::time_point warm = Clock::now();
    for (int i = 0; i < 3 * inner || seconds(warm, Clock::now()) < 0.02; ++i)
      call();
    // Samples: 7 to 51 of them, about 0.3 s in all.
    const int samples =
        static_cast<int>(std::clamp(std::ceil(0.3 / (once * inner)), 7.0, 51.0));
    std::vector<double> times;
    for (int s = 0; s < samples; ++s) {
      Clock::time_point a = Clock::now();
      for (int i = 0; i < inner; ++i)
        call();
      times.push_back(seconds(a, Clock::now()) * 1e6 / inner);
    }
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    result["time_us"] = median;
    result["spread_us"] = sorted.back() - sorted.front();
    result["samples"] = static_cast<int64_t>(n);
    result["calls_per_sample"] = inner;
  }
  result["message"] = message;
  if (deviceFree && !cudaArgs) // a CUDA view's memory is cudaArgs'
    for (halide_buffer_t &b : buffers)
      if (b.device)
        deviceFree(nullptr, &b);
  writeResult(options.resultPath, result);
  return 0;
}

} // namespace

int blockc::tune::runHarness(const HarnessOptions &options) {
  try {
    return run(options);
  } catch (const Failure &f) {
    std::fprintf(stderr, "%s\n", f.message.c_str());
    return f.code;
  } catch (const blockc::rt::RtError &e) { // the CUDA device
    std::fprintf(stderr, "%s\n", e.what());
    return e.status() == BLOCKC_ERROR_KERNEL ? 3 : 1;
  }
}
