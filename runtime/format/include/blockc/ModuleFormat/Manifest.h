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

/// The element type of an input or output (F32, I64, I32) or of a constant (F32, BF16, I8,
/// I16, I32).
enum class ElementType { F32, I64, I32, BF16, I8, I16 };

/// The bytes of one element of `type`.
inline size_t elementBytes(ElementType type) {
  switch (type) {
  case ElementType::I64:
    return 8;
  case ElementType::BF16:
  case ElementType::I16:
    return 2;
  case ElementType::I8:
    return 1;
  case ElementType::F32:
  case ElementType::I32:
    break;
  }
  return 4;
}

/// Tokens: the scalar int32 argument that carries the run's sequence length S to a kernel
/// of a module with run-time tokens (its view is empty).
enum class ArgSource { Input, Output, Weight, Constant, Slot, Tokens };

/// The sizes a run chooses: the batch B, and the sequence length S of a module with run-time
/// tokens (1 for any other).
struct RunShape {
  int64_t batch = 1, tokens = 1;
};

struct ArgView {
  ArgSource source = ArgSource::Input;
  /// Index into Manifest::inputs / outputs / weights / constants / slots (by position,
  /// not id).
  size_t index = 0;
  int64_t offset = 0;
  /// Row-major; a negative entry -k means k * B. With run-time tokens, an entry whose bit
  /// is set in `tokensShape` is also times S, as is a stride whose bit is set in
  /// `tokensStrides` (the manifest writes them "k*B*S", "S", "k*S"; never both bits of one
  /// dimension).
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  uint32_t tokensShape = 0, tokensStrides = 0;
  /// A standalone kernel's weight [in, out] stored as panels [out / P][in][P] of this width
  /// P ("panels" in kernel.json; 0: as the view says), for blockc-tune's inputs.
  int64_t panelWidth = 0;
  /// A standalone kernel's integer argument (token ids, a mask: "dtype" in kernel.json);
  /// a manifest kernel's view has its input's type.
  ElementType elementType = ElementType::F32;

  /// The extent of dimension `d` in a run of `run`'s sizes.
  int64_t extent(size_t d, RunShape run) const {
    const int64_t k = shape[d] < 0 ? -shape[d] * run.batch : shape[d];
    return (tokensShape >> d & 1) ? k * run.tokens : k;
  }
  /// The stride of dimension `d` in a run of `run`'s sizes.
  int64_t stride(size_t d, RunShape run) const {
    return (tokensStrides >> d & 1) ? strides[d] * run.tokens : strides[d];
  }
};

/// Floating-point operations of one sample: perSample + S * perToken + S^2 * perTokenPair,
/// with S the run's sequence length (1 for a module without run-time tokens); all 0 when the
/// manifest does not say.
struct FlopCount {
  double perSample = 0, perToken = 0, perTokenPair = 0;

  double at(int64_t tokens) const {
    const double s = static_cast<double>(tokens);
    return perSample + s * perToken + s * s * perTokenPair;
  }
};

struct KernelSpec {
  std::string name;
  std::string function; ///< the runtime calls <function>_argv
  std::string kind;
  std::vector<std::string> ops; ///< the dialect ops it computes, in order (run kernels)
  FlopCount flops;
  std::vector<ArgView> args;
  /// A standalone kernel's S ("tokens" in kernel.json: it runs at that many tokens).
  int64_t tokens = 1;
};


/// One of the caller's inputs or outputs.
struct TensorSpec {
  std::string name;
  /// Row-major; shape[0] is -1 (the run's batch B), the others positive, except that
  /// shape[1] is -2 (the run's sequence length S) in a tensor of a module with run-time
  /// tokens that has one ("S" in the manifest). Rank 2..5.
  std::vector<int64_t> shape;
  int64_t elementsPerSample = 1; ///< the product of the positive entries of shape[1..]
  bool perToken = false;         ///< shape[1] is S

  /// The elements of a run of `run`'s sizes.
  int64_t elements(RunShape run) const {
    return elementsPerSample * run.batch * (perToken ? run.tokens : 1);
  }
  /// F32, or (inputs only) I64 or I32: token ids or a mask, [B, N].
  ElementType dtype = ElementType::F32;
  /// An integer input's values must lie in [0, bound) (the rows of the embedding table its
  /// ids index, 2 for a mask); 0 when the manifest gives no bound.
  int64_t bound = 0;
  /// An integer input a caller may omit: the run then reads zeros ("optional": true).
  bool optional = false;

  size_t elementBytes() const { return rt::elementBytes(dtype); }
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
  /// F32; BF16 (a weight rounded for a bf16 matmul); I8 and I32 (a weight quantized for an
  /// int8 matmul, and its group sums); I16 (such a weight stored widened).
  ElementType dtype = ElementType::F32;
};

struct SlotSpec {
  int64_t id = 0;
  /// A run needs B * (elementsPerSample + S * elementsPerToken) float32 elements.
  int64_t elementsPerSample = 0, elementsPerToken = 0;

  int64_t elements(RunShape run) const {
    return run.batch * (elementsPerSample + run.tokens * elementsPerToken);
  }
};

struct Manifest {
  int64_t abiVersion = 0;
  std::string block, specHash, target, arch;
  /// The linears' number format: "fp32", "bf16" or "int8", or "mixed" where they differ
  /// ("precision"; fp32 when absent).
  std::string precision = "fp32";
  /// Where the kernels run: "" (the CPU) or "cuda" (an NVIDIA GPU; "target" has -cuda-).
  std::string device;
  std::vector<std::string> cpuFeatures;
  /// A block module's input [B, tokens, dim]; 0 when the manifest has no "tokens"/"dim".
  int64_t tokens = 0, dim = 0;
  std::vector<TensorSpec> inputs, outputs; ///< at least one each; names unique
  /// The largest sequence length S a run may choose (1 to maxTokens); 0 for a module
  /// without run-time tokens ("max_tokens").
  int64_t maxTokens = 0;
  FlopCount flops; ///< of the whole run
  std::vector<WeightSpec> weights;
  /// A model's `ignore NAME`: tensors named NAME or under `NAME.` that a weight file may hold
  /// and inference never reads (Hugging Face's pooler, buffers).
  std::vector<std::string> ignoredPrefixes;
  /// The index of the ignored prefix `name` is under, or -1.
  int ignoredPrefixOf(const std::string &name) const {
    for (size_t i = 0; i < ignoredPrefixes.size(); ++i) {
      const std::string &p = ignoredPrefixes[i];
      if (name == p || (name.size() > p.size() && name.compare(0, p.size(), p) == 0 && name[p.size()] == '.'))
        return static_cast<int>(i);
    }
    return -1;
  }
  std::vector<ConstantSpec> constants;
  std::vector<SlotSpec> slots;
  std::vector<KernelSpec> prepare, run;
  /// Largest k of a shape entry k * B over all run arguments (1 if none): B * k must fit
  /// Halide's int32 (entries and strides with S are checked per run, once S is known).
  int64_t maxBatchMultiple = 1;
};

/// Parses and validates a manifest. Throws RtError(BLOCKC_ERROR_LOAD) with a
/// message starting "manifest: " (the caller prefixes the file name).
Manifest parseManifest(const std::string &json);

/// Parses a standalone kernel's description (blockc-tune's kernel.json, written by
/// compileStandaloneKernel): {"kernel": NAME, "function": F, "args": [{"offset", "shape",
/// "strides", "output": BOOL, "panels": P}, ...], "tokens": S}, each argument checked as a
/// manifest kernel's and with storage of its own (source Input, or Output where "output"
/// is true; index 0), or {"source": "tokens"} (the scalar S, with "tokens" given). Throws
/// RtError(BLOCKC_ERROR_LOAD) as parseManifest does.
KernelSpec parseStandaloneKernel(const std::string &json);

/// Element capacity of an argument's storage in a run of `run`'s sizes (inputs, outputs and
/// slots grow with B and S).
int64_t storageElements(const Manifest &m, const ArgView &arg, RunShape run);

} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_MANIFEST_H
