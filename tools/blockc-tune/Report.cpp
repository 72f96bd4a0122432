//===- Report.cpp - blockc-tune report ------------------------------------===//
//
// The table comes from the database; the curve from the trial log beside it, one line per
// tuning run of a kernel: after each trial, the default's time over the best time among
// the run's correct ("ok") trials so far. PLplot's pngcairo device draws it.
//
//===----------------------------------------------------------------------===//
#include "Report.h"
#include "TrialLog.h"

#include "blockc/Schedule/JsonLines.h"
#include "blockc/Schedule/TuningDatabase.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/xxhash.h"

#include <plplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <vector>

using namespace blockc;

namespace {

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

/// `text`, cut to fit a table cell or a legend entry.
std::string shortLabel(std::string text) {
  constexpr size_t limit = 44;
  if (text.size() > limit)
    text = text.substr(0, limit - 3) + "...";
  return text;
}

/// A short text of a schedule for one table cell.
std::string shortSchedule(const ScheduleChoice &choice) {
  std::string text = choice.describe();
  constexpr size_t limit = 100; // a matmul's seven knobs fit
  if (text.size() > limit)
    text = text.substr(0, limit - 3) + "...";
  return text;
}

void printRecords(llvm::raw_ostream &out, const std::string &dbPath, const TuningDatabase &db) {
  const std::vector<TuningRecord> &records = db.records();
  out << "tuning database " << dbPath << ": " << records.size()
      << (records.size() == 1 ? " record\n" : " records\n");
  if (records.empty())
    return;
  // The file's own order (target, machine, kind, signature), as save() writes it.
  std::vector<const TuningRecord *> sorted;
  for (const TuningRecord &r : records)
    sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(), [](const TuningRecord *a,
                                                    const TuningRecord *b) {
    return std::tie(a->target, a->machine, a->kind, a->kernel, a->signature) <
           std::tie(b->target, b->machine, b->kind, b->kernel, b->signature);
  });
  std::vector<std::vector<std::string>> rows = {
      {"kernel", "kind", "target", "machine", "batch", "default_us", "tuned_us", "speedup",
       "trials", "schedule"}};
  double logSum = 0;
  int timed = 0;
  for (const TuningRecord *r : sorted) {
    bool hasTimes = r->timeUs > 0 && r->defaultTimeUs > 0;
    rows.push_back({r->kernel.empty() ? shortLabel(r->signature) : r->kernel, r->kind, r->target,
                    r->machine, std::to_string(r->batch), fixed(r->defaultTimeUs, 2),
                    fixed(r->timeUs, 2), hasTimes ? fixed(r->speedup(), 2) + "x" : "-",
                    std::to_string(r->trials), shortSchedule(r->schedule)});
    if (hasTimes) {
      logSum += std::log(r->speedup());
      ++timed;
    }
  }
  printTable(out, rows, {false, false, false, false, true, true, true, true, true, false});
  if (timed > 0)
    out << "geometric mean speed-up: " << fixed(std::exp(logSum / timed), 2) << "x over "
        << timed << (timed == 1 ? " kernel\n" : " kernels\n");
}

//===----------------------------------------------------------------------===//
// The trial log
//===----------------------------------------------------------------------===//

struct Trial {
  int64_t trial = 0;
  std::string status, origin;
  std::optional<double> timeUs;
};

/// One tuning run of one kernel: the trials that share these fields.
struct SeriesKey {
  std::string signature, target, machine;
  int64_t batch = 1, seed = 0;
  bool operator<(const SeriesKey &o) const {
    return std::tie(signature, target, machine, batch, seed) <
           std::tie(o.signature, o.target, o.machine, o.batch, o.seed);
  }
};

struct Series {
  std::string kernel, kind;
  std::vector<Trial> trials;
};

struct TrialLog {
  std::map<SeriesKey, Series> series;
  std::map<std::string, int> statusCounts;
  int64_t total = 0;
};

/// Reads the trial log; a line that is not a trial is reported on `err` and skipped (the
/// tuner may have been stopped in the middle of writing the last line).
TrialLog readTrialLog(const std::string &path, const llvm::MemoryBuffer &buffer,
                      llvm::raw_ostream &err) {
  TrialLog log;
  llvm::consumeError(jsonl::forEachLine(
      buffer.getBuffer(),
      [&](const jsonl::Line &line, llvm::Expected<llvm::json::Value> value) -> llvm::Error {
        auto skip = [&](const llvm::Twine &why) {
          err << path << ":" << line.number << ": " << why << "; line skipped\n";
          return llvm::Error::success();
        };
        if (!value)
          return skip("invalid JSON: " + llvm::toString(value.takeError()));
        // The tuner's own reader of a trial, so that both read one format.
        llvm::Expected<tune::TrialEntry> entry = tune::TrialEntry::fromJson(*value);
        if (!entry)
          return skip(llvm::toString(entry.takeError()));
        SeriesKey key{entry->signature, entry->target, entry->machine, entry->batch,
                      static_cast<int64_t>(entry->seed)};
        Series &series = log.series[key];
        if (!entry->kernel.empty())
          series.kernel = entry->kernel;
        if (!entry->kind.empty())
          series.kind = entry->kind;
        series.trials.push_back(Trial{entry->trial, entry->result.status, entry->origin,
                                      entry->result.timeUs});
        ++log.statusCounts[entry->result.status];
        ++log.total;
        return llvm::Error::success();
      }));
  return log;
}

/// One line of the plot: (trial, best speed-up so far) from the first correct trial on.
struct Curve {
  std::string label;
  std::vector<double> x, y;
  int64_t lastTrial = 0;
};

/// The PLplot text of `text`: '#' starts PLplot's escape sequences.
std::string plplotText(llvm::StringRef text) {
  std::string escaped;
  for (char c : text) {
    escaped += c;
    if (c == '#')
      escaped += '#';
  }
  return escaped;
}

std::vector<Curve> buildCurves(const TrialLog &log, const TuningDatabase &db,
                               llvm::raw_ostream &out) {
  // Label parts: the kernel always; target, machine, batch and seed only where runs differ.
  std::set<std::string> targets, machines;
  std::set<int64_t> batches, seeds;
  for (const auto &[key, series] : log.series) {
    targets.insert(key.target);
    machines.insert(key.machine);
    batches.insert(key.batch);
    seeds.insert(key.seed);
  }
  // Kernel names repeat across blocks tuned into one database: such curves also show a
  // short hash of their signature.
  std::map<std::string, std::set<std::string>> signaturesByName;
  for (const auto &[key, series] : log.series)
    signaturesByName[series.kernel].insert(key.signature);
  std::vector<Curve> curves;
  for (const auto &[key, series] : log.series) {
    std::vector<Trial> trials = series.trials;
    std::stable_sort(trials.begin(), trials.end(),
                     [](const Trial &a, const Trial &b) { return a.trial < b.trial; });
    std::string name = series.kernel.empty() ? key.signature : series.kernel;
    // The default's time: its trial in this run, else the database's record.
    std::optional<double> defaultUs;
    for (const Trial &t : trials)
      if (t.origin == "default" && t.status == "ok" && t.timeUs && *t.timeUs > 0) {
        defaultUs = *t.timeUs;
        break;
      }
    if (!defaultUs)
      if (const TuningRecord *r = db.lookup(key.signature, key.target, key.machine))
        if (r->machine == key.machine && r->defaultTimeUs > 0)
          defaultUs = r->defaultTimeUs;
    if (!defaultUs) {
      out << "tuning curve: " << name << " has no measured default; left out\n";
      continue;
    }
    Curve curve;
    curve.label = shortLabel(name) + (series.kind.empty() ? "" : " (" + series.kind + ")");
    if (signaturesByName[series.kernel].size() > 1)
      curve.label += " #" + llvm::utohexstr(llvm::xxh3_64bits(key.signature) & 0xffff, true);
    if (targets.size() > 1)
      curve.label += " " + key.target;
    if (machines.size() > 1)
      curve.label += " " + shortLabel(key.machine);
    if (batches.size() > 1)
      curve.label += " batch " + std::to_string(key.batch);
    if (seeds.size() > 1)
      curve.label += " seed " + std::to_string(key.seed);
    double best = std::numeric_limits<double>::infinity();
    for (const Trial &t : trials) {
      if (t.status == "ok" && t.timeUs && *t.timeUs > 0)
        best = std::min(best, *t.timeUs);
      if (std::isfinite(best)) {
        curve.x.push_back(double(t.trial));
        curve.y.push_back(*defaultUs / best);
      }
    }
    if (curve.x.empty()) {
      out << "tuning curve: " << name << " has no correct trial; left out\n";
      continue;
    }
    curve.lastTrial = trials.back().trial;
    // The first trial that reached the best time.
    size_t bestAt = std::find(curve.y.begin(), curve.y.end(), curve.y.back()) - curve.y.begin();
    out << "  " << curve.label << ": best " << fixed(curve.y.back(), 2) << "x ("
        << fixed(best, 2) << " us, default " << fixed(*defaultUs, 2) << " us) at trial "
        << int64_t(curve.x[bestAt]) << ", " << trials.size()
        << (trials.size() == 1 ? " trial\n" : " trials\n");
    curves.push_back(std::move(curve));
  }
  return curves;
}

//===----------------------------------------------------------------------===//
// The plot
//===----------------------------------------------------------------------===//

constexpr int plotWidth = 1200, plotHeight = 720;

/// Distinguishable colours (Okabe-Ito, then a few more); index 0 is the background,
/// 1 the axes and text, 2 the grid.
const int palette[][3] = {{255, 255, 255}, {0, 0, 0},      {200, 200, 200}, {0, 114, 178},
                          {230, 159, 0},   {0, 158, 115},  {204, 121, 167}, {86, 180, 233},
                          {213, 94, 0},    {240, 228, 66}, {0, 0, 0},       {128, 0, 128},
                          {128, 128, 0},   {0, 128, 128},  {165, 42, 42},   {100, 100, 255}};
constexpr int firstLineColor = 3;
constexpr int lineColors = 13;

bool hasDevice(const char *name) {
  int count = 128;
  std::vector<const char *> menus(count), devices(count);
  const char **m = menus.data(), **d = devices.data();
  plgFileDevs(&m, &d, &count);
  for (int i = 0; i < count; ++i)
    if (d[i] && llvm::StringRef(d[i]) == name)
      return true;
  return false;
}

bool drawCurves(const std::vector<Curve> &curves, const std::string &pngPath,
                llvm::raw_ostream &err) {
  if (!hasDevice("pngcairo")) {
    err << "error: PLplot has no pngcairo device (install plplot-driver-cairo); no tuning "
           "curve drawn\n";
    return false;
  }
  // PLplot exits the process when it cannot open its output: check that here first.
  {
    std::error_code ec;
    llvm::raw_fd_ostream probe(pngPath, ec);
    if (ec) {
      err << "error: cannot write " << pngPath << ": " << ec.message() << "\n";
      return false;
    }
  }

  double xMax = 1, yMin = 0.9, yMax = 1.1;
  for (const Curve &c : curves) {
    xMax = std::max(xMax, double(c.lastTrial));
    for (double y : c.y) {
      yMin = std::min(yMin, y * 0.95);
      yMax = std::max(yMax, y * 1.08);
    }
  }

  PLINT stream = 0;
  plmkstrm(&stream);
  plsdev("pngcairo");
  plsfnam(pngPath.c_str());
  plspage(0, 0, plotWidth, plotHeight, 0, 0);
  plscmap0n(int(std::size(palette)));
  for (int i = 0; i < int(std::size(palette)); ++i)
    plscol0(i, palette[i][0], palette[i][1], palette[i][2]);
  plinit();
  pladv(0);
  plschr(0, 0.9);
  plvpor(0.09, 0.68, 0.11, 0.92);
  plwind(0, xMax, yMin, yMax);
  plcol0(2);
  plbox("g", 0, 0, "g", 0, 0);
  plcol0(1);
  plbox("bcnst", 0, 0, "bcnstv", 0, 0);
  // Search-time medians: a noisy machine inflates them; the table has the confirmed ones.
  pllab("trial", "best speed-up so far (default = 1)",
        "blockc-tune search: default / best correct time so far (not confirmed)");
  // The default's level.
  {
    PLFLT xs[2] = {0, xMax}, ys[2] = {1, 1};
    pllsty(2);
    plline(2, xs, ys);
    pllsty(1);
  }

  std::vector<std::string> labels;
  std::vector<PLINT> options, colors, styles, textColors;
  std::vector<PLFLT> widths;
  for (size_t i = 0; i < curves.size(); ++i) {
    const Curve &c = curves[i];
    int color = firstLineColor + int(i % lineColors);
    int style = 1 + int(i / lineColors) % 8;
    // A step line: each best-so-far value holds until the next trial, and the last one
    // until the run's last trial.
    std::vector<PLFLT> xs, ys;
    for (size_t k = 0; k < c.x.size(); ++k) {
      if (k > 0) {
        xs.push_back(c.x[k]);
        ys.push_back(c.y[k - 1]);
      }
      xs.push_back(c.x[k]);
      ys.push_back(c.y[k]);
    }
    xs.push_back(double(c.lastTrial));
    ys.push_back(c.y.back());
    plcol0(color);
    plwidth(2.0);
    pllsty(style);
    plline(PLINT(xs.size()), xs.data(), ys.data());
    PLFLT endX = xs.back(), endY = ys.back();
    plpoin(1, &endX, &endY, 17);
    labels.push_back(plplotText(c.label));
    options.push_back(PL_LEGEND_LINE);
    colors.push_back(color);
    styles.push_back(style);
    widths.push_back(2.0);
    textColors.push_back(1);
  }
  pllsty(1);
  plwidth(1.0);

  if (!curves.empty()) {
    std::vector<const char *> text;
    for (const std::string &l : labels)
      text.push_back(l.c_str());
    PLFLT legendWidth = 0, legendHeight = 0;
    pllegend(&legendWidth, &legendHeight, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_RIGHT | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT, 0.03, 0.0,
             0.06, /*bg_color=*/0, /*bb_color=*/1, /*bb_style=*/1, 0, 0,
             PLINT(curves.size()), options.data(), 1.0, 0.7, 2.0, 0.0, textColors.data(),
             text.data(), nullptr, nullptr, nullptr, nullptr, colors.data(), styles.data(),
             widths.data(), nullptr, nullptr, nullptr, nullptr);
  } else {
    plcol0(1);
    plmtex("t", -2.0, 0.5, 0.5, "no correct trial to draw");
  }
  plend1();
  return true;
}

} // namespace

std::string blockc::fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

void blockc::printTable(llvm::raw_ostream &out, const std::vector<std::vector<std::string>> &rows,
                const std::vector<bool> &rightAligned) {
  std::vector<size_t> width(rightAligned.size(), 0);
  for (const auto &row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  for (const auto &row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i)
        line += "  ";
      std::string pad(width[i] - row[i].size(), ' ');
      line += rightAligned[i] ? pad + row[i] : (i + 1 < row.size() ? row[i] + pad : row[i]);
    }
    out << line << '\n';
  }
}

int blockc::runReport(const std::string &dbPath, const std::string &pngPath,
                      llvm::raw_ostream &out, llvm::raw_ostream &err) {
  llvm::Expected<TuningDatabase> db = TuningDatabase::load(dbPath);
  if (!db) {
    err << "error: " << llvm::toString(db.takeError()) << "\n";
    return 1;
  }
  printRecords(out, dbPath, *db);

  std::string trialsPath = dbPath + ".trials";
  std::string png = pngPath.empty() ? dbPath + ".png" : pngPath;
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(trialsPath, /*IsText=*/true);
  if (!buffer) {
    out << "no trial log " << trialsPath << " (" << buffer.getError().message()
        << "): no tuning curve drawn\n";
    return 0;
  }
  TrialLog log = readTrialLog(trialsPath, **buffer, err);
  out << "trial log " << trialsPath << ": " << log.total
      << (log.total == 1 ? " trial" : " trials");
  const char *separator = " (";
  for (const auto &[status, count] : log.statusCounts) {
    out << separator << status << " " << count;
    separator = ", ";
  }
  out << (log.statusCounts.empty() ? "\n" : ")\n");

  std::vector<Curve> curves = buildCurves(log, *db, out);
  out.flush();
  if (!drawCurves(curves, png, err))
    return 1;
  out << "tuning curve: " << curves.size() << (curves.size() == 1 ? " kernel" : " kernels")
      << " drawn into " << png << "\n";
  return 0;
}

int blockc::runReport(const std::string &dbPath, const std::string &pngPath) {
  int code = runReport(dbPath, pngPath, llvm::outs(), llvm::errs());
  llvm::outs().flush();
  return code;
}
