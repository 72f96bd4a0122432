//===- Tuner.cpp - blockc-tune's tuning run -------------------------------===//
//
// Kernels are tuned in rounds. First every kernel's round 0 (its default first: the
// default's outputs are the reference every other candidate is checked against, and its
// time weighs the kernel), then more rounds: with --trials, to the kernel with the fewest
// trials; with --budget, to the kernel with the least tuning time spent relative to its
// weight (default time x uses), until the budget is spent. A round compiles its
// candidates in parallel workers, then times them one by one, never while compiling.
//
//===----------------------------------------------------------------------===//
#include "Tuner.h"

#include "Progress.h"
#include "Report.h"
#include "Search.h"
#include "TrialLog.h"
#include "Workers.h"

#include "blockc/Driver.h"
#include "blockc/Lowering/KernelTasks.h"
#include "blockc/Schedule/TuningDatabase.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <limits>

using namespace blockc;
using namespace blockc::tune;

namespace {

bool isGpuTarget(const std::string &resolved) {
  llvm::SmallVector<llvm::StringRef, 16> parts;
  llvm::StringRef(resolved).split(parts, '-');
  for (llvm::StringRef p : parts)
    if (p == "cuda" || p == "opencl" || p == "metal" || p == "vulkan" || p == "webgpu" ||
        p == "d3d12compute")
      return true;
  return false;
}

std::string jsonText(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << value;
  os.flush();
  return text;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}


/// A time as the trial log keeps it: to the nanosecond.
double roundedTime(double us) { return std::round(us * 1000) / 1000; }

/// confirm(): the search's fastest few, timed again with the default in this many rounds;
/// the time a --budget leaves it per kernel (at most 15% of the budget).
constexpr size_t kFinalists = 3;
constexpr int kConfirmRounds = 3;
constexpr double kConfirmSecondsPerKernel = 20;

struct KernelRun {
  KernelTask task;
  size_t index = 0;
  Search search;
  std::string workDir;
  int64_t trials = 0, failures = 0, newTrials = 0;
  std::optional<double> defaultTimeUs;
  std::optional<Candidate> best;
  double bestTimeUs = 0;
  bool defaultFailed = false;
  std::string defaultMessage;
  bool referenceReady = false;
  double spentS = 0;
  /// The ok candidates other than the default, with their search times.
  std::vector<std::pair<double, Candidate>> okCandidates;
  bool confirmed = false; // best and default times are from confirm()

  KernelRun(KernelTask t, size_t index, uint64_t seed, bool gpu, std::string workDir)
      : task(std::move(t)), index(index),
        search(task.space, autoschedulersFor(gpu), seed, task.signature),
        workDir(std::move(workDir)) {}
  std::string referencePath() const { return workDir + "/reference.bin"; }
  std::optional<double> speedup() const {
    if (!defaultTimeUs || !best || bestTimeUs <= 0)
      return std::nullopt;
    return *defaultTimeUs / bestTimeUs;
  }
};

/// A candidate of the round being measured.
struct Pending {
  Candidate candidate;
  int64_t trial = 0;
  const TrialEntry *logged = nullptr;
  std::string dir;
  bool cancelled = false;            // cut by an interrupt or the deadline: not logged
  std::optional<TrialResult> failed; // failed to compile
  double compileS = 0;
};

enum class RoundEnd { Done, Stopped, Fatal };

class Tuner {
public:
  explicit Tuner(const TuneOptions &options) : options(options) {}
  int run();

private:
  bool budgetSpent() const { return deadline && Clock::now() >= *deadline; }
  bool stopRequested() const { return interruptSignal() != 0 || budgetSpent(); }
  bool finished(const KernelRun &k) const {
    return k.search.exhausted() || k.defaultFailed || (options.trials && k.trials >= *options.trials);
  }
  void updatePlanned();
  RoundEnd runRound(KernelRun &k);
  void confirm(KernelRun &k);
  bool ensureRuntime();
  WorkerJob compileJob(const KernelRun &k, const ScheduleChoice &schedule, const std::string &dir,
                       int64_t trial) const;
  /// Checks (or writes the reference) and times the kernel compiled in `dir`.
  TrialResult timeCandidate(KernelRun &k, const std::string &dir, bool isDefault, bool timeIt,
                            int64_t trial, bool &cancelled);
  void recordTrial(KernelRun &k, const Pending &p, const TrialResult &result, bool replayed);
  bool saveRecord(const KernelRun &k);
  void printSummary();
  void error(const std::string &text) {
    if (progress)
      progress->message("blockc-tune: error: " + text);
    else
      llvm::errs() << "blockc-tune: error: " << text << "\n";
  }

  const TuneOptions &options;
  std::string resolvedTarget, machine, self, workDir, runtimeObject;
  bool gpu = false, runtimeFailed = false;
  std::optional<Clock::time_point> deadline;
  std::vector<KernelRun> kernels;
  std::optional<TrialLog> log;
  std::optional<Progress> progress;
  int64_t measuredThisRun = 0, replayedThisRun = 0;
};

int Tuner::run() {
  installInterruptHandlers();
  self = selfExecutable();
  llvm::Expected<std::string> resolved = resolvedTargetString(options.target);
  if (!resolved) {
    error(llvm::toString(resolved.takeError()));
    return 1;
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
      return 1;
    }
  }
  gpu = isGpuTarget(resolvedTarget);
  machine = currentMachine();

  // The database must be readable before any time is spent.
  {
    llvm::Expected<TuningDatabase> db = TuningDatabase::loadOrEmpty(options.dbPath);
    if (!db) {
      error(llvm::toString(db.takeError()));
      return 1;
    }
  }
  std::string warning;
  llvm::Expected<TrialLog> opened = TrialLog::open(options.dbPath + ".trials", &warning);
  if (!opened) {
    error(llvm::toString(opened.takeError()));
    return 1;
  }
  log.emplace(std::move(*opened));
  if (!warning.empty())
    llvm::errs() << "blockc-tune: warning: " << warning << "\n";

  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module = loadBlock(options.specPath, context);
  if (!module)
    return 1; // diagnostics printed
  llvm::Expected<std::vector<KernelTask>> tasks = listKernelTasks(*module, options.target);
  if (!tasks) {
    error(llvm::toString(tasks.takeError()));
    return 1;
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
      return 1;
    }
    *tasks = std::move(only);
  }
  if (tasks->empty()) {
    error("the block has no kernels to tune");
    return 1;
  }

  workDir = options.dbPath + ".work";
  llvm::sys::fs::remove_directories(workDir); // what a killed run left behind
  if (std::error_code ec = llvm::sys::fs::create_directories(workDir)) {
    error("cannot create " + workDir + ": " + ec.message());
    return 1;
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
  {
    std::string header = "blockc-tune: " + std::to_string(kernels.size()) + " kernel" +
                         (kernels.size() == 1 ? "" : "s") + " of " + options.specPath +
                         " for " + resolvedTarget + " on " + machine + ", batch " +
                         std::to_string(options.batch) + ", seed " +
                         std::to_string(options.seed) + "; ";
    header += options.trials ? std::to_string(*options.trials) + " trials per kernel"
                             : "budget " + formatDuration(*options.budgetMinutes * 60.0);
    if (log->size())
      header += "; " + std::to_string(log->size()) + " trials logged in " + log->path();
    progress->message(header);
  }

  bool fatal = false;
  // Round 0 of every kernel: its default (the reference and the kernel's weight) and the
  // seeding candidates.
  for (KernelRun &k : kernels) {
    if (stopRequested() || fatal)
      break;
    if (!finished(k))
      fatal = runRound(k) == RoundEnd::Fatal;
  }
  // Then the kernel that is furthest behind its share.
  while (!stopRequested() && !fatal) {
    KernelRun *next = nullptr;
    double nextScore = 0;
    for (KernelRun &k : kernels) {
      if (finished(k))
        continue;
      double score;
      if (options.trials) {
        score = static_cast<double>(k.trials);
      } else {
        const double weight =
            std::max(1e-3, k.defaultTimeUs.value_or(1.0) * std::max(1, k.task.uses));
        score = k.spentS / weight;
      }
      if (!next || score < nextScore) {
        next = &k;
        nextScore = score;
      }
    }
    if (!next)
      break;
    fatal = runRound(*next) == RoundEnd::Fatal;
  }

  if (!interruptSignal() && !fatal)
    for (KernelRun &k : kernels)
      if (!interruptSignal())
        confirm(k);
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

void Tuner::updatePlanned() {
  if (!options.trials)
    return;
  int64_t planned = 0;
  for (const KernelRun &k : kernels)
    planned += finished(k) ? k.trials : *options.trials;
  progress->setPlanned(planned);
}

bool Tuner::ensureRuntime() {
  if (!runtimeObject.empty())
    return true;
  if (runtimeFailed)
    return false;
  progress->setCurrent("", "compiling Halide's runtime");
  progress->tick(true);
  const std::string path = workDir + "/halide_runtime.o";
  if (llvm::Error err = compileHalideRuntime(options.target, path)) {
    error("cannot compile Halide's runtime for " + options.target + ": " +
          llvm::toString(std::move(err)));
    runtimeFailed = true;
    return false;
  }
  runtimeObject = path;
  return true;
}

WorkerJob Tuner::compileJob(const KernelRun &k, const ScheduleChoice &schedule,
                            const std::string &dir, int64_t trial) const {
  WorkerJob job;
  job.argv = {self,        "__compile", "--spec",     options.specPath,
              "--target",  options.target, "--kernel", k.task.name,
              "--schedule", jsonText(schedule.toJson()), "--out", dir,
              "--runtime", runtimeObject, "--batch", std::to_string(options.batch)};
  auto fault = options.faults.find(trial);
  if (trial >= 0 && fault != options.faults.end() && fault->second.rfind("compile-", 0) == 0) {
    job.argv.push_back("--inject");
    job.argv.push_back(fault->second.substr(8));
  }
  job.logPath = dir + "/compile.log";
  job.timeLimitS = options.compileTimeoutS;
  return job;
}

TrialResult Tuner::timeCandidate(KernelRun &k, const std::string &dir, bool isDefault,
                                 bool timeIt, int64_t trial, bool &cancelled) {
  WorkerJob job;
  const std::string resultPath = dir + "/result.json";
  job.argv = {self, "__time", "--dir", dir, "--batch", std::to_string(options.batch),
              "--reference", k.referencePath(), "--result", resultPath};
  if (isDefault)
    job.argv.push_back("--write-reference");
  if (!timeIt)
    job.argv.push_back("--no-time");
  if (options.threads > 0) {
    job.argv.push_back("--threads");
    job.argv.push_back(std::to_string(options.threads));
  }
  auto fault = options.faults.find(trial);
  if (trial >= 0 && fault != options.faults.end() &&
      (fault->second == "crash" || fault->second == "hang")) {
    job.argv.push_back("--inject");
    job.argv.push_back(fault->second);
  }
  job.logPath = dir + "/time.log";
  job.timeLimitS = options.runTimeoutS;
  WorkerOutcome outcome =
      runWorkers({job}, 1, std::nullopt, [&] { progress->tick(); }).front();
  TrialResult result;
  result.elapsedS = outcome.seconds;
  cancelled = outcome.kind == WorkerOutcome::Cancelled;
  if (cancelled)
    return result;
  const std::string tail = logTail(job.logPath);
  if (outcome.kind == WorkerOutcome::TimedOut) {
    result.status = "timeout";
    result.message = "timing worker " + describeOutcome(outcome);
    return result;
  }
  if (outcome.kind != WorkerOutcome::Exited || outcome.code != 0) {
    result.status = "crashed";
    result.message = "timing worker " + describeOutcome(outcome) + (tail.empty() ? "" : ": " + tail);
    return result;
  }
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(resultPath);
  llvm::Expected<llvm::json::Value> value =
      buffer ? llvm::json::parse((*buffer)->getBuffer())
             : llvm::Expected<llvm::json::Value>(
                   llvm::createStringError(buffer.getError(), "no result file"));
  const llvm::json::Object *object = value ? value->getAsObject() : nullptr;
  if (!object) {
    if (!value)
      llvm::consumeError(value.takeError());
    result.status = "crashed";
    result.message = "timing worker exited without a result" + (tail.empty() ? "" : ": " + tail);
    return result;
  }
  result.status = object->getString("status").value_or("crashed").str();
  result.message = object->getString("message").value_or("").str();
  // Rounded as the trial log writes them, so that a resumed run, which reads them from the
  // log, makes the same decisions as the run that measured them.
  if (std::optional<double> t = object->getNumber("time_us"))
    result.timeUs = roundedTime(*t);
  if (std::optional<double> s = object->getNumber("spread_us"))
    result.spreadUs = roundedTime(*s);
  if (result.status == "ok" && timeIt && !result.timeUs) {
    result.status = "crashed";
    result.message = "timing worker reported no time";
  }
  return result;
}

void Tuner::recordTrial(KernelRun &k, const Pending &p, const TrialResult &result,
                        bool replayed) {
  const bool ok = result.ok();
  k.search.record(p.candidate, ok, ok ? *result.timeUs : 0);
  ++k.trials;
  k.spentS += roundedTime(result.elapsedS * 1000) / 1000; // as logged, in seconds
  progress->addTrial();
  if (!ok)
    ++k.failures;
  const bool isDefault = p.candidate.origin == "default";
  if (isDefault) {
    if (ok) {
      k.defaultTimeUs = *result.timeUs;
    } else {
      k.defaultFailed = true;
      k.defaultMessage = result.status + ": " + result.message;
      progress->message("blockc-tune: " + k.task.name + ": the default schedule failed (" +
                        result.status + "): " + result.message + "\n  " + k.task.name +
                        " cannot be tuned without it");
    }
  }
  if (ok && !isDefault)
    k.okCandidates.emplace_back(*result.timeUs, p.candidate);
  if (ok && (!k.best || *result.timeUs < k.bestTimeUs)) {
    k.best = p.candidate;
    k.bestTimeUs = *result.timeUs;
  }
  progress->setSpeedup(k.index, k.speedup());
  if (replayed) {
    ++replayedThisRun;
    return;
  }
  ++measuredThisRun;
  ++k.newTrials;
  if (!ok && !isDefault)
    progress->message(k.task.name + " trial " + std::to_string(p.trial) + " (" +
                      p.candidate.origin + ", " + p.candidate.schedule.describe() +
                      "): " + result.status +
                      (result.message.empty() ? "" : ": " + result.message.substr(0, 300)));
  TrialEntry entry;
  entry.signature = k.task.signature;
  entry.kernel = k.task.name;
  entry.kind = k.task.kind;
  entry.target = resolvedTarget;
  entry.machine = machine;
  entry.batch = options.batch;
  entry.seed = options.seed;
  entry.trial = p.trial;
  entry.schedule = p.candidate.schedule;
  entry.origin = p.candidate.origin;
  entry.result = result;
  if (llvm::Error err = log->append(entry))
    error(llvm::toString(std::move(err)));
}

RoundEnd Tuner::runRound(KernelRun &k) {
  std::vector<Candidate> round = k.search.nextRound();
  if (round.empty()) {
    updatePlanned();
    return RoundEnd::Done;
  }
  if (options.trials && static_cast<int64_t>(round.size()) > *options.trials - k.trials)
    round.resize(static_cast<size_t>(std::max<int64_t>(0, *options.trials - k.trials)));

  std::vector<Pending> pending;
  std::vector<size_t> toCompile;
  for (size_t i = 0; i < round.size(); ++i) {
    Pending p;
    p.candidate = round[i];
    p.trial = k.trials + static_cast<int64_t>(i);
    p.logged = log->find(k.task.signature, resolvedTarget, machine, options.batch,
                         options.seed, p.candidate.schedule);
    if (!p.logged) {
      p.dir = k.workDir + "/t" + std::to_string(p.trial);
      toCompile.push_back(i);
    }
    pending.push_back(std::move(p));
  }

  // The reference: the default's outputs, needed before any other candidate is checked.
  // The default writes it when it is measured; a resumed run compiles it again.
  std::string referenceDir;
  const bool defaultInRound =
      !toCompile.empty() && pending[toCompile.front()].candidate.origin == "default";
  const bool needReference = !toCompile.empty() && !k.referenceReady && !defaultInRound;

  std::vector<WorkerOutcome> outcomes;
  if (!toCompile.empty()) {
    if (!ensureRuntime())
      return RoundEnd::Fatal;
    std::vector<WorkerJob> jobs;
    if (needReference) {
      referenceDir = k.workDir + "/reference";
      llvm::sys::fs::create_directories(referenceDir);
      jobs.push_back(compileJob(k, k.search.defaultChoice(), referenceDir, -1));
    }
    for (size_t i : toCompile) {
      llvm::sys::fs::remove_directories(pending[i].dir);
      llvm::sys::fs::create_directories(pending[i].dir);
      jobs.push_back(compileJob(k, pending[i].candidate.schedule, pending[i].dir,
                                pending[i].trial));
    }
    progress->setCurrent(k.task.name, "(" + k.task.kind + ") compiling " +
                                          std::to_string(jobs.size()));
    progress->tick(true);
    outcomes = runWorkers(jobs, options.jobs, deadline, [&] { progress->tick(); });
    for (const WorkerOutcome &o : outcomes)
      if (o.kind == WorkerOutcome::SpawnFailed) {
        error(o.error);
        return RoundEnd::Fatal;
      }
    size_t at = needReference ? 1 : 0;
    for (size_t i : toCompile) {
      const WorkerOutcome &o = outcomes[at++];
      Pending &p = pending[i];
      p.compileS = o.seconds;
      if (o.kind == WorkerOutcome::Cancelled) {
        p.cancelled = true;
        continue;
      }
      if (o.kind == WorkerOutcome::Exited && o.code == 0)
        continue;
      TrialResult failure;
      failure.elapsedS = o.seconds;
      const std::string tail = logTail(p.dir + "/compile.log");
      if (o.kind == WorkerOutcome::TimedOut) {
        failure.status = "timeout";
        failure.message = "compile worker " + describeOutcome(o);
      } else if (o.kind == WorkerOutcome::Signaled) {
        failure.status = "crashed";
        failure.message = "compile worker " + describeOutcome(o) + (tail.empty() ? "" : ": " + tail);
      } else {
        failure.status = "compile_failed";
        failure.message = tail.empty() ? "compile worker " + describeOutcome(o) : tail;
      }
      p.failed = failure;
    }
    if (needReference) {
      const WorkerOutcome &o = outcomes.front();
      if (o.kind == WorkerOutcome::Cancelled) {
        // Nothing can be checked: the whole round waits for the next run.
        for (size_t i : toCompile)
          pending[i].cancelled = true;
      } else if (o.kind != WorkerOutcome::Exited || o.code != 0) {
        k.defaultFailed = true;
        k.defaultMessage = "the default schedule no longer compiles (" + describeOutcome(o) +
                           "): " + logTail(referenceDir + "/compile.log");
        progress->message("blockc-tune: " + k.task.name + ": " + k.defaultMessage);
        return RoundEnd::Done;
      }
    }
  }

  progress->setCurrent(k.task.name, "(" + k.task.kind + ") timing");
  bool stopped = false;
  for (Pending &p : pending) {
    if (p.logged) {
      recordTrial(k, p, p.logged->result, /*replayed=*/true);
      if (k.defaultFailed)
        break;
      continue;
    }
    if (p.cancelled || interruptSignal()) {
      stopped = true;
      break;
    }
    TrialResult result;
    if (p.failed) {
      result = *p.failed;
    } else {
      const bool isDefault = p.candidate.origin == "default";
      if (!isDefault && !k.referenceReady) {
        bool cancelled = false;
        progress->tick(true);
        TrialResult ref = timeCandidate(k, referenceDir, true, false, -1, cancelled);
        if (cancelled) {
          stopped = true;
          break;
        }
        if (ref.status != "ok") {
          k.defaultFailed = true;
          k.defaultMessage = "the default schedule failed to run for the reference (" +
                             ref.status + "): " + ref.message;
          progress->message("blockc-tune: " + k.task.name + ": " + k.defaultMessage);
          break;
        }
        k.referenceReady = true;
      }
      bool cancelled = false;
      progress->tick(true);
      result = timeCandidate(k, p.dir, isDefault, true, p.trial, cancelled);
      if (cancelled) {
        stopped = true;
        break;
      }
      result.elapsedS += p.compileS;
      if (isDefault && result.ok())
        k.referenceReady = true;
    }
    recordTrial(k, p, result, /*replayed=*/false);
    if (!options.keepWork)
      llvm::sys::fs::remove_directories(p.dir);
    if (k.defaultFailed)
      break;
  }
  if (!options.keepWork)
    for (Pending &p : pending)
      if (!p.dir.empty())
        llvm::sys::fs::remove_directories(p.dir);
  updatePlanned();
  progress->roundDone();
  if (!saveRecord(k))
    return RoundEnd::Fatal;
  return stopped ? RoundEnd::Stopped : RoundEnd::Done;
}

void Tuner::confirm(KernelRun &k) {
  if (k.defaultFailed || !k.defaultTimeUs || k.okCandidates.empty() || k.newTrials == 0)
    return;
  // The default and the fastest few of the search, each compiled again.
  std::stable_sort(k.okCandidates.begin(), k.okCandidates.end(),
                   [](const auto &a, const auto &b) { return a.first < b.first; });
  std::vector<Candidate> finalists = {Candidate{k.search.defaultChoice(), "default"}};
  for (size_t i = 0; i < k.okCandidates.size() && finalists.size() <= kFinalists; ++i)
    finalists.push_back(k.okCandidates[i].second);
  if (!ensureRuntime())
    return;
  std::vector<WorkerJob> jobs;
  std::vector<std::string> dirs;
  for (size_t i = 0; i < finalists.size(); ++i) {
    dirs.push_back(k.workDir + "/confirm" + std::to_string(i));
    llvm::sys::fs::remove_directories(dirs.back());
    llvm::sys::fs::create_directories(dirs.back());
    jobs.push_back(compileJob(k, finalists[i].schedule, dirs.back(), -1));
  }
  progress->setCurrent(k.task.name, "(" + k.task.kind + ") confirming " +
                                        std::to_string(finalists.size()) + " finalists");
  progress->tick(true);
  std::vector<WorkerOutcome> outcomes =
      runWorkers(jobs, options.jobs, std::nullopt, [&] { progress->tick(); });
  for (const WorkerOutcome &o : outcomes)
    if (o.kind != WorkerOutcome::Exited || o.code != 0)
      return; // compiled during the search, so only an interrupt gets here
  // Rounds that time every finalist once, in a rotating order, so that a slow spell of
  // the machine falls on all of them alike; each keeps the median of its rounds.
  std::vector<std::vector<double>> times(finalists.size());
  std::vector<bool> failed(finalists.size(), false); // flaky on a second run: out of the final
  for (int round = 0; round < kConfirmRounds; ++round)
    for (size_t n = 0; n < finalists.size(); ++n) {
      const size_t i = (n + round) % finalists.size();
      if (failed[i])
        continue;
      bool cancelled = false;
      progress->tick(true);
      TrialResult result = timeCandidate(k, dirs[i], /*isDefault=*/i == 0, true, -1, cancelled);
      if (cancelled)
        return;
      failed[i] = !result.ok();
      if (!failed[i])
        times[i].push_back(*result.timeUs);
    }
  if (failed[0])
    return;
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  size_t best = 0;
  for (size_t i = 1; i < finalists.size(); ++i)
    if (!failed[i] && median(times[i]) < median(times[best]))
      best = i;
  k.defaultTimeUs = roundedTime(median(times[0]));
  k.best = finalists[best];
  k.bestTimeUs = roundedTime(median(times[best]));
  k.confirmed = true;
  progress->setSpeedup(k.index, k.speedup());
  if (!options.keepWork)
    for (const std::string &dir : dirs)
      llvm::sys::fs::remove_directories(dir);
  saveRecord(k);
}

bool Tuner::saveRecord(const KernelRun &k) {
  if (!k.defaultTimeUs || !k.best || (k.newTrials == 0 && !k.confirmed))
    return true;
  TuningRecord record;
  record.signature = k.task.signature;
  record.kind = k.task.kind;
  record.kernel = k.task.name;
  record.target = resolvedTarget;
  record.machine = machine;
  record.schedule = k.best->schedule;
  record.timeUs = k.bestTimeUs;
  record.defaultTimeUs = *k.defaultTimeUs;
  record.batch = options.batch;
  record.trials = k.trials;
  record.toolVersion = options.toolVersion;
  llvm::Expected<TuningDatabase> db = TuningDatabase::loadOrEmpty(options.dbPath);
  if (!db) {
    error(llvm::toString(db.takeError()));
    return false;
  }
  // TuningDatabase::add keeps an existing record unless the new one is strictly faster
  // relative to its default; this run's record also replaces one that is as good (the
  // record of the run being resumed, with fewer trials).
  TuningDatabase updated;
  bool keepExisting = false;
  for (const TuningRecord &r : db->records()) {
    if (r.signature == record.signature && r.target == record.target &&
        r.machine == record.machine) {
      // A confirmed record is this machine's latest careful measurement: it always wins.
      keepExisting = !k.confirmed && r.speedup() > record.speedup();
      if (!keepExisting)
        continue;
    }
    updated.add(r);
  }
  if (keepExisting)
    return true;
  updated.add(std::move(record));
  if (llvm::Error err = updated.save(options.dbPath)) {
    error(llvm::toString(std::move(err)));
    return false;
  }
  return true;
}

void Tuner::printSummary() {
  std::vector<std::vector<std::string>> rows = {{"kernel", "kind", "uses", "default us",
                                                 "best us", "speed-up", "trials", "failed",
                                                 "best schedule"}};
  double defaultTotal = 0, bestTotal = 0;
  bool complete = true;
  for (const KernelRun &k : kernels) {
    std::vector<std::string> row = {k.task.name, k.task.kind, std::to_string(k.task.uses)};
    if (k.defaultTimeUs && k.best) {
      row.push_back(fixed(*k.defaultTimeUs, 1));
      row.push_back(fixed(k.bestTimeUs, 1));
      row.push_back(fixed(*k.speedup(), 2) + "x");
      defaultTotal += *k.defaultTimeUs * k.task.uses;
      bestTotal += k.bestTimeUs * k.task.uses;
    } else {
      complete = false;
      row.insert(row.end(), {"-", "-", "-"});
    }
    row.push_back(std::to_string(k.trials));
    row.push_back(std::to_string(k.failures));
    if (k.defaultFailed)
      row.push_back("(default failed)");
    else if (k.best)
      row.push_back(k.best->origin + ": " + k.best->schedule.describe() +
                    (k.confirmed || k.best->origin == "default" ? "" : " (unconfirmed)"));
    else
      row.push_back("-");
    rows.push_back(std::move(row));
  }
  // Names and the schedule left-aligned, numbers right-aligned.
  std::vector<bool> rightAligned(rows.front().size(), true);
  rightAligned[0] = rightAligned[1] = rightAligned.back() = false;
  printTable(llvm::outs(), rows, rightAligned);
  if (complete && bestTotal > 0)
    llvm::outs() << "all kernels, weighted by uses: " << fixed(defaultTotal, 1) << " us -> "
                 << fixed(bestTotal, 1) << " us (" << fixed(defaultTotal / bestTotal, 2)
                 << "x)\n";
  llvm::outs() << measuredThisRun << " trials measured in " << formatDuration(progress->elapsedS())
               << ", " << replayedThisRun << " taken from " << log->path() << "; database: "
               << options.dbPath << "\n";
  llvm::outs().flush();
}

} // namespace

int blockc::tune::listKernels(const std::string &specPath, const std::string &target,
                              bool json) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module = loadBlock(specPath, context);
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
  Tuner tuner(options);
  return tuner.run();
}
