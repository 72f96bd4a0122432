//===- Progress.h - the tuner's progress line ---------------------*- C++ -*-===//
//
// One line on stderr: trials done (of those planned, with --trials), the elapsed time
// (of the budget, with --budget), the kernel being tuned and the best speed-up so far of
// each kernel. On a terminal it is redrawn in place ('\r'); otherwise a new line is
// printed after each round. Other messages are printed above it.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_PROGRESS_H
#define BLOCKC_TUNE_PROGRESS_H

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace blockc::tune {

/// "1m05s", "12.3s".
std::string formatDuration(double seconds);

class Progress {
public:
  /// `terminal`: redraw in place (default: whether stderr is a terminal).
  explicit Progress(std::vector<std::string> kernels, std::optional<bool> terminal = {});

  void setPlanned(std::optional<int64_t> trials) { planned = trials; }
  void setBudget(std::optional<double> seconds) { budgetS = seconds; }
  void setCurrent(const std::string &kernel, const std::string &what = "");
  void setSpeedup(size_t kernel, std::optional<double> speedup);
  void addTrial() { ++done; }

  /// Redraws the line (terminal only), at most a few times a second unless `force`.
  void tick(bool force = false);
  /// The end of a round: redraws, or prints a line when not on a terminal.
  void roundDone();
  /// Prints `text` on a line of its own above the progress line.
  void message(const std::string &text);
  /// Clears the progress line (terminal only).
  void finish();

  double elapsedS() const;
  std::string line() const;

private:
  std::vector<std::string> kernels;
  std::vector<std::optional<double>> speedups;
  bool terminal;
  bool shown = false;
  std::optional<int64_t> planned;
  std::optional<double> budgetS;
  int64_t done = 0;
  std::string current, currentWhat;
  std::chrono::steady_clock::time_point start, lastDraw;
};

} // namespace blockc::tune

#endif // BLOCKC_TUNE_PROGRESS_H
