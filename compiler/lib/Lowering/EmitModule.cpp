//===- EmitModule.cpp - kernels to a loadable module ----------------------===//
#include "blockc/Lowering/EmitModule.h"
#include "blockc/Lowering/KernelTasks.h"

#include "KernelIO.h"
#include "Matmul.h"
#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/ModuleDigest.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <set>

using namespace blockc;
using namespace mlir;
namespace json = llvm::json;

namespace {

constexpr int kAbiVersion = 2;

/// The linears' number format: "fp32", "bf16" or "int8" if all are in it, else "mixed".
std::string precisionOf(func::FuncOp func) {
  std::set<std::string> formats;
  func.walk([&](LinearOp linear) {
    StringRef reduced = reducedPrecisionOf(getElementTypeOrSelf(linear.getWeight().getType()));
    formats.insert(reduced.empty() ? "fp32" : reduced.str());
  });
  if (formats.size() > 1)
    return "mixed";
  return formats.empty() ? "fp32" : *formats.begin();
}

class ModuleEmitter {
public:
  ModuleEmitter(func::FuncOp func, TargetInfo target, const EmitOptions &options)
      : func(func), target(std::move(target)), options(options) {}

  llvm::Expected<EmitSummary> emit() {
    // The linker is needed last: look for it before compiling every kernel.
    if (!llvm::sys::findProgramByName(target.linker))
      return llvm::createStringError(
          "cannot find the linker '" + target.linker + "' on PATH" +
          (target.isArm() ? " (arm-64 modules are cross-linked with Debian's "
                            "g++-aarch64-linux-gnu: tools/setup.sh installs it)"
                          : ""));
    if (auto ec = llvm::sys::fs::create_directories(options.outputDir))
      return llvm::createStringError(ec, "cannot create directory " + options.outputDir);
    objectDir = join(options.outputDir, "kernels");
    if (auto ec = llvm::sys::fs::create_directories(objectDir))
      return llvm::createStringError(ec, "cannot create directory " + objectDir);
    if (auto err = collectSources())
      return std::move(err);
    json::Array prepare, run;
    EmitSummary summary;
    summary.target = target.name;
    for (KernelOp kernel : kernels) {
      auto entry = emitKernel(kernel, summary);
      if (!entry)
        return entry.takeError();
      bool isPrepare = kernel.getKind() == KernelKind::Prepare;
      (isPrepare ? prepare : run).push_back(std::move(*entry));
      ++(isPrepare ? summary.prepareKernels : summary.runKernels);
    }
    summary.compiledFunctions = functions.size();
    std::string runtime = join(objectDir, "halide_runtime.o");
    if (auto err = compileHalideRuntime(target.name, runtime))
      return std::move(err);
    objects.push_back(runtime);
    std::string manifest = manifestJson(std::move(prepare), std::move(run));
    if (auto err = writeFile(join(options.outputDir, "manifest.json"), manifest + "\n"))
      return std::move(err);
    if (auto err = link(manifest))
      return std::move(err);
    return summary;
  }

private:
  static std::string join(StringRef a, StringRef b) {
    llvm::SmallString<256> path(a);
    llvm::sys::path::append(path, b);
    return std::string(path);
  }

  static llvm::Error writeFile(const std::string &path, StringRef text) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec)
      return llvm::createStringError(ec, "cannot write " + path);
    os << text;
    return llvm::Error::success();
  }

  /// Where each tensor a kernel touches lives: one of the caller's inputs (the function's
  /// arguments) or outputs (its return operands), a weight, a bind-time constant, or an
  /// arena slot.
  llvm::Error collectSources() {
    Block &entry = func.getBody().front();
    for (BlockArgument arg : entry.getArguments())
      sources[arg] = json::Object{{"source", "input"}, {"index", int64_t(arg.getArgNumber())}};
    // The caller's output buffers are distinct, and the kernels write each: a value returned
    // twice or an input returned as it is would need a copy that no kernel makes.
    llvm::DenseMap<Value, int64_t> outputIndex;
    for (auto [k, value] : llvm::enumerate(entry.getTerminator()->getOperands())) {
      if (isa<BlockArgument>(value))
        return llvm::createStringError("output " + std::to_string(k) + " ('" +
                                       ioName(k, /*isInput=*/false) +
                                       "') returns an input unchanged; no kernel writes it");
      if (!outputIndex.try_emplace(value, k).second)
        return llvm::createStringError("outputs " + std::to_string(outputIndex[value]) +
                                       " and " + std::to_string(k) +
                                       " return the same value; each output needs a value "
                                       "of its own");
    }
    for (Operation &op : entry) {
      if (auto weight = dyn_cast<WeightOp>(op)) {
        sources[weight.getResult()] = json::Object{{"source", "weight"}, {"name", weight.getName()}};
        continue;
      }
      auto kernel = dyn_cast<KernelOp>(op);
      if (!kernel)
        continue;
      kernels.push_back(kernel);
      bool isPrepare = kernel.getKind() == KernelKind::Prepare;
      ArrayRef<int64_t> ids = *(isPrepare ? kernel.getConstants() : kernel.getSlots());
      for (auto [result, id] : llvm::zip(kernel.getResults(), ids)) {
        auto output = outputIndex.find(result);
        if (output != outputIndex.end())
          sources[result] = json::Object{{"source", "output"}, {"index", output->second}};
        else if (isPrepare)
          sources[result] = json::Object{{"source", "constant"}, {"id", id}};
        else
          sources[result] = json::Object{{"source", "slot"}, {"id", id}};
        if (isPrepare) {
          auto type = cast<RankedTensorType>(result.getType());
          // The type the prepare kernel stores (an int8 weight may be stored widened).
          const Halide::Type stored = weightStorageType(result, target);
          constants.push_back(json::Object{{"id", id},
                                           {"shape", toJsonArray(type.getShape())},
                                           {"dtype", dtypeName(stored)}});
        }
      }
    }
    for (auto [k, value] : llvm::enumerate(entry.getTerminator()->getOperands()))
      if (!sources.count(value))
        return llvm::createStringError("output " + std::to_string(k) + " ('" +
                                       ioName(k, /*isInput=*/false) +
                                       "') is not computed by a kernel");
    return llvm::Error::success();
  }

  /// The name of input or output `index`: its `blockc.name` attribute; else "x" and "y" for
  /// a function of one input and one output (a block), "input0", "output0"... otherwise.
  std::string ioName(size_t index, bool isInput) {
    const unsigned count = isInput ? func.getNumArguments() : func.getNumResults();
    StringAttr name = isInput ? func.getArgAttrOfType<StringAttr>(index, BlockcDialect::kNameAttrName)
                              : func.getResultAttrOfType<StringAttr>(index, BlockcDialect::kNameAttrName);
    if (name)
      return name.str();
    if (count == 1)
      return isInput ? "x" : "y";
    return (isInput ? "input" : "output") + std::to_string(index);
  }

  /// The manifest's "inputs" or "outputs": each tensor's name, its shape with -1 for the
  /// batch, and its dtype.
  json::Array ioJson(TypeRange types, bool isInput) {
    json::Array list;
    for (auto [k, type] : llvm::enumerate(types)) {
      auto tensor = cast<RankedTensorType>(type);
      // The batch (dynamic in the IR) is -1; run-time tokens (dynamic too) are "S".
      json::Array shape;
      for (auto [d, size] : llvm::enumerate(tensor.getShape()))
        shape.push_back(d == 0 ? json::Value(-1)
                        : ShapedType::isDynamic(size) ? json::Value("S")
                                                       : json::Value(size));
      Type element = tensor.getElementType();
      json::Object io{{"name", ioName(k, isInput)},
                      {"shape", std::move(shape)},
                      {"dtype", element.isF32() ? "F32" : element.isInteger(64) ? "I64" : "I32"}};
      if (isInput) {
        if (auto bound = func.getArgAttrOfType<IntegerAttr>(k, BlockcDialect::kBoundAttrName))
          io["bound"] = bound.getInt();
        if (func.getArgAttr(k, BlockcDialect::kZeroDefaultAttrName))
          io["optional"] = true;
      }
      list.push_back(std::move(io));
    }
    return list;
  }

  json::Object argJson(const ArgView &view) {
    json::Object arg = view.isTokens ? json::Object() : sources.lookup(view.value);
    addViewJson(view, arg);
    return arg;
  }

  /// Compiles `kernel` as the function of `sig` (its signature and weight layout), with its tuned schedule if
  /// it has one.
  llvm::Expected<LoweredKernel> compileFunction(KernelOp kernel, const std::string &sig,
                                                const std::optional<TunedSchedule> &tuned) {
    KernelCompileOptions compile;
    if (tuned) {
      compile.schedule = tuned->choice;
      compile.tuned = true;
      compile.batch = tuned->batch;
    }
    compile.function = "blockc_" + kernel.getSymName().str();
    std::string path = join(objectDir, compile.function);
    compile.outputs = {{Halide::OutputFileType::object, path + ".o"}};
    if (target.isGpu()) // the device code, for ptxas and for reading
      compile.outputs[Halide::OutputFileType::device_code] = path + ".ptx";
    if (options.emitStmt) {
      compile.outputs[Halide::OutputFileType::stmt] = path + ".stmt";
      compile.outputs[Halide::OutputFileType::assembly] = path + ".s";
    }
    llvm::Expected<LoweredKernel> lowered = compileKernel(kernel, target, compile);
    if (lowered) {
      objects.push_back(path + ".o");
      functions[sig] = compile.function;
    }
    return lowered;
  }

  /// Compiles `kernel` unless a kernel with its signature and its weights' layout already
  /// was; returns its entry of the manifest.
  llvm::Expected<json::Object> emitKernel(KernelOp kernel, EmitSummary &summary) {
    std::string name = kernel.getSymName().str();
    std::string sig = kernelSignature(kernel);
    std::string function = sig + " | panels";
    for (Value operand : kernel.getOperands())
      function += " " + std::to_string(weightPanelWidth(operand, target));
    std::optional<TunedSchedule> tuned;
    if (options.tuning && kernel.getKind() != KernelKind::Prepare)
      tuned = options.tuning(sig, target.halide.to_string());
    if (tuned)
      summary.tunedKernels.push_back(name);
    // Only the first kernel of a signature is compiled (an autoscheduler takes seconds);
    // the others share its function and need only their arguments' views.
    llvm::Expected<LoweredKernel> lowered = functions.count(function)
                                                ? lowerKernel(kernel, target)
                                                : compileFunction(kernel, function, tuned);
    if (!lowered)
      return lowered.takeError();
    json::Array args;
    for (const ArgView &view : lowered->inputs)
      args.push_back(argJson(view));
    for (const ArgView &view : lowered->outputs)
      args.push_back(argJson(view));
    json::Object entry{{"name", name},
                       {"function", functions[function]},
                       {"kind", stringifyKernelKind(kernel.getKind())},
                       {"args", std::move(args)}};
    if (kernel.getKind() != KernelKind::Prepare) { // what a profile of the run reports per kernel
      json::Array ops;
      for (Operation &op : kernel.getBody().front().without_terminator())
        ops.push_back(op.getName().stripDialect());
      entry["ops"] = std::move(ops);
      addFlops(kernel, entry);
    }
    return entry;
  }

  /// The multiply-adds (x2) of the linears and attentions in `root`, per sample, into
  /// "flops_per_sample"; with run-time tokens N, those per token (linears) and per pair of
  /// tokens (attention) into "flops_per_token" and "flops_per_token_pair".
  static void addFlops(Operation *root, json::Object &entry) {
    double perSample = 0, perToken = 0, perPair = 0;
    root->walk([&](LinearOp linear) {
      int64_t n = tokensOf(linear.getInput());
      double flops = 2.0 * channelsOf(linear.getInput()) * channelsOf(linear.getResult());
      if (ShapedType::isDynamic(n))
        perToken += flops;
      else
        perSample += n * flops;
    });
    root->walk([&](MHAOp mha) {
      int64_t n = tokensOf(mha.getResult());
      double flops = 4.0 * channelsOf(mha.getResult());
      if (ShapedType::isDynamic(n))
        perPair += flops;
      else
        perSample += n * n * flops;
    });
    entry["flops_per_sample"] = perSample;
    if (perToken)
      entry["flops_per_token"] = perToken;
    if (perPair)
      entry["flops_per_token_pair"] = perPair;
  }

  std::string manifestJson(json::Array prepare, json::Array run) {
    FunctionType type = func.getFunctionType();
    json::Array weights;
    llvm::StringSet<> seen;
    func.walk([&](WeightOp weight) {
      if (seen.insert(weight.getName()).second)
        weights.push_back(json::Object{{"name", weight.getName()},
                                       {"shape", toJsonArray(weight.getType().getShape())},
                                       {"dtype", "F32"},
                                       {"used", true}});
    });
    if (auto ignored = BlockcDialect::IgnoredWeightsAttrHelper(func.getContext()).getAttr(func))
      for (StringAttr name : ignored.getAsRange<StringAttr>())
        weights.push_back(json::Object{{"name", name.getValue()},
                                       {"shape", json::Array()},
                                       {"dtype", "I64"},
                                       {"used", false}});
    json::Array slots;
    ArrayRef<int64_t> slotSizes =
        BlockcDialect::SlotSizesAttrHelper(func.getContext()).getAttr(func);
    DenseI64ArrayAttr tokenSizes =
        BlockcDialect::SlotTokenSizesAttrHelper(func.getContext()).getAttr(func);
    for (auto [id, size] : llvm::enumerate(slotSizes)) {
      json::Object slot{{"id", int64_t(id)}, {"elements_per_sample", size}};
      if (tokenSizes && tokenSizes[id])
        slot["elements_per_token"] = tokenSizes[id];
      slots.push_back(std::move(slot));
    }
    json::Array features;
    for (const std::string &f : target.cpuFeatures)
      features.push_back(f);
    json::Object manifest{
        {"abi_version", kAbiVersion},
        {"block", func.getSymName()},
        {"spec_hash", options.specHash},
        {"target", target.halide.to_string()},
        {"arch", target.arch},
        {"cpu_features", std::move(features)},
        {"precision", precisionOf(func)},
        {"inputs", ioJson(type.getInputs(), /*isInput=*/true)},
        {"outputs", ioJson(type.getResults(), /*isInput=*/false)},
        {"weights", std::move(weights)},
        {"constants", std::move(constants)},
        {"slots", std::move(slots)},
        {"prepare", std::move(prepare)},
        {"run", std::move(run)},
    };
    addFlops(func, manifest);
    if (auto maxTokens = BlockcDialect::MaxTokensAttrHelper(func.getContext()).getAttr(func))
      manifest["max_tokens"] = maxTokens.getInt();
    if (target.isGpu())
      manifest["device"] = target.device;
    if (auto prefixes = BlockcDialect::IgnoredPrefixesAttrHelper(func.getContext()).getAttr(func)) {
      json::Array ignored;
      for (StringAttr prefix : prefixes.getAsRange<StringAttr>())
        ignored.push_back(prefix.getValue());
      manifest["ignored"] = std::move(ignored);
    }
    // A block ([B, N, C] in, the same out) also says its N and C.
    if (type.getNumInputs() == 1 && type.getNumResults() == 1) {
      ArrayRef<int64_t> in = cast<RankedTensorType>(type.getInput(0)).getShape();
      if (in.size() == 3 && !ShapedType::isDynamic(in[1]) &&
          in == cast<RankedTensorType>(type.getResult(0)).getShape()) {
        manifest["tokens"] = in[1];
        manifest["dim"] = in[2];
      }
    }
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::formatv("{0:2}", json::Value(std::move(manifest)));
    return text;
  }

  /// Links the kernel objects, the Halide runtime and the manifest into module.so, and
  /// appends its size-and-digest record (ModuleDigest.h).
  llvm::Error link(const std::string &manifest) {
    std::string source;
    llvm::raw_string_ostream os(source);
    os << "// Generated by blockc: the module's ABI version and manifest.\n"
       << "__attribute__((visibility(\"default\"))) const int blockc_abi_version = "
       << kAbiVersion << ";\n"
       << "__attribute__((visibility(\"default\"))) const char blockc_manifest[] = {";
    for (unsigned char ch : manifest)
      os << int(ch) << ",";
    os << "0};\n";
    std::string manifestSource = join(objectDir, "manifest.c");
    if (auto err = writeFile(manifestSource, source))
      return err;
    std::vector<std::string> inputs = {manifestSource};
    inputs.insert(inputs.end(), objects.begin(), objects.end());
    const std::string modulePath = join(options.outputDir, "module.so");
    if (auto err = linkSharedObject(target.linker, inputs, modulePath, join(objectDir, "link.log")))
      return err;
    try {
      rt::appendModuleDigest(modulePath);
    } catch (const rt::RtError &e) {
      return llvm::createStringError(e.what());
    }
    return llvm::Error::success();
  }

  func::FuncOp func;
  TargetInfo target;
  const EmitOptions &options;
  std::string objectDir;
  SmallVector<KernelOp> kernels;
  llvm::DenseMap<Value, json::Object> sources;
  json::Array constants;
  std::map<std::string, std::string> functions; // signature and weight layout -> function
  std::vector<std::string> objects;
};

} // namespace

llvm::Error blockc::linkSharedObject(const std::string &linker,
                                     const std::vector<std::string> &inputs,
                                     const std::string &outputPath, const std::string &logPath) {
  auto program = llvm::sys::findProgramByName(linker);
  if (!program)
    return llvm::createStringError("cannot find the linker '" + linker + "' on PATH");
  std::vector<std::string> argv = {*program, "-shared", "-fPIC", "-O1", "-o", outputPath};
  argv.insert(argv.end(), inputs.begin(), inputs.end());
  for (const char *lib : {"-Wl,-Bsymbolic", "-lpthread", "-ldl", "-lm"})
    argv.push_back(lib);
  std::vector<StringRef> args(argv.begin(), argv.end());
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath), StringRef(logPath)};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(*program, args, std::nullopt, redirects, 0, 0, &error);
  if (rc != 0) {
    auto text = llvm::MemoryBuffer::getFile(logPath);
    return llvm::createStringError("linking " + outputPath + " failed: " + error +
                                   (text ? "\n" + (*text)->getBuffer().str() : ""));
  }
  return llvm::Error::success();
}

llvm::Expected<EmitSummary> blockc::emitModule(ModuleOp module, const EmitOptions &options) {
  auto funcs = module.getOps<func::FuncOp>();
  if (std::distance(funcs.begin(), funcs.end()) != 1)
    return llvm::createStringError("expected exactly one block function in the module");
  llvm::Expected<TargetInfo> target = resolveTarget(options.target);
  if (!target)
    return target.takeError();
  if (target->device == "opencl")
    return llvm::createStringError(
        "target '" + options.target + "': the opencl target is for testing the GPU schedules "
        "kernel by kernel (compileStandaloneKernel, the OpenCL kernel tests), not for whole "
        "modules: the runtime's device views are CUDA device pointers, and OpenCL sub-buffers "
        "need offsets aligned to the device's base address alignment");
  if (target->isGpu()) {
    bool reduced = false;
    (*funcs.begin()).walk([&](Operation *op) { reduced |= isa<ToBF16Op, QuantizeOp>(op); });
    if (reduced)
      return llvm::createStringError(
          "target '" + options.target + "': bf16 and int8 modules are for CPU targets; "
          "compile GPU modules with --precision fp32");
  }
  return ModuleEmitter(*funcs.begin(), std::move(*target), options).emit();
}
