//===- TrialLog.cpp - the trial log ---------------------------------------===//
#include "TrialLog.h"

#include "Search.h"

#include "blockc/Schedule/JsonLines.h"
#include "blockc/Schedule/TuningDatabase.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <unistd.h>
#include <utility>

using namespace blockc;
using namespace blockc::tune;
namespace json = llvm::json;

using jsonl::Need;

bool blockc::tune::isTrialStatus(const std::string &status) {
  return status == "ok" || status == "wrong" || status == "compile_failed" ||
         status == "crashed" || status == "timeout";
}

double blockc::tune::roundedTime(double us) { return std::round(us * 1000) / 1000; }

std::string TrialEntry::toLine() const {
  std::string line;
  llvm::raw_string_ostream os(line);
  json::OStream j(os);
  auto number = [&](const char *key, const std::optional<double> &v) {
    j.attributeBegin(key);
    if (v && std::isfinite(*v))
      j.rawValue(jsonl::shortestDecimal(roundedTime(*v)));
    else
      j.value(nullptr);
    j.attributeEnd();
  };
  j.object([&] {
    j.attribute("signature", signature);
    j.attribute("kernel", kernel);
    j.attribute("kind", kind);
    j.attribute("target", target);
    j.attribute("machine", machine);
    j.attribute("batch", batch);
    j.attribute("seed", static_cast<int64_t>(seed));
    j.attribute("trial", trial);
    j.attribute("schedule", schedule.toJson());
    j.attribute("origin", origin);
    j.attribute("status", result.status);
    number("time_us", result.timeUs);
    number("spread_us", result.spreadUs);
    j.attribute("message", result.message);
    number("elapsed_s", result.elapsedS);
  });
  os.flush();
  return line;
}

llvm::Expected<TrialEntry> TrialEntry::fromJson(const json::Value &value) {
  const json::Object *o = value.getAsObject();
  if (!o)
    return jsonl::error("a trial must be a JSON object");
  TrialEntry e;
  int64_t seed = 0;
  // The kernel and where it ran: every one of these that is missing or mistyped is named
  // at once.
  const std::pair<const char *, std::string *> identity[] = {
      {"signature", &e.signature}, {"kernel", &e.kernel}, {"target", &e.target},
      {"machine", &e.machine}};
  llvm::Error identityError = llvm::Error::success();
  for (const auto &[key, field] : identity)
    identityError = llvm::joinErrors(std::move(identityError),
                                     jsonl::readString(*o, key, Need::Required, *field));
  if (identityError)
    return std::move(identityError);
  if (llvm::Error err = jsonl::readString(*o, "kind", Need::Required, e.kind))
    return std::move(err);
  const std::pair<const char *, int64_t *> counts[] = {
      {"batch", &e.batch}, {"seed", &seed}, {"trial", &e.trial}};
  for (const auto &[key, field] : counts)
    if (llvm::Error err = jsonl::readInteger(*o, key, Need::Required, *field))
      return std::move(err);
  e.seed = static_cast<uint64_t>(seed);
  if (llvm::Error err = readSchedule(*o, e.schedule))
    return std::move(err);
  const std::pair<const char *, std::string *> labels[] = {{"origin", &e.origin},
                                                          {"status", &e.result.status}};
  for (const auto &[key, field] : labels)
    if (llvm::Error err = jsonl::readString(*o, key, Need::Required, *field))
      return std::move(err);
  if (!isTrialStatus(e.result.status))
    return jsonl::error("unknown status \"" + e.result.status + "\"");
  if (llvm::Error err = jsonl::readNumberOrNull(*o, "time_us", e.result.timeUs))
    return std::move(err);
  if (llvm::Error err = jsonl::readNumberOrNull(*o, "spread_us", e.result.spreadUs))
    return std::move(err);
  if (e.result.status == "ok" && !e.result.timeUs)
    return jsonl::error("an \"ok\" trial needs \"time_us\"");
  if (std::optional<llvm::StringRef> m = o->getString("message"))
    e.result.message = m->str();
  if (std::optional<double> s = o->getNumber("elapsed_s"))
    e.result.elapsedS = *s;
  return e;
}

llvm::Expected<TrialLog> TrialLog::open(const std::string &path, std::string *warning) {
  TrialLog log;
  log.file = path;
  if (!llvm::sys::fs::exists(path))
    return log;
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer = llvm::MemoryBuffer::getFile(
      path, /*IsText=*/false, /*RequiresNullTerminator=*/false, /*IsVolatile=*/true);
  if (!buffer)
    return jsonl::error(path + ": cannot read: " + buffer.getError().message());
  llvm::Error err = jsonl::forEachLine(
      (*buffer)->getBuffer(),
      [&](const jsonl::Line &line, llvm::Expected<json::Value> value) -> llvm::Error {
        llvm::Expected<TrialEntry> entry =
            value ? TrialEntry::fromJson(*value) : llvm::Expected<TrialEntry>(value.takeError());
        if (!entry) {
          std::string message = llvm::toString(entry.takeError());
          if (!line.unterminated)
            return jsonl::error(path + ":" + std::to_string(line.number) + ": " + message);
          // Cut short by a kill while writing: dropped from the file too, so that the
          // next trial starts a line of its own.
          if (warning)
            *warning = path + ":" + std::to_string(line.number) +
                       ": ignoring an incomplete last line (" + message + ")";
          if (::truncate(path.c_str(), static_cast<off_t>(line.offset)) != 0)
            return jsonl::error(path + ": cannot drop its incomplete last line");
          return llvm::Error::success();
        }
        Context context{entry->signature, entry->target, entry->machine, entry->batch,
                        entry->seed, entry->schedule.key()};
        log.index.emplace(context, log.entries.size());
        log.entries.push_back(std::move(*entry));
        return llvm::Error::success();
      });
  if (err)
    return std::move(err);
  return log;
}

const TrialEntry *TrialLog::find(const std::string &signature, const std::string &target,
                                 const std::string &machine, int64_t batch, uint64_t seed,
                                 const ScheduleChoice &schedule) const {
  auto it = index.find(Context{signature, target, machine, batch, seed, schedule.key()});
  return it == index.end() ? nullptr : &entries[it->second];
}

llvm::Error TrialLog::append(const TrialEntry &entry) {
  const std::string line = entry.toLine() + "\n";
  std::FILE *f = std::fopen(file.c_str(), "a");
  if (!f)
    return jsonl::error(file + ": cannot open for appending");
  const bool written = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed)
    return jsonl::error(file + ": cannot write a trial");
  Context context{entry.signature, entry.target, entry.machine, entry.batch, entry.seed,
                  entry.schedule.key()};
  index.emplace(context, entries.size());
  entries.push_back(entry);
  return llvm::Error::success();
}
