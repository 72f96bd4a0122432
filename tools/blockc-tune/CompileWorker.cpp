//===- CompileWorker.cpp - the compile worker -----------------------------===//
#include "CompileWorker.h"

#include "blockc/Driver.h"
#include "blockc/Lowering/KernelTasks.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdlib>
#include <thread>

using namespace blockc;
using namespace blockc::tune;

int blockc::tune::runCompileWorker(const CompileWorkerOptions &options) {
  if (options.inject == "crash")
    std::abort();
  if (options.inject == "hang")
    for (;;)
      std::this_thread::sleep_for(std::chrono::hours(1));

  llvm::Expected<llvm::json::Value> json = llvm::json::parse(options.scheduleJson);
  if (!json) {
    llvm::errs() << "bad schedule: " << llvm::toString(json.takeError()) << "\n";
    return 1;
  }
  llvm::Expected<ScheduleChoice> schedule = ScheduleChoice::fromJson(*json);
  if (!schedule) {
    llvm::errs() << "bad schedule: " << llvm::toString(schedule.takeError()) << "\n";
    return 1;
  }
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      loadBlock(options.specPath, context, nullptr, false, options.precision);
  if (!module)
    return 1; // diagnostics are on stderr
  StandaloneKernelOptions standalone;
  standalone.target = options.target;
  standalone.kernel = options.kernel;
  standalone.schedule = std::move(*schedule);
  standalone.outputDir = options.outputDir;
  standalone.runtimeObject = options.runtimeObject;
  standalone.batch = options.batch;
  if (llvm::Error err = compileStandaloneKernel(*module, standalone)) {
    llvm::errs() << llvm::toString(std::move(err)) << "\n";
    return 1;
  }
  return 0;
}

int blockc::tune::compileRuntime(const std::string &target, const std::string &objectPath) {
  if (llvm::Error err = compileHalideRuntime(target, objectPath)) {
    llvm::errs() << llvm::toString(std::move(err)) << "\n";
    return 1;
  }
  return 0;
}
