//===- Records.cpp - what a run writes down -------------------------------===//
//
// Every measured trial goes to the trial log as it is measured; after each round (and
// after confirm()) the kernel's best schedule goes to the database; at the end, a table
// of the kernels.
//
//===----------------------------------------------------------------------===//
#include "Report.h"
#include "TuningRun.h"

#include "blockc/Schedule/TuningDatabase.h"

using namespace blockc;
using namespace blockc::tune;

template <typename Record> Record TuningRun::recordOf(const KernelRun &k) const {
  Record record;
  record.signature = k.task.signature;
  record.kernel = k.task.name;
  record.kind = k.task.kind;
  record.target = resolvedTarget;
  record.machine = machine;
  record.batch = options.batch;
  return record;
}

void TuningRun::recordTrial(KernelRun &k, const Pending &p, const TrialResult &result,
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
  TrialEntry entry = recordOf<TrialEntry>(k);
  entry.seed = options.seed;
  entry.trial = p.trial;
  entry.schedule = p.candidate.schedule;
  entry.origin = p.candidate.origin;
  entry.result = result;
  if (llvm::Error err = log->append(entry))
    error(llvm::toString(std::move(err)));
}

bool TuningRun::saveRecord(const KernelRun &k) {
  if (!k.defaultTimeUs || !k.best || (k.newTrials == 0 && !k.confirmed))
    return true;
  TuningRecord record = recordOf<TuningRecord>(k);
  record.schedule = k.best->schedule;
  record.timeUs = k.bestTimeUs;
  record.defaultTimeUs = *k.defaultTimeUs;
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

void TuningRun::printSummary() {
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
