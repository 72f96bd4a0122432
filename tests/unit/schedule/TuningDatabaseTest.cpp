//===- TuningDatabaseTest.cpp - the tuning database ------------------------===//
//
// Reading, writing, merging and looking up records of blockc/Schedule/TuningDatabase.h
// through real files in a temporary directory.
//
//===----------------------------------------------------------------------===//
#include "blockc/Schedule/TuningDatabase.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

using namespace blockc;

namespace {

class TuningDatabaseTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("blockc-tuning-db", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string path(llvm::StringRef name) const {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  std::string write(llvm::StringRef name, llvm::StringRef text) const {
    std::string p = path(name);
    std::ofstream(p) << text.str();
    return p;
  }
  static std::string read(const std::string &p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  llvm::SmallString<256> dir;
};

TuningRecord record(std::string signature, std::string machine, double timeUs,
                    double defaultTimeUs, std::string target = "x86-64-linux-avx2") {
  TuningRecord r;
  r.signature = std::move(signature);
  r.kind = "matmul";
  r.kernel = "k_" + r.signature;
  r.target = std::move(target);
  r.machine = std::move(machine);
  r.schedule.knobs = {{"tile_x", 16}, {"tile_y", 4}};
  r.timeUs = timeUs;
  r.defaultTimeUs = defaultTimeUs;
  r.batch = 8;
  r.trials = 40;
  r.toolVersion = "0.1.0";
  return r;
}

void expectEqual(const TuningRecord &a, const TuningRecord &b) {
  EXPECT_EQ(a.signature, b.signature);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.kernel, b.kernel);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.machine, b.machine);
  EXPECT_TRUE(a.schedule == b.schedule) << a.schedule.key() << " vs " << b.schedule.key();
  EXPECT_EQ(a.timeUs, b.timeUs); // exact: times are written in their shortest exact form
  EXPECT_EQ(a.defaultTimeUs, b.defaultTimeUs);
  EXPECT_EQ(a.batch, b.batch);
  EXPECT_EQ(a.trials, b.trials);
  EXPECT_EQ(a.toolVersion, b.toolVersion);
}

/// The error text of `value`, which must be an error.
template <typename T> std::string errorOf(llvm::Expected<T> value) {
  if (value)
    return "(no error)";
  return llvm::toString(value.takeError());
}

TEST_F(TuningDatabaseTest, SaveThenLoadGivesEqualRecordsInSortedOrder) {
  TuningDatabase db;
  TuningRecord auto1 = record("sigB", "machine one", 4.1, 12.3);
  auto1.kind = "attention";
  auto1.schedule = ScheduleChoice();
  auto1.schedule.autoscheduler = "Adams2019";
  TuningRecord plain = record("sigA", "machine one", 0.1 + 0.2, 1.0 / 3.0);
  plain.schedule = ScheduleChoice(); // all defaults
  TuningRecord other = record("sigA", "machine two", 7, 9, "arm-64-linux");
  db.add(auto1);
  db.add(plain);
  db.add(other);
  std::string file = path("sub/db.jsonl"); // save creates the directory
  ASSERT_FALSE(llvm::errorToBool(db.save(file)));

  llvm::Expected<TuningDatabase> loaded = TuningDatabase::load(file);
  ASSERT_TRUE(bool(loaded)) << errorOf(std::move(loaded));
  ASSERT_EQ(loaded->records().size(), 3u);
  // Sorted by target, machine, kind, signature: arm first; then attention before matmul.
  expectEqual(loaded->records()[0], other);
  expectEqual(loaded->records()[1], auto1);
  expectEqual(loaded->records()[2], plain);

  // One object per line, keys in the documented order, shortest exact numbers.
  std::string text = read(file);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
  EXPECT_EQ(text.find("{\"signature\":\"sigA\",\"kind\":\"matmul\",\"kernel\":\"k_sigA\","
                      "\"target\":\"arm-64-linux\",\"machine\":\"machine two\",\"schedule\":"),
            0u)
      << text;
  EXPECT_NE(text.find("\"time_us\":4.1,\"default_time_us\":12.3,\"batch\":8,\"trials\":40,"
                      "\"tool_version\":\"0.1.0\"}\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"time_us\":0.30000000000000004,"), std::string::npos) << text;

  // Saving what was loaded writes the same bytes, and leaves no temporary behind.
  ASSERT_FALSE(llvm::errorToBool(loaded->save(file)));
  EXPECT_EQ(read(file), text);
  std::error_code ec;
  int entries = 0;
  for (llvm::sys::fs::directory_iterator it(path("sub"), ec), end; !ec && it != end;
       it.increment(ec))
    ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(TuningDatabaseTest, MergeKeepsBothMachinesAndTheBetterSpeedupOfOneKey) {
  TuningDatabase a, b;
  a.add(record("sig1", "machine A", 50, 100));  // 2x
  a.add(record("sig2", "machine A", 90, 100));  // 1.11x
  b.add(record("sig1", "machine B", 80, 100));  // another machine: kept beside A's
  TuningRecord better = record("sig2", "machine A", 60, 120); // same key, 2x: wins
  better.schedule.knobs["tile_x"] = 32;
  b.add(better);
  TuningRecord worse = record("sig1", "machine A", 10, 15); // same key, 1.5x: loses
  b.add(worse);

  std::string fileA = path("a.jsonl"), fileB = path("b.jsonl");
  ASSERT_FALSE(llvm::errorToBool(a.save(fileA)));
  ASSERT_FALSE(llvm::errorToBool(b.save(fileB)));
  llvm::Expected<TuningDatabase> merged = TuningDatabase::load(fileA);
  llvm::Expected<TuningDatabase> other = TuningDatabase::load(fileB);
  ASSERT_TRUE(bool(merged)) << errorOf(std::move(merged));
  ASSERT_TRUE(bool(other)) << errorOf(std::move(other));
  merged->merge(*other);

  ASSERT_EQ(merged->records().size(), 3u);
  const TuningRecord *sig1A = merged->lookup("sig1", "x86-64-linux-avx2", "machine A");
  const TuningRecord *sig1B = merged->lookup("sig1", "x86-64-linux-avx2", "machine B");
  const TuningRecord *sig2A = merged->lookup("sig2", "x86-64-linux-avx2", "machine A");
  ASSERT_TRUE(sig1A && sig1B && sig2A);
  EXPECT_EQ(sig1A->machine, "machine A");
  EXPECT_EQ(sig1A->timeUs, 50); // kept: 2x beats the later 1.5x
  EXPECT_EQ(sig1B->machine, "machine B");
  EXPECT_EQ(sig1B->timeUs, 80);
  EXPECT_EQ(sig2A->timeUs, 60); // replaced: 2x beats 1.11x
  EXPECT_EQ(sig2A->defaultTimeUs, 120);
  EXPECT_EQ(sig2A->schedule.knobs.at("tile_x"), 32);

  // The same in the other order.
  llvm::Expected<TuningDatabase> reversed = TuningDatabase::load(fileB);
  ASSERT_TRUE(bool(reversed));
  reversed->merge(*TuningDatabase::load(fileA));
  ASSERT_EQ(reversed->records().size(), 3u);
  EXPECT_EQ(reversed->lookup("sig1", "x86-64-linux-avx2", "machine A")->timeUs, 50);
  EXPECT_EQ(reversed->lookup("sig2", "x86-64-linux-avx2", "machine A")->timeUs, 60);
}

TEST_F(TuningDatabaseTest, ARecordWithoutATimeIsReplaced) {
  TuningDatabase db;
  db.add(record("sig", "m", 0, 0)); // nothing measured
  TuningRecord measured = record("sig", "m", 80, 70); // slower than its default, but timed
  db.add(measured);
  ASSERT_EQ(db.records().size(), 1u);
  EXPECT_EQ(db.records()[0].timeUs, 80);
}

TEST_F(TuningDatabaseTest, LookupPrefersThisMachineThenTheBestSpeedup) {
  TuningDatabase db;
  db.add(record("sig", "slow box", 90, 100));   // 1.11x
  db.add(record("sig", "fast box", 25, 100));   // 4x
  db.add(record("sig", "middle box", 50, 100)); // 2x
  db.add(record("other", "here", 1, 100));      // another kernel: never picked for sig

  const TuningRecord *mine = db.lookup("sig", "x86-64-linux-avx2", "slow box");
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->machine, "slow box"); // this machine, though others' speed-ups are better

  const TuningRecord *elsewhere = db.lookup("sig", "x86-64-linux-avx2", "here");
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->machine, "fast box");
  EXPECT_EQ(elsewhere->timeUs, 25);

  EXPECT_EQ(db.lookup("missing", "x86-64-linux-avx2", "here"), nullptr);
}

TEST_F(TuningDatabaseTest, ATargetMismatchFindsNothing) {
  TuningDatabase db;
  db.add(record("sig", "box", 50, 100, "x86-64-linux-avx2-fma"));
  EXPECT_NE(db.lookup("sig", "x86-64-linux-avx2-fma", "box"), nullptr);
  EXPECT_EQ(db.lookup("sig", "x86-64-linux-avx2", "box"), nullptr);
  EXPECT_EQ(db.lookup("sig", "x86-64-linux-avx512", "other box"), nullptr);
}

TEST_F(TuningDatabaseTest, MalformedLinesNameTheFileAndLine) {
  std::string good = "{\"signature\":\"s\",\"kind\":\"matmul\",\"kernel\":\"k\","
                     "\"target\":\"t\",\"machine\":\"m\",\"schedule\":{\"knobs\":{}},"
                     "\"time_us\":1,\"default_time_us\":2,\"batch\":1,\"trials\":3,"
                     "\"tool_version\":\"v\"}\n";
  struct Case {
    std::string line, message;
  };
  std::vector<Case> cases = {
      {"{\"signature\": \"s\"", "invalid JSON"},
      {"[1, 2]", "expected a JSON object"},
      {"{\"kind\":\"matmul\",\"target\":\"t\",\"machine\":\"m\",\"schedule\":{},"
       "\"time_us\":1,\"default_time_us\":2}",
       "missing \"signature\""},
      {"{\"signature\":\"s\",\"kind\":\"matmul\",\"target\":\"t\",\"machine\":\"m\","
       "\"schedule\":{},\"time_us\":\"fast\",\"default_time_us\":2}",
       "expected a number for \"time_us\""},
      {"{\"signature\":\"s\",\"kind\":\"matmul\",\"target\":\"t\",\"machine\":\"m\","
       "\"schedule\":{},\"time_us\":-1,\"default_time_us\":2}",
       "expected a non-negative number for \"time_us\""},
      {"{\"signature\":\"s\",\"kind\":\"matmul\",\"target\":\"t\",\"machine\":\"m\","
       "\"schedule\":{},\"time_us\":1,\"default_time_us\":2,\"batch\":0}",
       "expected an integer >= 1 for \"batch\""},
      {"{\"signature\":\"s\",\"kind\":7,\"target\":\"t\",\"machine\":\"m\","
       "\"schedule\":{},\"time_us\":1,\"default_time_us\":2}",
       "expected a string for \"kind\""},
      {"{\"signature\":\"s\",\"kind\":\"matmul\",\"target\":\"t\",\"machine\":\"m\","
       "\"schedule\":{\"knobs\":{\"tile\":1.5}},\"time_us\":1,\"default_time_us\":2}",
       "\"schedule\": "},
  };
  for (const Case &c : cases) {
    // Line 1 good, line 2 empty (skipped), line 3 the bad one.
    std::string file = write("bad.jsonl", good + "\n" + c.line + "\n" + good);
    std::string message = errorOf(TuningDatabase::load(file));
    EXPECT_EQ(message.rfind(file + ":3: ", 0), 0u) << message;
    EXPECT_NE(message.find(c.message), std::string::npos)
        << "expected '" << c.message << "' in: " << message;
  }
  // The good line alone loads, with its values.
  llvm::Expected<TuningDatabase> db = TuningDatabase::load(write("good.jsonl", good));
  ASSERT_TRUE(bool(db)) << errorOf(std::move(db));
  ASSERT_EQ(db->records().size(), 1u);
  EXPECT_EQ(db->records()[0].defaultTimeUs, 2);
  EXPECT_EQ(db->records()[0].trials, 3);
}

TEST_F(TuningDatabaseTest, AMissingFileIsAnErrorForLoadAndEmptyForLoadOrEmpty) {
  std::string missing = path("nothing-here.jsonl");
  std::string message = errorOf(TuningDatabase::load(missing));
  EXPECT_EQ(message.rfind(missing + ": ", 0), 0u) << message;

  llvm::Expected<TuningDatabase> empty = TuningDatabase::loadOrEmpty(missing);
  ASSERT_TRUE(bool(empty)) << errorOf(std::move(empty));
  EXPECT_TRUE(empty->records().empty());

  // loadOrEmpty still reports a file that exists but is malformed.
  std::string bad = write("bad.jsonl", "not json\n");
  message = errorOf(TuningDatabase::loadOrEmpty(bad));
  EXPECT_EQ(message.rfind(bad + ":1: ", 0), 0u) << message;

  // And reads one that is fine.
  TuningDatabase db;
  db.add(record("sig", "m", 1, 2));
  std::string file = path("db.jsonl");
  ASSERT_FALSE(llvm::errorToBool(db.save(file)));
  llvm::Expected<TuningDatabase> loaded = TuningDatabase::loadOrEmpty(file);
  ASSERT_TRUE(bool(loaded)) << errorOf(std::move(loaded));
  EXPECT_EQ(loaded->records().size(), 1u);
}

TEST(TuningMachine, NamesTheCpuAndItsThreads) {
  std::string machine = currentMachine();
  unsigned threads = std::thread::hardware_concurrency();
  ASSERT_GT(threads, 0u);
  std::string suffix =
      " (" + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
  ASSERT_GT(machine.size(), suffix.size());
  EXPECT_EQ(machine.substr(machine.size() - suffix.size()), suffix) << machine;
  // The CPU model of /proc/cpuinfo when it has one.
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      std::string model = line.substr(line.find(':') + 1);
      std::string firstWord = model.substr(model.find_first_not_of(" \t"));
      firstWord = firstWord.substr(0, firstWord.find(' '));
      EXPECT_EQ(machine.rfind(firstWord, 0), 0u) << machine << " vs " << model;
      break;
    }
  EXPECT_EQ(machine.find("  "), std::string::npos) << machine;
}

} // namespace
