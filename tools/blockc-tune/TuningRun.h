//===- TuningRun.h - one run of blockc-tune, in parts -------------*- C++ -*-===//
//
// The state of one tuning run and its parts, each in a file of its own:
//   Tuner.cpp        setting up the run, and its end (summary, exit code)
//   SearchPolicy.cpp which kernel gets the next round, and when the run stops
//   Round.cpp        one round of a kernel: compile its candidates, then check and time them
//   Candidates.cpp   one candidate in a worker: its compile job, its timing and result
//   Confirm.cpp      the finalists timed again, in rotating rounds
//   Records.cpp      trials into the trial log, best schedules into the database, the table
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_TUNINGRUN_H
#define BLOCKC_TUNE_TUNINGRUN_H

#include "Progress.h"
#include "Search.h"
#include "TrialLog.h"
#include "Tuner.h"
#include "Workers.h"

#include "blockc/Lowering/KernelTasks.h"

#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace blockc::tune {

/// One kernel being tuned.
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

/// confirm(): the search's fastest few, timed again with the default in this many rounds;
/// the time a --budget leaves it per kernel (at most 15% of the budget).
constexpr size_t kFinalists = 3;
constexpr int kConfirmRounds = 3;
constexpr double kConfirmSecondsPerKernel = 20;

class TuningRun {
public:
  explicit TuningRun(const TuneOptions &options) : options(options) {}
  int run();

private:
  // Tuner.cpp
  /// Opens the database and the trial log, lists the kernels, makes the work directory;
  /// false (error printed) if the run cannot start.
  bool setUp();
  int finish(bool fatal);
  void error(const std::string &text) {
    if (progress)
      progress->message("blockc-tune: error: " + text);
    else
      llvm::errs() << "blockc-tune: error: " << text << "\n";
  }

  // SearchPolicy.cpp
  /// Tunes the kernels round by round until each is finished or the run stops; false if
  /// a round failed fatally.
  bool tuneKernels();
  KernelRun *nextKernel();
  bool budgetSpent() const { return deadline && Clock::now() >= *deadline; }
  bool stopRequested() const { return interruptSignal() != 0 || budgetSpent(); }
  bool finished(const KernelRun &k) const {
    return k.search.exhausted() || k.defaultFailed ||
           (options.trials && k.trials >= *options.trials);
  }
  void updatePlanned();

  // Round.cpp
  RoundEnd runRound(KernelRun &k);
  /// Compiles the round's candidates not logged yet, and the default into `referenceDir`
  /// if that is not empty; the end of the round if compiling ended it.
  std::optional<RoundEnd> compileRound(KernelRun &k, std::vector<Pending> &pending,
                                       const std::vector<size_t> &toCompile,
                                       const std::string &referenceDir);

  // Candidates.cpp
  bool ensureRuntime();
  WorkerJob compileJob(const KernelRun &k, const ScheduleChoice &schedule,
                       const std::string &dir, int64_t trial) const;
  /// Checks (or writes the reference) and times the kernel compiled in `dir`.
  TrialResult timeCandidate(KernelRun &k, const std::string &dir, bool isDefault, bool timeIt,
                            int64_t trial, bool &cancelled);

  // Confirm.cpp
  void confirm(KernelRun &k);

  // Records.cpp
  void recordTrial(KernelRun &k, const Pending &p, const TrialResult &result, bool replayed);
  bool saveRecord(const KernelRun &k);
  /// A trial-log line or a database record naming `k` in this run: the fields they share.
  template <typename Record> Record recordOf(const KernelRun &k) const;
  void printSummary();

  const TuneOptions &options;
  std::string resolvedTarget, machine, self, workDir, runtimeObject;
  bool gpu = false, runtimeFailed = false;
  std::optional<Clock::time_point> deadline;
  std::vector<KernelRun> kernels;
  std::optional<TrialLog> log;
  std::optional<Progress> progress;
  int64_t measuredThisRun = 0, replayedThisRun = 0;
};

} // namespace blockc::tune

#endif // BLOCKC_TUNE_TUNINGRUN_H
