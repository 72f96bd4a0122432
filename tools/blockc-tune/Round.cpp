//===- Round.cpp - one round of a kernel ----------------------------------===//
//
// A round takes the search's next candidates. Those the trial log has already measured
// (under the same kernel, target, machine, batch and seed) are replayed from it; the
// others are compiled in parallel workers, then checked against the reference and timed
// one at a time.
//
//===----------------------------------------------------------------------===//
#include "TuningRun.h"

#include "llvm/Support/FileSystem.h"

#include <algorithm>

using namespace blockc;
using namespace blockc::tune;

RoundEnd TuningRun::runRound(KernelRun &k) {
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
  if (!toCompile.empty() && !k.referenceReady && !defaultInRound)
    referenceDir = k.workDir + "/reference";
  if (!toCompile.empty())
    if (std::optional<RoundEnd> end = compileRound(k, pending, toCompile, referenceDir))
      return *end;

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

std::optional<RoundEnd> TuningRun::compileRound(KernelRun &k, std::vector<Pending> &pending,
                                                const std::vector<size_t> &toCompile,
                                                const std::string &referenceDir) {
  if (!ensureRuntime())
    return RoundEnd::Fatal;
  const bool needReference = !referenceDir.empty();
  std::vector<WorkerJob> jobs;
  if (needReference) {
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
  std::vector<WorkerOutcome> outcomes =
      runWorkers(jobs, options.jobs, deadline, [&] { progress->tick(); });
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
  return std::nullopt;
}
