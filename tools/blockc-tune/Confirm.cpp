//===- Confirm.cpp - the finalists timed again ----------------------------===//
//
// A search's best time is one measurement among many, and the fastest of many noisy
// measurements is biased low. So at the end of a run the default and the search's
// fastest few are compiled again and timed in rounds that rotate their order; the
// medians decide the kernel's record.
//
//===----------------------------------------------------------------------===//
#include "TuningRun.h"

#include "llvm/Support/FileSystem.h"

#include <algorithm>

using namespace blockc;
using namespace blockc::tune;

void TuningRun::confirm(KernelRun &k) {
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
