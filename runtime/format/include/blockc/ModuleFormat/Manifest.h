//===- Manifest.h - parsed and validated module manifest --------*- C++ -*-===//
//
// See docs/module-format.md. parseManifest checks every field's presence and
// type, every reference (weight names, constant and slot ids) and that every
// kernel argument view stays inside its storage for every batch size, so a
// corrupt manifest is an error, never an out-of-bounds access.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_RUNTIME_MANIFEST_H
#define BLOCKC_RUNTIME_MANIFEST_H

#include <cstdint>
#include <string>
#include <vector>

namespace blockc {
namespace rt {

enum class ArgSource { Input, Output, Weight, Constant, Slot };

struct ArgView {
  ArgSource source = ArgSource::Input;
  /// Index into Manifest::inputs / outputs / weights / constants / slots (by position,
  /// not id).
  size_t index = 0;
  int64_t offset = 0;
  /// Row-major; a negative entry -k means k * B.
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
};

struct KernelSpec {
  std::string name;
  std::string function; ///< the runtime calls <function>_argv
  std::string kind;
  std::vector<std::string> ops; ///< the dialect ops it computes, in order (run kernels)
  double flopsPerSample = 0;    ///< 0 when the manifest does not say
  std::vector<ArgView> args;
};

/// The element type of an input or output.
enum class ElementType { F32, I64, I32 };

/// One of the caller's inputs or outputs.
struct TensorSpec {
  std::string name;
  /// Row-major; shape[0] is -1 (the run's batch B), the others positive. Rank 2..5.
  std::vector<int64_t> shape;
  int64_t elementsPerSample = 1; ///< the product of shape[1..]
  /// F32, or (inputs only) I64 or I32: token ids or a mask, [B, N].
  ElementType dtype = ElementType::F32;
  /// An integer input's values must lie in [0, bound) (the rows of the embedding table its
  /// ids index, 2 for a mask); 0 when the manifest gives no bound.
  int64_t bound = 0;

  size_t elementBytes() const { return dtype == ElementType::I64 ? 8 : 4; }
  const char *dtypeName() const {
    return dtype == ElementType::F32 ? "float32" : dtype == ElementType::I64 ? "int64" : "int32";
  }
};

struct WeightSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;
  bool used = true;
  int64_t elements = 1;
};

struct ConstantSpec {
  int64_t id = 0;
  std::vector<int64_t> shape;
  int64_t elements = 1;
};

struct SlotSpec {
  int64_t id = 0;
  int64_t elementsPerSample = 0;
};

struct Manifest {
  int64_t abiVersion = 0;
  std::string block, specHash, target, arch;
  /// Where the kernels run: "" (the CPU) or "cuda" (an NVIDIA GPU; "target" has -cuda-).
  std::string device;
  std::vector<std::string> cpuFeatures;
  /// A block module's input [B, tokens, dim]; 0 when the manifest has no "tokens"/"dim".
  int64_t tokens = 0, dim = 0;
  std::vector<TensorSpec> inputs, outputs; ///< at least one each; names unique
  double flopsPerSample = 0;
  std::vector<WeightSpec> weights;
  /// A model's `ignore NAME`: tensors named NAME or under `NAME.` that a weight file may hold
  /// and inference never reads (Hugging Face's pooler, buffers).
  std::vector<std::string> ignoredPrefixes;
  /// Whether `name` is one of those.
  bool ignores(const std::string &name) const {
    for (const std::string &p : ignoredPrefixes)
      if (name == p || (name.size() > p.size() && name.compare(0, p.size(), p) == 0 && name[p.size()] == '.'))
        return true;
    return false;
  }
  std::vector<ConstantSpec> constants;
  std::vector<SlotSpec> slots;
  std::vector<KernelSpec> prepare, run;
  /// Largest k of a negative shape entry -k over all run arguments (1 if none):
  /// B * maxBatchMultiple must fit Halide's int32 extents.
  int64_t maxBatchMultiple = 1;
};

/// Parses and validates a manifest. Throws RtError(BLOCKC_ERROR_LOAD) with a
/// message starting "manifest: " (the caller prefixes the file name).
Manifest parseManifest(const std::string &json);

/// Parses a standalone kernel's description (blockc-tune's kernel.json, written by
/// compileStandaloneKernel): {"kernel": NAME, "function": F, "args": [{"offset", "shape",
/// "strides", "output": BOOL}, ...]}, each argument checked as a manifest kernel's and
/// with storage of its own (source Input, or Output where "output" is true; index 0). Throws
/// RtError(BLOCKC_ERROR_LOAD) as parseManifest does.
KernelSpec parseStandaloneKernel(const std::string &json);

/// Element capacity of an argument's storage for batch B (input/output/slot grow with B).
int64_t storageElements(const Manifest &m, const ArgView &arg, int64_t batch);

} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_MANIFEST_H
