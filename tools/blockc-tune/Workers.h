//===- Workers.h - worker processes with time limits --------------*- C++ -*-===//
//
// The tuner compiles and times candidates in worker processes (this same executable in a
// hidden worker mode), so that a candidate that crashes or hangs cannot take the tuner
// with it. Each worker runs in its own process group: a Ctrl-C on the terminal reaches
// only the tuner, which then kills its workers (the whole group) itself. A worker that
// outlives its time limit is killed the same way. Workers die with the tuner
// (PR_SET_PDEATHSIG).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_WORKERS_H
#define BLOCKC_TUNE_WORKERS_H

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace blockc::tune {

using Clock = std::chrono::steady_clock;

/// Installs SIGINT and SIGTERM handlers that only set a flag (a second signal terminates
/// at once).
void installInterruptHandlers();
/// The signal that asked the tuner to stop, or 0.
int interruptSignal();

/// This executable (/proc/self/exe), to start workers with.
std::string selfExecutable();

/// Called first in worker mode: the worker is killed when the tuner dies.
void becomeWorker();

struct WorkerJob {
  std::vector<std::string> argv; // argv[0] is the executable
  std::string logPath;           // receives stdout and stderr
  double timeLimitS = 60;
};

struct WorkerOutcome {
  enum Kind {
    Exited,     // `code` is the exit status
    Signaled,   // `code` is the signal
    TimedOut,   // killed at its time limit
    Cancelled,  // not started, or killed, because of an interrupt or the deadline
    SpawnFailed // `error` says why
  } kind = Cancelled;
  int code = 0;
  double seconds = 0;
  std::string error;
};

/// Runs `jobs`, at most `parallel` at once, in their order. Stops starting jobs and kills
/// the running ones when the tuner is interrupted or `deadline` passes (those are
/// Cancelled). `tick` is called about twice a second while waiting.
std::vector<WorkerOutcome> runWorkers(const std::vector<WorkerJob> &jobs, int parallel,
                                      std::optional<Clock::time_point> deadline = std::nullopt,
                                      const std::function<void()> &tick = {});

/// "exited with status 1", "killed by signal 6 (SIGABRT)", "killed after 60 s (its time
/// limit)".
std::string describeOutcome(const WorkerOutcome &outcome);

/// The last `maxChars` characters of a worker's log, trimmed ("" if none).
std::string logTail(const std::string &path, size_t maxChars = 800);

} // namespace blockc::tune

#endif // BLOCKC_TUNE_WORKERS_H
