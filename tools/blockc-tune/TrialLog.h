//===- TrialLog.h - one JSON line per measured candidate ----------*- C++ -*-===//
//
// DB + ".trials": every candidate blockc-tune measured, appended as it is measured
// (docs/tuning.md, "Trial log"). A rerun of the same command takes the logged result of a
// candidate logged under the same (signature, target, machine, batch, seed) instead of
// measuring it again; that is how a run resumes.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_TRIALLOG_H
#define BLOCKC_TUNE_TRIALLOG_H

#include "blockc/Schedule/ScheduleChoice.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace blockc::tune {

/// A time in microseconds as the trial log keeps it: to the nanosecond. The tuner rounds
/// what it measures the same way, so that a resumed run, which reads the times from the
/// log, makes the same decisions as the run that measured them.
double roundedTime(double us);

/// What a trial measured.
struct TrialResult {
  std::string status = "ok"; // ok, wrong, compile_failed, crashed, timeout
  std::optional<double> timeUs, spreadUs;
  std::string message;
  double elapsedS = 0; // compile + timing wall time (not in the spec'd format: extra field)
  bool ok() const { return status == "ok" && timeUs.has_value(); }
};

struct TrialEntry {
  std::string signature, kernel, kind, target, machine;
  int64_t batch = 1;
  uint64_t seed = 0;
  int64_t trial = 0;
  ScheduleChoice schedule;
  std::string origin;
  TrialResult result;

  /// One line of the log (no newline), keys in the documented order.
  std::string toLine() const;
  static llvm::Expected<TrialEntry> fromJson(const llvm::json::Value &value);
};

/// The statuses a trial can have.
bool isTrialStatus(const std::string &status);

class TrialLog {
public:
  /// Reads the log at `path` if it exists (a missing file is an empty log). A last line
  /// cut short (the tuner killed while writing) is ignored with a warning in `warning`;
  /// any other bad line is an error naming the file and line.
  static llvm::Expected<TrialLog> open(const std::string &path, std::string *warning = nullptr);

  /// The logged result of `schedule` (its key()) under this context, or null.
  const TrialEntry *find(const std::string &signature, const std::string &target,
                         const std::string &machine, int64_t batch, uint64_t seed,
                         const ScheduleChoice &schedule) const;
  /// Appends `entry` as one line and flushes it to the file.
  llvm::Error append(const TrialEntry &entry);
  size_t size() const { return entries.size(); }
  const std::string &path() const { return file; }

private:
  using Context = std::tuple<std::string, std::string, std::string, int64_t, uint64_t,
                             std::string>;
  std::string file;
  std::vector<TrialEntry> entries;
  std::map<Context, size_t> index; // the first entry of each (context, key)
};

} // namespace blockc::tune

#endif // BLOCKC_TUNE_TRIALLOG_H
