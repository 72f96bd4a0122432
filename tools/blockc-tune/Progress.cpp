//===- Progress.cpp - the tuner's progress line ---------------------------===//
#include "Progress.h"

#include <cmath>
#include <cstdio>
#include <sys/ioctl.h>
#include <unistd.h>

using namespace blockc::tune;

std::string blockc::tune::formatDuration(double seconds) {
  char buffer[32];
  if (seconds < 60)
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  else if (seconds < 3600)
    std::snprintf(buffer, sizeof buffer, "%dm%02ds", int(seconds) / 60, int(seconds) % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%dh%02dm", int(seconds) / 3600,
                  (int(seconds) / 60) % 60);
  return buffer;
}

Progress::Progress(std::vector<std::string> kernels, std::optional<bool> terminal)
    : kernels(std::move(kernels)), speedups(this->kernels.size()),
      terminal(terminal ? *terminal : ::isatty(2) == 1), start(std::chrono::steady_clock::now()),
      lastDraw(start) {}

double Progress::elapsedS() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Progress::setCurrent(const std::string &kernel, const std::string &what) {
  current = kernel;
  currentWhat = what;
}

void Progress::setSpeedup(size_t kernel, std::optional<double> speedup) {
  if (kernel < speedups.size())
    speedups[kernel] = speedup;
}

std::string Progress::line() const {
  std::string text = "[" + std::to_string(done);
  if (planned)
    text += "/" + std::to_string(*planned);
  text += " trials] " + formatDuration(elapsedS());
  if (budgetS)
    text += " of " + formatDuration(*budgetS);
  if (!current.empty() || !currentWhat.empty())
    text += " | " + current + (current.empty() || currentWhat.empty() ? "" : " ") + currentWhat;
  text += " |";
  for (size_t i = 0; i < kernels.size(); ++i) {
    char buffer[32];
    if (speedups[i])
      std::snprintf(buffer, sizeof buffer, " %.2fx", *speedups[i]);
    else
      std::snprintf(buffer, sizeof buffer, " -");
    text += " " + kernels[i] + buffer;
  }
  return text;
}

void Progress::tick(bool force) {
  if (!terminal)
    return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && shown && std::chrono::duration<double>(now - lastDraw).count() < 0.25)
    return;
  lastDraw = now;
  std::string text = line();
  struct winsize size;
  if (::ioctl(2, TIOCGWINSZ, &size) == 0 && size.ws_col > 4 && text.size() >= size.ws_col)
    text = text.substr(0, size.ws_col - 4) + "...";
  std::fprintf(stderr, "\r%s\033[K", text.c_str());
  std::fflush(stderr);
  shown = true;
}

void Progress::roundDone() {
  if (terminal) {
    tick(true);
    return;
  }
  std::fprintf(stderr, "%s\n", line().c_str());
  std::fflush(stderr);
}

void Progress::message(const std::string &text) {
  if (terminal && shown)
    std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", text.c_str());
  if (terminal && shown)
    tick(true);
  std::fflush(stderr);
}

void Progress::finish() {
  if (terminal && shown)
    std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown = false;
}
