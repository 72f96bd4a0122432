//===- TuningDatabase.h - the tuning database ---------------------*- C++ -*-===//
//
// A plain JSON-lines file: one record per (kernel signature, target, machine) with the
// best schedule blockc-tune found, its measured time, the default schedule's time and the
// tool version (docs/tuning.md). Files from several machines merge; the compiler picks
// the record for its target, preferring the machine it runs on.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_SCHEDULE_TUNINGDATABASE_H
#define BLOCKC_SCHEDULE_TUNINGDATABASE_H

#include "blockc/Schedule/ScheduleChoice.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace blockc {

struct TuningRecord {
  std::string signature;   // the kernel's structural signature (kernelSignature)
  std::string kind;        // matmul, attention, norm, elementwise
  std::string kernel;      // a kernel with this signature when it was tuned, for readers
  std::string target;      // the resolved Halide target string
  std::string machine;     // currentMachine() where it was measured
  ScheduleChoice schedule; // the best schedule found
  double timeUs = 0;       // its median time
  double defaultTimeUs = 0;// the default schedule's median time, same machine and run
  int64_t batch = 1;       // the batch size the times are for
  int64_t trials = 0;      // candidates measured for this kernel
  std::string toolVersion; // blockc version that wrote it

  double speedup() const { return timeUs > 0 ? defaultTimeUs / timeUs : 0; }
  llvm::json::Value toJson() const;
  static llvm::Expected<TuningRecord> fromJson(const llvm::json::Value &value);
};

class TuningDatabase {
public:
  /// Reads a database file; errors name the file and line. A missing file is an error.
  static llvm::Expected<TuningDatabase> load(const std::string &path);
  /// Reads `path` if it exists, else an empty database.
  static llvm::Expected<TuningDatabase> loadOrEmpty(const std::string &path);
  /// Adds every record of `other` (see add).
  void merge(const TuningDatabase &other);
  /// Adds `record`, replacing the one with the same (signature, target, machine) when the
  /// new one is faster relative to its default (or that one has no time).
  void add(TuningRecord record);
  /// The record to compile `signature` for `target` with: this machine's if there is one,
  /// else the one with the best speed-up among other machines; null if none.
  const TuningRecord *lookup(const std::string &signature, const std::string &target,
                             const std::string &machine) const;
  /// Writes every record, one JSON object per line, sorted, atomically (temp + rename).
  llvm::Error save(const std::string &path) const;
  const std::vector<TuningRecord> &records() const { return all; }

private:
  std::vector<TuningRecord> all;
};

/// The "schedule" field of a record (and of a trial-log line, which has the same one).
llvm::Error readSchedule(const llvm::json::Object &object, ScheduleChoice &out);

/// This machine, as records name it: the CPU model and its hardware threads
/// ("AMD EPYC 9B45 (2 threads)").
std::string currentMachine();

} // namespace blockc

#endif // BLOCKC_SCHEDULE_TUNINGDATABASE_H
