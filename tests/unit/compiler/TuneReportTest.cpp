//===- TuneReportTest.cpp - blockc-tune report ------------------------------===//
//
// Writes a small tuning database and trial log, runs the report and checks its table,
// the best-so-far numbers it computes from the trial log, and the PNG PLplot draws.
//
//===----------------------------------------------------------------------===//
#include "Report.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <vector>

namespace {

class TuneReportTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("blockc-tune-report", dir));
    db = path("db.jsonl");
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string path(llvm::StringRef name) const {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  static void write(const std::string &p, const std::string &text) {
    std::ofstream(p) << text;
  }
  static std::string read(const std::string &p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  int report(const std::string &png = "") {
    out.clear();
    err.clear();
    llvm::raw_string_ostream o(out), e(err);
    return blockc::runReport(db, png, o, e);
  }

  llvm::SmallString<256> dir;
  std::string db, out, err;
};

const char *databaseText =
    R"j({"signature":"mm:64x128x128","kind":"matmul","kernel":"mlp_fc1",)j"
    R"j("target":"x86-64-linux-avx2","machine":"Test CPU (2 threads)",)j"
    R"j("schedule":{"knobs":{"tile_x":32,"tile_y":8}},"time_us":88,"default_time_us":176,)j"
    R"j("batch":4,"trials":5,"tool_version":"0.1.0"})j"
    "\n"
    R"j({"signature":"rw:64x128","kind":"rowwise","kernel":"norm1",)j"
    R"j("target":"x86-64-linux-avx2","machine":"Test CPU (2 threads)",)j"
    R"j("schedule":{"autoscheduler":"Adams2019"},"time_us":12.5,"default_time_us":15,)j"
    R"j("batch":4,"trials":3,"tool_version":"0.1.0"})j"
    "\n";

std::string trial(const std::string &signature, const std::string &kernel,
                  const std::string &kind, int number, const std::string &origin,
                  const std::string &status, const std::string &time) {
  return R"j({"signature":")j" + signature + R"j(","kernel":")j" + kernel +
         R"j(","kind":")j" + kind +
         R"j(","target":"x86-64-linux-avx2","machine":"Test CPU (2 threads)","batch":4,)j"
         R"j("seed":1,"trial":)j" +
         std::to_string(number) + R"j(,"schedule":{"knobs":{}},"origin":")j" + origin +
         R"j(","status":")j" + status + R"j(","time_us":)j" + time + R"j(,"message":""})j" +
         "\n";
}

/// The matmul's run: default 176 us; a wrong result at 1 us (must not count), a compile
/// failure, then 110 and 88 us: best-so-far speed-ups 1, 1, 1, 1.6, 2.
/// The rowwise run: its default trial failed, so its default comes from the database
/// (15 us); best 12.5 us at trial 2.
std::string trialLog() {
  return trial("mm:64x128x128", "mlp_fc1", "matmul", 0, "default", "ok", "176") +
         trial("mm:64x128x128", "mlp_fc1", "matmul", 1, "random", "wrong", "1") +
         trial("rw:64x128", "norm1", "rowwise", 0, "default", "timeout", "null") +
         trial("mm:64x128x128", "mlp_fc1", "matmul", 2, "Adams2019", "compile_failed",
               "null") +
         trial("mm:64x128x128", "mlp_fc1", "matmul", 3, "random", "ok", "110") +
         trial("rw:64x128", "norm1", "rowwise", 1, "random", "ok", "20") +
         trial("rw:64x128", "norm1", "rowwise", 2, "Adams2019", "ok", "12.5") +
         trial("mm:64x128x128", "mlp_fc1", "matmul", 4, "evolved", "ok", "88");
}

/// The line of `text` that starts with `prefix` (after leading spaces), or "".
std::string lineStarting(const std::string &text, const std::string &prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    size_t start = line.find_first_not_of(' ');
    if (start != std::string::npos && line.compare(start, prefix.size(), prefix) == 0)
      return line;
  }
  return "";
}

std::vector<std::string> words(const std::string &line) {
  std::istringstream in(line);
  std::vector<std::string> result;
  for (std::string w; in >> w;)
    result.push_back(w);
  return result;
}

uint32_t bigEndian32(const std::string &bytes, size_t at) {
  return uint32_t(uint8_t(bytes[at])) << 24 | uint32_t(uint8_t(bytes[at + 1])) << 16 |
         uint32_t(uint8_t(bytes[at + 2])) << 8 | uint32_t(uint8_t(bytes[at + 3]));
}

TEST_F(TuneReportTest, PrintsTheTableAndDrawsTheCurve) {
  write(db, databaseText);
  write(db + ".trials", trialLog());
  ASSERT_EQ(report(), 0) << err;

  // The table: one row per record, the file's order (matmul before rowwise).
  std::string header = lineStarting(out, "kernel");
  EXPECT_EQ(words(header),
            (std::vector<std::string>{"kernel", "kind", "target", "machine", "batch",
                                      "default_us", "tuned_us", "speedup", "trials",
                                      "schedule"}))
      << out;
  // The machine name has spaces: compare the row's columns around it.
  std::vector<std::string> mm = words(lineStarting(out, "mlp_fc1"));
  ASSERT_EQ(mm.size(), 14u) << out;
  EXPECT_EQ(mm[1], "matmul");
  EXPECT_EQ(mm[2], "x86-64-linux-avx2");
  EXPECT_EQ(mm[3] + " " + mm[4] + " " + mm[5] + " " + mm[6], "Test CPU (2 threads)");
  EXPECT_EQ(mm[7], "4");
  EXPECT_EQ(mm[8], "176.00");
  EXPECT_EQ(mm[9], "88.00");
  EXPECT_EQ(mm[10], "2.00x");
  EXPECT_EQ(mm[11], "5");
  EXPECT_EQ(mm[12] + " " + mm[13], "tile_x=32 tile_y=8");
  std::vector<std::string> rw = words(lineStarting(out, "norm1 "));
  ASSERT_EQ(rw.size(), 13u) << out;
  EXPECT_EQ(rw[8], "15.00");
  EXPECT_EQ(rw[9], "12.50");
  EXPECT_EQ(rw[10], "1.20x");
  EXPECT_EQ(rw[11], "3");
  EXPECT_EQ(rw[12], "Adams2019");
  // sqrt(2 * 1.2) = 1.549...
  EXPECT_NE(out.find("geometric mean speed-up: 1.55x over 2 kernels"), std::string::npos)
      << out;

  // The trial log: statuses counted; the wrong 1 us result does not count.
  EXPECT_NE(out.find("8 trials (compile_failed 1, ok 5, timeout 1, wrong 1)"),
            std::string::npos)
      << out;
  EXPECT_NE(lineStarting(out, "mlp_fc1 (matmul): best 2.00x (88.00 us, default 176.00 us) "
                              "at trial 4, 5 trials"),
            "")
      << out;
  EXPECT_NE(lineStarting(out, "norm1 (rowwise): best 1.20x (12.50 us, default 15.00 us) "
                              "at trial 2, 3 trials"),
            "")
      << out;
  EXPECT_NE(out.find("tuning curve: 2 kernels drawn into " + db + ".png"), std::string::npos)
      << out;

  // The PNG: signature, then the IHDR chunk with the width and height.
  std::string png = read(db + ".png");
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  uint32_t width = bigEndian32(png, 16), height = bigEndian32(png, 20);
  EXPECT_EQ(width, 1200u);
  EXPECT_EQ(height, 720u);
  // Two curves, a legend and axes on 1200x720 pixels are more than a blank page.
  EXPECT_GT(png.size(), 10000u);
}

TEST_F(TuneReportTest, WritesThePngWhereAsked) {
  write(db, databaseText);
  write(db + ".trials", trialLog());
  std::string png = path("curve.png");
  ASSERT_EQ(report(png), 0) << err;
  EXPECT_TRUE(llvm::sys::fs::exists(png));
  EXPECT_FALSE(llvm::sys::fs::exists(db + ".png"));
  EXPECT_EQ(read(png).substr(1, 3), "PNG");
}

TEST_F(TuneReportTest, WithoutATrialLogPrintsTheTableAndNoCurve) {
  write(db, databaseText);
  ASSERT_EQ(report(), 0) << err;
  EXPECT_NE(lineStarting(out, "mlp_fc1"), "") << out;
  EXPECT_NE(out.find("no tuning curve drawn"), std::string::npos) << out;
  EXPECT_FALSE(llvm::sys::fs::exists(db + ".png"));
}

TEST_F(TuneReportTest, ABadTrialLogLineIsSkippedWithItsLineNumber) {
  write(db, databaseText);
  write(db + ".trials", trialLog() + "{\"signature\": \"mm:64x1");
  ASSERT_EQ(report(), 0) << err;
  EXPECT_NE(err.find(db + ".trials:9: invalid JSON"), std::string::npos) << err;
  EXPECT_NE(out.find("8 trials"), std::string::npos) << out;
}

TEST_F(TuneReportTest, ABadDatabaseIsAnErrorNamingFileAndLine) {
  write(db, std::string(databaseText) + "{\"signature\": 3}\n");
  EXPECT_EQ(report(), 1);
  EXPECT_NE(err.find(db + ":3: expected a string for \"signature\""), std::string::npos)
      << err;
  EXPECT_EQ(report(path("missing.png")), 1);

  db = path("does-not-exist.jsonl");
  EXPECT_EQ(report(), 1);
  EXPECT_NE(err.find(db + ": cannot read the tuning database"), std::string::npos) << err;
}

} // namespace
