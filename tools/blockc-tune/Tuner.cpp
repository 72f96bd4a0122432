//===- Tuner.cpp - blockc-tune's tuning run -------------------------------===//
//
// Sets a run up (the target, the database, the trial log, the block's kernels, the work
// directory), tunes the kernels (SearchPolicy.cpp), confirms each kernel's finalists
// (Confirm.cpp), and ends with the summary and the exit code.
//
//===----------------------------------------------------------------------===//
#include "Tuner.h"
#include "TuningRun.h"

#include "blockc/Driver.h"
#include "blockc/Lowering/KernelTasks.h"
#include "blockc/Schedule/TuningDatabase.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"

#include <algorithm>
#include <csignal>

using namespace blockc;
using namespace blockc::tune;

int TuningRun::run() {
  installInterruptHandlers();
  if (!setUp())
    return 1;
  const bool fatal = !tuneKernels();
  if (!interruptSignal() && !fatal)
    for (KernelRun &k : kernels)
      if (!interruptSignal())
        confirm(k);
  return finish(fatal);
}

bool TuningRun::setUp() {
  self = selfExecutable();
  llvm::Expected<std::string> resolved = resolvedTargetString(options.target);
  if (!resolved) {
    error(llvm::toString(resolved.takeError()));
    return false;
  }
  resolvedTarget = *resolved;
  {
#if defined(__x86_64__)
    const char *arch = "x86-64";
#elif defined(__aarch64__)
    const char *arch = "arm-64";
#else
    const char *arch = "";
#endif
    if (*arch && !llvm::StringRef(resolvedTarget).starts_with(arch)) {
      error("target '" + options.target + "' (" + resolvedTarget + ") does not run on this " +
            arch + " machine: blockc-tune measures the candidates where it runs");
      return false;
    }
  }
  llvm::Expected<bool> onGpu = isGpuTarget(options.target);
  if (!onGpu) {
    error(llvm::toString(onGpu.takeError()));
    return false;
  }
  gpu = *onGpu;
  machine = currentMachine();

  // The database must be readable before any time is spent.
  {
    llvm::Expected<TuningDatabase> db = TuningDatabase::loadOrEmpty(options.dbPath);
    if (!db) {
      error(llvm::toString(db.takeError()));
      return false;
    }
  }
  std::string warning;
  llvm::Expected<TrialLog> opened = TrialLog::open(options.dbPath + ".trials", &warning);
  if (!opened) {
    error(llvm::toString(opened.takeError()));
    return false;
  }
  log.emplace(std::move(*opened));
  if (!warning.empty())
    llvm::errs() << "blockc-tune: warning: " << warning << "\n";

  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      loadBlock(options.specPath, context, nullptr, false, options.precision);
  if (!module)
    return false; // diagnostics printed
  llvm::Expected<std::vector<KernelTask>> tasks = listKernelTasks(*module, options.target);
  if (!tasks) {
    error(llvm::toString(tasks.takeError()));
    return false;
  }
  if (!options.kernel.empty()) {
    std::vector<std::string> names;
    std::vector<KernelTask> only;
    for (KernelTask &t : *tasks) {
      names.push_back(t.name);
      if (t.name == options.kernel)
        only.push_back(std::move(t));
    }
    if (only.empty()) {
      error("the block has no tunable kernel named '" + options.kernel + "' (its kernels: " +
            llvm::join(names, ", ") + ")");
      return false;
    }
    *tasks = std::move(only);
  }
  if (tasks->empty()) {
    error("the block has no kernels to tune");
    return false;
  }

  workDir = options.dbPath + ".work";
  llvm::sys::fs::remove_directories(workDir); // what a killed run left behind
  if (std::error_code ec = llvm::sys::fs::create_directories(workDir)) {
    error("cannot create " + workDir + ": " + ec.message());
    return false;
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < tasks->size(); ++i) {
    KernelTask &t = (*tasks)[i];
    names.push_back(t.name);
    std::string dir = workDir + "/" + t.name;
    llvm::sys::fs::create_directories(dir);
    kernels.emplace_back(std::move(t), i, options.seed, gpu, dir);
  }
  progress.emplace(names);
  if (options.budgetMinutes) {
    // The search ends early enough to leave confirm() its share of the budget.
    const double budgetS = *options.budgetMinutes * 60.0;
    const double confirmS = std::min(0.15 * budgetS, kConfirmSecondsPerKernel * kernels.size());
    deadline = Clock::now() + std::chrono::milliseconds(
                                  static_cast<int64_t>((budgetS - confirmS) * 1000.0));
    progress->setBudget(*options.budgetMinutes * 60.0);
  }
  updatePlanned();
  std::string header = "blockc-tune: " + std::to_string(kernels.size()) + " kernel" +
                       (kernels.size() == 1 ? "" : "s") + " of " + options.specPath + " for " +
                       resolvedTarget + " on " + machine + ", batch " +
                       std::to_string(options.batch) + ", seed " +
                       std::to_string(options.seed) + "; ";
  header += options.trials ? std::to_string(*options.trials) + " trials per kernel"
                           : "budget " + formatDuration(*options.budgetMinutes * 60.0);
  if (log->size())
    header += "; " + std::to_string(log->size()) + " trials logged in " + log->path();
  progress->message(header);
  return true;
}

int TuningRun::finish(bool fatal) {
  progress->finish();
  printSummary();
  if (!options.keepWork)
    llvm::sys::fs::remove_directories(workDir);
  if (const int sig = interruptSignal()) {
    llvm::errs() << "blockc-tune: interrupted by " << (sig == SIGINT ? "Ctrl-C" : "SIGTERM")
                 << ": the trials measured so far are in " << log->path()
                 << " and the best schedules in " << options.dbPath
                 << ".\nRun the same command again to resume.\n";
    return kExitInterrupted;
  }
  if (fatal)
    return 1;
  int failedKernels = 0;
  for (const KernelRun &k : kernels)
    failedKernels += k.defaultFailed;
  if (failedKernels) {
    llvm::errs() << "blockc-tune: " << failedKernels << " kernel"
                 << (failedKernels == 1 ? "" : "s")
                 << " could not be tuned: the default schedule failed (see above)\n";
    return 1;
  }
  if (budgetSpent())
    llvm::errs() << "blockc-tune: the budget is spent; run the same command again to go on\n";
  return 0;
}

int blockc::tune::listKernels(const std::string &specPath, const std::string &target,
                              const std::string &precision,
                              bool json) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      loadBlock(specPath, context, nullptr, false, precision);
  if (!module)
    return 1;
  llvm::Expected<std::vector<KernelTask>> tasks = listKernelTasks(*module, target);
  if (!tasks) {
    llvm::errs() << "blockc-tune: error: " << llvm::toString(tasks.takeError()) << "\n";
    return 1;
  }
  for (const KernelTask &t : *tasks) {
    if (json) {
      llvm::json::Array knobs;
      for (const Knob &k : t.space) {
        llvm::json::Array choices;
        for (int64_t c : k.choices)
          choices.push_back(c);
        knobs.push_back(llvm::json::Object{
            {"name", k.name}, {"choices", std::move(choices)}, {"default", k.defaultValue}});
      }
      llvm::outs() << llvm::json::Value(llvm::json::Object{{"kernel", t.name},
                                                           {"kind", t.kind},
                                                           {"uses", t.uses},
                                                           {"signature", t.signature},
                                                           {"knobs", std::move(knobs)}})
                   << "\n";
      continue;
    }
    llvm::outs() << t.name << " (" << t.kind << ", " << t.uses << " use"
                 << (t.uses == 1 ? "" : "s") << "): " << Search(t.space, {}, 0, "").spaceSize()
                 << " knob points\n";
    for (const Knob &k : t.space) {
      llvm::outs() << "  " << k.name << ":";
      for (int64_t c : k.choices)
        llvm::outs() << " " << (c == k.defaultValue ? "[" : "") << c
                     << (c == k.defaultValue ? "]" : "");
      llvm::outs() << "\n";
    }
  }
  return 0;
}

int blockc::tune::runTuner(const TuneOptions &options) {
  TuningRun run(options);
  return run.run();
}
