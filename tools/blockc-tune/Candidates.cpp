//===- Candidates.cpp - one candidate in the workers ----------------------===//
//
// A candidate is compiled by a compile worker into its own directory (with Halide's
// runtime, compiled once per run), then checked and timed there by a timing worker, which
// writes its result to DIR/result.json. The fault injections of --inject-fault ride on
// the requests of the trials they name.
//
//===----------------------------------------------------------------------===//
#include "TuningRun.h"
#include "WorkerRequests.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace blockc;
using namespace blockc::tune;

namespace {
std::string jsonText(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << value;
  os.flush();
  return text;
}
} // namespace

bool TuningRun::ensureRuntime() {
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

WorkerJob TuningRun::compileJob(const KernelRun &k, const ScheduleChoice &schedule,
                                const std::string &dir, int64_t trial) const {
  CompileWorkerOptions request;
  request.specPath = options.specPath;
  request.precision = options.precision;
  request.target = options.target;
  request.kernel = k.task.name;
  request.scheduleJson = jsonText(schedule.toJson());
  request.outputDir = dir;
  request.runtimeObject = runtimeObject;
  request.batch = options.batch;
  auto fault = options.faults.find(trial);
  if (trial >= 0 && fault != options.faults.end() && fault->second.rfind("compile-", 0) == 0)
    request.inject = fault->second.substr(8);
  WorkerJob job;
  job.argv = workerCommand(self, request);
  job.logPath = dir + "/compile.log";
  job.timeLimitS = options.compileTimeoutS;
  return job;
}

TrialResult TuningRun::timeCandidate(KernelRun &k, const std::string &dir, bool isDefault,
                                     bool timeIt, int64_t trial, bool &cancelled) {
  HarnessOptions request;
  request.kernelDir = dir;
  request.batch = options.batch;
  request.referencePath = k.referencePath();
  request.resultPath = dir + "/result.json";
  request.writeReference = isDefault;
  request.time = timeIt;
  request.threads = options.threads;
  auto fault = options.faults.find(trial);
  if (trial >= 0 && fault != options.faults.end() &&
      (fault->second == "crash" || fault->second == "hang"))
    request.inject = fault->second;
  WorkerJob job;
  job.argv = workerCommand(self, request);
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
      llvm::MemoryBuffer::getFile(request.resultPath);
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
