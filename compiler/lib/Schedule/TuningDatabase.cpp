//===- TuningDatabase.cpp - the tuning database ---------------------------===//
//
// One JSON object per line (docs/tuning.md, "The tuning database"). Reading checks every
// field's type and names the file and line of the first bad one; writing puts the keys in
// the documented order, the times in their shortest exact decimal form, and the lines in a
// fixed order, so that a database under version control diffs cleanly.
//
//===----------------------------------------------------------------------===//
#include "blockc/Schedule/TuningDatabase.h"
#include "blockc/Schedule/JsonLines.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <thread>
#include <tuple>

#include <sys/utsname.h>

using namespace blockc;

namespace {

using jsonl::Need;

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
    return jsonl::error("expected a JSON object");
  TuningRecord record;
  if (llvm::Error e = jsonl::readString(*object, "signature", Need::Required, record.signature))
    return std::move(e);
  if (record.signature.empty())
    return jsonl::error("\"signature\" is empty");
  if (llvm::Error e = jsonl::readString(*object, "kind", Need::Required, record.kind))
    return std::move(e);
  if (llvm::Error e = jsonl::readString(*object, "kernel", Need::Optional, record.kernel))
    return std::move(e);
  if (llvm::Error e = jsonl::readString(*object, "target", Need::Required, record.target))
    return std::move(e);
  if (record.target.empty())
    return jsonl::error("\"target\" is empty");
  if (llvm::Error e = jsonl::readString(*object, "machine", Need::Required, record.machine))
    return std::move(e);
  if (llvm::Error e = readSchedule(*object, record.schedule))
    return std::move(e);
  if (llvm::Error e = jsonl::readTime(*object, "time_us", Need::Required, record.timeUs))
    return std::move(e);
  if (llvm::Error e = jsonl::readTime(*object, "default_time_us", Need::Required, record.defaultTimeUs))
    return std::move(e);
  if (llvm::Error e = jsonl::readInteger(*object, "batch", Need::Optional, record.batch, 1))
    return std::move(e);
  if (llvm::Error e = jsonl::readInteger(*object, "trials", Need::Optional, record.trials, 0))
    return std::move(e);
  if (llvm::Error e = jsonl::readString(*object, "tool_version", Need::Optional, record.toolVersion))
    return std::move(e);
  return record;
}

llvm::Error blockc::readSchedule(const llvm::json::Object &object, ScheduleChoice &out) {
  const llvm::json::Value *schedule = object.get("schedule");
  if (!schedule)
    return jsonl::error("missing \"schedule\"");
  llvm::Expected<ScheduleChoice> choice = ScheduleChoice::fromJson(*schedule);
  if (!choice)
    return jsonl::error("\"schedule\": " + llvm::toString(choice.takeError()));
  out = std::move(*choice);
  return llvm::Error::success();
}

llvm::Expected<TuningDatabase> TuningDatabase::load(const std::string &path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return jsonl::error(path + ": cannot read the tuning database: " + buffer.getError().message());
  TuningDatabase db;
  llvm::Error err = jsonl::forEachLine(
      (*buffer)->getBuffer(),
      [&](const jsonl::Line &line, llvm::Expected<llvm::json::Value> value) -> llvm::Error {
        std::string where = path + ":" + std::to_string(line.number) + ": ";
        if (!value)
          return jsonl::error(where + "invalid JSON: " + llvm::toString(value.takeError()));
        llvm::Expected<TuningRecord> record = TuningRecord::fromJson(*value);
        if (!record)
          return jsonl::error(where + llvm::toString(record.takeError()));
        db.add(std::move(*record));
        return llvm::Error::success();
      });
  if (err)
    return std::move(err);
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
      return jsonl::error(path + ": cannot create the directory " + dir.str() + ": " +
                  ec.message());

  // The temporary sits beside the database so that the rename stays on one file system.
  int fd = -1;
  llvm::SmallString<256> temp;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temp))
    return jsonl::error(path + ": cannot create a temporary file: " + ec.message());
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
        j.rawValue(jsonl::shortestDecimal(r->timeUs));
        j.attributeEnd();
        j.attributeBegin("default_time_us");
        j.rawValue(jsonl::shortestDecimal(r->defaultTimeUs));
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
      return jsonl::error(path + ": cannot write " + temp.str() + ": " + ec.message());
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(temp, path)) {
    llvm::sys::fs::remove(temp);
    return jsonl::error(path + ": cannot replace the database: " + ec.message());
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
