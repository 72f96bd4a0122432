//===- TuningDatabase.cpp - the tuning database ---------------------------===//
//
// One JSON object per line (docs/tuning.md, "The tuning database"). Reading checks every
// field's type and names the file and line of the first bad one; writing puts the keys in
// the documented order, the times in their shortest exact decimal form, and the lines in a
// fixed order, so that a database under version control diffs cleanly.
//
//===----------------------------------------------------------------------===//
#include "blockc/Tuning/TuningDatabase.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <thread>
#include <tuple>

#include <sys/utsname.h>

using namespace blockc;

namespace {

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Reads one field of a record object. `required` fields must be present; an optional
/// field that is absent (or null) leaves `out` unchanged.
llvm::Error readString(const llvm::json::Object &object, llvm::StringRef key, bool required,
                       std::string &out) {
  const llvm::json::Value *value = object.get(key);
  if (!value || value->kind() == llvm::json::Value::Null)
    return required ? fail("missing \"" + key + "\"") : llvm::Error::success();
  std::optional<llvm::StringRef> text = value->getAsString();
  if (!text)
    return fail("expected a string for \"" + key + "\"");
  out = text->str();
  return llvm::Error::success();
}

llvm::Error readTime(const llvm::json::Object &object, llvm::StringRef key, double &out) {
  const llvm::json::Value *value = object.get(key);
  if (!value)
    return fail("missing \"" + key + "\"");
  std::optional<double> number = value->getAsNumber();
  if (!number)
    return fail("expected a number for \"" + key + "\"");
  if (!std::isfinite(*number) || *number < 0)
    return fail("expected a non-negative number for \"" + key + "\"");
  out = *number;
  return llvm::Error::success();
}

llvm::Error readCount(const llvm::json::Object &object, llvm::StringRef key, int64_t minimum,
                      int64_t &out) {
  const llvm::json::Value *value = object.get(key);
  if (!value || value->kind() == llvm::json::Value::Null)
    return llvm::Error::success();
  std::optional<int64_t> number = value->getAsInteger();
  if (!number)
    return fail("expected an integer for \"" + key + "\"");
  if (*number < minimum)
    return fail("expected an integer >= " + llvm::Twine(minimum) + " for \"" + key + "\"");
  out = *number;
  return llvm::Error::success();
}

/// The shortest decimal text that reads back as exactly `value` (llvm::json prints 17
/// significant digits: 12.3 would come out as 12.300000000000001).
std::string shortestDecimal(double value) {
  char buffer[64];
  std::to_chars_result result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

auto recordKey(const TuningRecord &r) {
  return std::tie(r.signature, r.target, r.machine);
}

auto sortKey(const TuningRecord &r) {
  return std::tie(r.target, r.machine, r.kind, r.signature);
}

} // namespace

llvm::json::Value TuningRecord::toJson() const {
  return llvm::json::Object{{"signature", signature},
                            {"kind", kind},
                            {"kernel", kernel},
                            {"target", target},
                            {"machine", machine},
                            {"schedule", schedule.toJson()},
                            {"time_us", timeUs},
                            {"default_time_us", defaultTimeUs},
                            {"batch", batch},
                            {"trials", trials},
                            {"tool_version", toolVersion}};
}

llvm::Expected<TuningRecord> TuningRecord::fromJson(const llvm::json::Value &value) {
  const llvm::json::Object *object = value.getAsObject();
  if (!object)
    return fail("expected a JSON object");
  TuningRecord record;
  if (llvm::Error e = readString(*object, "signature", true, record.signature))
    return std::move(e);
  if (record.signature.empty())
    return fail("\"signature\" is empty");
  if (llvm::Error e = readString(*object, "kind", true, record.kind))
    return std::move(e);
  if (llvm::Error e = readString(*object, "kernel", false, record.kernel))
    return std::move(e);
  if (llvm::Error e = readString(*object, "target", true, record.target))
    return std::move(e);
  if (record.target.empty())
    return fail("\"target\" is empty");
  if (llvm::Error e = readString(*object, "machine", true, record.machine))
    return std::move(e);
  const llvm::json::Value *schedule = object->get("schedule");
  if (!schedule)
    return fail("missing \"schedule\"");
  llvm::Expected<ScheduleChoice> choice = ScheduleChoice::fromJson(*schedule);
  if (!choice)
    return fail("\"schedule\": " + llvm::toString(choice.takeError()));
  record.schedule = std::move(*choice);
  if (llvm::Error e = readTime(*object, "time_us", record.timeUs))
    return std::move(e);
  if (llvm::Error e = readTime(*object, "default_time_us", record.defaultTimeUs))
    return std::move(e);
  if (llvm::Error e = readCount(*object, "batch", 1, record.batch))
    return std::move(e);
  if (llvm::Error e = readCount(*object, "trials", 0, record.trials))
    return std::move(e);
  if (llvm::Error e = readString(*object, "tool_version", false, record.toolVersion))
    return std::move(e);
  return record;
}

llvm::Expected<TuningDatabase> TuningDatabase::load(const std::string &path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return fail(path + ": cannot read the tuning database: " + buffer.getError().message());
  TuningDatabase db;
  llvm::StringRef rest = (*buffer)->getBuffer();
  for (unsigned lineNo = 1; !rest.empty(); ++lineNo) {
    llvm::StringRef line;
    std::tie(line, rest) = rest.split('\n');
    line = line.trim();
    if (line.empty())
      continue;
    std::string where = path + ":" + std::to_string(lineNo) + ": ";
    llvm::Expected<llvm::json::Value> value = llvm::json::parse(line);
    if (!value)
      return fail(where + "invalid JSON: " + llvm::toString(value.takeError()));
    llvm::Expected<TuningRecord> record = TuningRecord::fromJson(*value);
    if (!record)
      return fail(where + llvm::toString(record.takeError()));
    db.add(std::move(*record));
  }
  return db;
}

llvm::Expected<TuningDatabase> TuningDatabase::loadOrEmpty(const std::string &path) {
  if (!llvm::sys::fs::exists(path))
    return TuningDatabase();
  return load(path);
}

void TuningDatabase::merge(const TuningDatabase &other) {
  for (const TuningRecord &record : other.all)
    add(record);
}

void TuningDatabase::add(TuningRecord record) {
  for (TuningRecord &existing : all) {
    if (recordKey(existing) != recordKey(record))
      continue;
    // The better speed-up wins; a tie keeps the record already here, so that merging is
    // order-independent except between equally good records.
    if (existing.timeUs <= 0 || record.speedup() > existing.speedup())
      existing = std::move(record);
    return;
  }
  all.push_back(std::move(record));
}

const TuningRecord *TuningDatabase::lookup(const std::string &signature,
                                           const std::string &target,
                                           const std::string &machine) const {
  const TuningRecord *best = nullptr;
  for (const TuningRecord &record : all) {
    if (record.signature != signature || record.target != target)
      continue;
    if (record.machine == machine)
      return &record; // at most one per (signature, target, machine)
    // Among other machines: the best speed-up, ties to the first machine in name order.
    if (!best || record.speedup() > best->speedup() ||
        (record.speedup() == best->speedup() && record.machine < best->machine))
      best = &record;
  }
  return best;
}

llvm::Error TuningDatabase::save(const std::string &path) const {
  std::vector<const TuningRecord *> sorted;
  for (const TuningRecord &record : all)
    sorted.push_back(&record);
  std::sort(sorted.begin(), sorted.end(), [](const TuningRecord *a, const TuningRecord *b) {
    return sortKey(*a) < sortKey(*b);
  });

  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (!dir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(dir))
      return fail(path + ": cannot create the directory " + dir.str() + ": " +
                  ec.message());

  // The temporary sits beside the database so that the rename stays on one file system.
  int fd = -1;
  llvm::SmallString<256> temp;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temp))
    return fail(path + ": cannot create a temporary file: " + ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    for (const TuningRecord *r : sorted) {
      llvm::json::OStream j(os);
      j.object([&] {
        j.attribute("signature", r->signature);
        j.attribute("kind", r->kind);
        j.attribute("kernel", r->kernel);
        j.attribute("target", r->target);
        j.attribute("machine", r->machine);
        j.attribute("schedule", r->schedule.toJson());
        j.attributeBegin("time_us");
        j.rawValue(shortestDecimal(r->timeUs));
        j.attributeEnd();
        j.attributeBegin("default_time_us");
        j.rawValue(shortestDecimal(r->defaultTimeUs));
        j.attributeEnd();
        j.attribute("batch", r->batch);
        j.attribute("trials", r->trials);
        j.attribute("tool_version", r->toolVersion);
      });
      os << '\n';
    }
    os.close();
    if (os.has_error()) {
      std::error_code ec = os.error();
      os.clear_error();
      llvm::sys::fs::remove(temp);
      return fail(path + ": cannot write " + temp.str() + ": " + ec.message());
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(temp, path)) {
    llvm::sys::fs::remove(temp);
    return fail(path + ": cannot replace the database: " + ec.message());
  }
  return llvm::Error::success();
}

std::string blockc::currentMachine() {
  std::string model;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; model.empty() && std::getline(cpuinfo, line);) {
    llvm::StringRef key, value;
    std::tie(key, value) = llvm::StringRef(line).split(':');
    if (key.trim() == "model name") {
      // Collapse runs of spaces (some CPUs pad their model names).
      llvm::SmallVector<llvm::StringRef, 8> words;
      value.split(words, ' ', -1, /*KeepEmpty=*/false);
      model = llvm::join(words, " ");
      model = llvm::StringRef(model).trim().str();
    }
  }
  if (model.empty()) {
    struct utsname names;
    model = uname(&names) == 0 ? names.machine : "unknown";
  }
  unsigned threads = std::thread::hardware_concurrency();
  if (threads > 0)
    model += " (" + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
  return model;
}
