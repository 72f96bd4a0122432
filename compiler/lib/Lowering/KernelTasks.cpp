//===- KernelTasks.cpp - kernels one at a time, for the tuner -------------===//
#include "blockc/Lowering/KernelTasks.h"

#include "KernelIO.h"
#include "blockc/Lowering/EmitModule.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace blockc;
using namespace mlir;
namespace json = llvm::json;

std::string blockc::kernelSignature(KernelOp kernel) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << stringifyKernelKind(kernel.getKind());
  Block &body = kernel.getBody().front();
  for (BlockArgument arg : body.getArguments())
    os << " " << arg.getType();
  llvm::DenseMap<Operation *, int> index;
  for (Operation &op : body) {
    index[&op] = index.size();
    os << " | " << op.getName() << op.getAttrDictionary() << " (";
    for (Value operand : op.getOperands()) {
      if (auto arg = dyn_cast<BlockArgument>(operand))
        os << " a" << arg.getArgNumber();
      else
        os << " o" << index[operand.getDefiningOp()] << "."
           << cast<OpResult>(operand).getResultNumber();
    }
    os << " ) ->";
    for (Type type : op.getResultTypes())
      os << " " << type;
  }
  return text;
}

namespace {
/// The run kernels of the module's block function, in order.
llvm::Expected<SmallVector<KernelOp>> runKernels(ModuleOp module) {
  auto funcs = module.getOps<func::FuncOp>();
  if (std::distance(funcs.begin(), funcs.end()) != 1)
    return llvm::createStringError("expected exactly one block function in the module");
  SmallVector<KernelOp> kernels;
  (*funcs.begin()).walk([&](KernelOp kernel) {
    if (kernel.getKind() != KernelKind::Prepare)
      kernels.push_back(kernel);
  });
  return kernels;
}

} // namespace

llvm::Expected<std::string> blockc::resolvedTargetString(const std::string &target) {
  llvm::Expected<TargetInfo> info = resolveTarget(target);
  if (!info)
    return info.takeError();
  return info->halide.to_string();
}

llvm::Expected<bool> blockc::isGpuTarget(const std::string &target) {
  llvm::Expected<TargetInfo> info = resolveTarget(target);
  if (!info)
    return info.takeError();
  return info->isGpu();
}

llvm::Expected<std::vector<KernelTask>> blockc::listKernelTasks(ModuleOp module,
                                                                 const std::string &target) {
  llvm::Expected<TargetInfo> info = resolveTarget(target);
  if (!info)
    return info.takeError();
  auto kernels = runKernels(module);
  if (!kernels)
    return kernels.takeError();
  std::vector<KernelTask> tasks;
  for (KernelOp kernel : *kernels) {
    std::string signature = kernelSignature(kernel);
    auto same = llvm::find_if(tasks, [&](const KernelTask &t) { return t.signature == signature; });
    if (same != tasks.end()) {
      ++same->uses;
      continue;
    }
    llvm::Expected<LoweredKernel> lowered = lowerKernel(kernel, *info);
    if (!lowered)
      return lowered.takeError();
    tasks.push_back(KernelTask{kernel.getSymName().str(), signature, stringifyKernelKind(kernel.getKind()).str(), 1,
                               std::move(lowered->space)});
  }
  return tasks;
}

llvm::Error blockc::compileHalideRuntime(const std::string &target, const std::string &objectPath) {
  llvm::Expected<TargetInfo> info = resolveTarget(target);
  if (!info)
    return info.takeError();
  try {
    Halide::compile_standalone_runtime(objectPath, info->halide);
  } catch (const Halide::Error &e) {
    return llvm::createStringError("Halide runtime: " + std::string(e.what()));
  }
  return llvm::Error::success();
}

llvm::Error blockc::compileStandaloneKernel(ModuleOp module,
                                            const StandaloneKernelOptions &options) {
  llvm::Expected<TargetInfo> target = resolveTarget(options.target);
  if (!target)
    return target.takeError();
  auto kernels = runKernels(module);
  if (!kernels)
    return kernels.takeError();
  auto kernel = llvm::find_if(*kernels, [&](KernelOp k) { return k.getSymName() == options.kernel; });
  if (kernel == kernels->end())
    return llvm::createStringError("the block has no run kernel '" + options.kernel + "'");
  if (auto ec = llvm::sys::fs::create_directories(options.outputDir))
    return llvm::createStringError(ec, "cannot create directory " + options.outputDir);
  auto path = [&](llvm::StringRef file) {
    llvm::SmallString<256> p(options.outputDir);
    llvm::sys::path::append(p, file);
    return std::string(p);
  };

  KernelCompileOptions compile;
  compile.schedule = options.schedule;
  compile.batch = options.batch;
  compile.function = "blockc_kernel";
  compile.outputs = {{Halide::OutputFileType::object, path("kernel.o")}};
  llvm::Expected<LoweredKernel> lowered = compileKernel(*kernel, *target, compile);
  if (!lowered)
    return lowered.takeError();

  std::string runtime = options.runtimeObject;
  if (runtime.empty()) {
    runtime = path("halide_runtime.o");
    if (llvm::Error err = compileHalideRuntime(options.target, runtime))
      return err;
  }
  if (llvm::Error err = linkSharedObject(target->linker, {path("kernel.o"), runtime},
                                         path("kernel.so"), path("link.log")))
    return err;

  json::Array args;
  for (auto [views, output] : {std::pair(&lowered->inputs, false), std::pair(&lowered->outputs, true)})
    for (const ArgView &view : *views) {
      json::Object arg{{"output", output}};
      addViewJson(view, arg);
      if (view.panelWidth)
        arg["panels"] = view.panelWidth;
      if (view.value && view.buffer.type() != Halide::Float(32))
        arg["dtype"] = dtypeName(view.buffer.type());
      args.push_back(std::move(arg));
    }
  json::Object description{{"kernel", options.kernel},
                           {"signature", kernelSignature(*kernel)},
                           {"function", compile.function},
                           {"args", std::move(args)}};
  // Run-time tokens: the kernel is timed at the most tokens a run takes.
  auto func = (*kernel)->getParentOfType<func::FuncOp>();
  if (IntegerAttr maxTokens = BlockcDialect::MaxTokensAttrHelper(func.getContext()).getAttr(func))
    description["tokens"] = maxTokens.getInt();
  std::error_code ec;
  llvm::raw_fd_ostream os(path("kernel.json"), ec);
  if (ec)
    return llvm::createStringError(ec, "cannot write " + path("kernel.json"));
  os << llvm::formatv("{0:2}", json::Value(std::move(description))) << "\n";
  return llvm::Error::success();
}
