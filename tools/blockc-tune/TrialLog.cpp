//===- TrialLog.cpp - the trial log ---------------------------------------===//
#include "TrialLog.h"

#include "Search.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <unistd.h>

using namespace blockc;
using namespace blockc::tune;
namespace json = llvm::json;

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Error readString(const json::Object &o, llvm::StringRef key, std::string &out) {
  std::optional<llvm::StringRef> s = o.getString(key);
  if (!s)
    return fail("missing or non-string \"" + key + "\"");
  out = s->str();
  return llvm::Error::success();
}

llvm::Error readInteger(const json::Object &o, llvm::StringRef key, int64_t &out) {
  std::optional<int64_t> v = o.getInteger(key);
  if (!v)
    return fail("missing or non-integer \"" + key + "\"");
  out = *v;
  return llvm::Error::success();
}

llvm::Error readOptionalNumber(const json::Object &o, llvm::StringRef key,
                               std::optional<double> &out) {
  const json::Value *v = o.get(key);
  if (!v || v->kind() == json::Value::Null) {
    out.reset();
    return llvm::Error::success();
  }
  std::optional<double> d = v->getAsNumber();
  if (!d)
    return fail("\"" + key + "\" must be a number or null");
  out = *d;
  return llvm::Error::success();
}
} // namespace

bool blockc::tune::isTrialStatus(const std::string &status) {
  return status == "ok" || status == "wrong" || status == "compile_failed" ||
         status == "crashed" || status == "timeout";
}

namespace {
/// A time rounded to the nanosecond, in its shortest decimal form (llvm::json would print
/// 17 significant digits).
std::string decimal(double value) {
  char buffer[64];
  const double rounded = std::round(value * 1000) / 1000;
  std::to_chars_result r = std::to_chars(buffer, buffer + sizeof buffer, rounded);
  return std::string(buffer, r.ptr);
}
} // namespace

std::string TrialEntry::toLine() const {
  std::string line;
  llvm::raw_string_ostream os(line);
  json::OStream j(os);
  auto number = [&](const char *key, const std::optional<double> &v) {
    j.attributeBegin(key);
    if (v && std::isfinite(*v))
      j.rawValue(decimal(*v));
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
    return fail("a trial must be a JSON object");
  TrialEntry e;
  int64_t seed = 0;
  if (llvm::Error err = llvm::joinErrors(
          llvm::joinErrors(readString(*o, "signature", e.signature),
                           readString(*o, "kernel", e.kernel)),
          llvm::joinErrors(readString(*o, "target", e.target),
                           readString(*o, "machine", e.machine))))
    return std::move(err);
  if (llvm::Error err = readString(*o, "kind", e.kind))
    return std::move(err);
  if (llvm::Error err = readInteger(*o, "batch", e.batch))
    return std::move(err);
  if (llvm::Error err = readInteger(*o, "seed", seed))
    return std::move(err);
  e.seed = static_cast<uint64_t>(seed);
  if (llvm::Error err = readInteger(*o, "trial", e.trial))
    return std::move(err);
  const json::Value *schedule = o->get("schedule");
  if (!schedule)
    return fail("missing \"schedule\"");
  llvm::Expected<ScheduleChoice> choice = ScheduleChoice::fromJson(*schedule);
  if (!choice)
    return fail("bad \"schedule\": " + llvm::toString(choice.takeError()));
  e.schedule = std::move(*choice);
  if (llvm::Error err = readString(*o, "origin", e.origin))
    return std::move(err);
  if (llvm::Error err = readString(*o, "status", e.result.status))
    return std::move(err);
  if (!isTrialStatus(e.result.status))
    return fail("unknown status \"" + e.result.status + "\"");
  if (llvm::Error err = readOptionalNumber(*o, "time_us", e.result.timeUs))
    return std::move(err);
  if (llvm::Error err = readOptionalNumber(*o, "spread_us", e.result.spreadUs))
    return std::move(err);
  if (e.result.status == "ok" && !e.result.timeUs)
    return fail("an \"ok\" trial needs \"time_us\"");
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
    return fail(path + ": cannot read: " + buffer.getError().message());
  llvm::StringRef text = (*buffer)->getBuffer();
  const bool endsWithNewline = text.ends_with("\n");
  llvm::SmallVector<llvm::StringRef, 0> lines;
  text.split(lines, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    llvm::StringRef line = lines[i].trim();
    if (line.empty())
      continue;
    const bool last = i + 1 == lines.size() || (i + 2 == lines.size() && lines[i + 1].empty());
    llvm::Expected<json::Value> value = json::parse(line);
    llvm::Expected<TrialEntry> entry =
        value ? TrialEntry::fromJson(*value) : llvm::Expected<TrialEntry>(value.takeError());
    if (!entry) {
      std::string message = llvm::toString(entry.takeError());
      if (last && !endsWithNewline) { // cut short by a kill while writing
        if (warning)
          *warning = path + ":" + std::to_string(i + 1) +
                     ": ignoring an incomplete last line (" + message + ")";
        // Drop it from the file too, so that the next trial starts a line of its own.
        const off_t start = static_cast<off_t>(lines[i].data() - text.data());
        if (::truncate(path.c_str(), start) != 0)
          return fail(path + ": cannot drop its incomplete last line");
        break;
      }
      return fail(path + ":" + std::to_string(i + 1) + ": " + message);
    }
    Context context{entry->signature, entry->target, entry->machine, entry->batch,
                    entry->seed, candidateKey(entry->schedule)};
    log.index.emplace(context, log.entries.size());
    log.entries.push_back(std::move(*entry));
  }
  return log;
}

const TrialEntry *TrialLog::find(const std::string &signature, const std::string &target,
                                 const std::string &machine, int64_t batch, uint64_t seed,
                                 const ScheduleChoice &schedule) const {
  auto it = index.find(Context{signature, target, machine, batch, seed, candidateKey(schedule)});
  return it == index.end() ? nullptr : &entries[it->second];
}

llvm::Error TrialLog::append(const TrialEntry &entry) {
  const std::string line = entry.toLine() + "\n";
  std::FILE *f = std::fopen(file.c_str(), "a");
  if (!f)
    return fail(file + ": cannot open for appending");
  const bool written = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed)
    return fail(file + ": cannot write a trial");
  Context context{entry.signature, entry.target, entry.machine, entry.batch, entry.seed,
                  candidateKey(entry.schedule)};
  index.emplace(context, entries.size());
  entries.push_back(entry);
  return llvm::Error::success();
}
