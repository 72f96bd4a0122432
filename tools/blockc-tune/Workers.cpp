//===- Workers.cpp - worker processes with time limits --------------------===//
#include "Workers.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

using namespace blockc::tune;

namespace {
volatile std::sig_atomic_t stopSignal = 0;

void onSignal(int sig) {
  if (stopSignal) { // a second Ctrl-C: stop now (workers die with us)
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  stopSignal = sig;
}

struct Running {
  size_t job;
  pid_t pid;
  Clock::time_point start;
};

/// Kills a worker's whole process group and reaps the worker.
void killGroup(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

pid_t spawn(const WorkerJob &job, std::string &error) {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, 1, job.logPath.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group (a terminal's Ctrl-C goes to the tuner's group only), default
  // signal handling and an empty signal mask.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t defaults, mask;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGHUP);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigemptyset(&mask);
  posix_spawnattr_setsigmask(&attr, &mask);

  std::vector<char *> argv;
  for (const std::string &a : job.argv)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &files, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    error = std::string("cannot start a worker (") + job.argv[0] + "): " + std::strerror(rc);
    return -1;
  }
  return pid;
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
} // namespace

void blockc::tune::installInterruptHandlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int blockc::tune::interruptSignal() { return stopSignal; }

std::string blockc::tune::selfExecutable() {
  char buffer[4096];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0)
    return "/proc/self/exe";
  return std::string(buffer, static_cast<size_t>(n));
}

void blockc::tune::becomeWorker() {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1) // the tuner is already gone
    ::_exit(1);
}

std::vector<WorkerOutcome> blockc::tune::runWorkers(const std::vector<WorkerJob> &jobs,
                                                    int parallel,
                                                    std::optional<Clock::time_point> deadline,
                                                    const std::function<void()> &tick) {
  std::vector<WorkerOutcome> outcomes(jobs.size());
  std::vector<Running> running;
  size_t next = 0;
  Clock::time_point lastTick = Clock::now();
  const size_t limit = static_cast<size_t>(std::max(1, parallel));
  for (;;) {
    const bool stop = stopSignal || (deadline && Clock::now() >= *deadline);
    if (stop) {
      for (const Running &r : running) {
        killGroup(r.pid);
        outcomes[r.job].kind = WorkerOutcome::Cancelled;
        outcomes[r.job].seconds = secondsSince(r.start);
      }
      running.clear();
      break; // the jobs not started stay Cancelled
    }
    while (running.size() < limit && next < jobs.size()) {
      std::string error;
      const Clock::time_point start = Clock::now();
      pid_t pid = spawn(jobs[next], error);
      if (pid < 0) {
        outcomes[next].kind = WorkerOutcome::SpawnFailed;
        outcomes[next].error = error;
      } else {
        running.push_back(Running{next, pid, start});
      }
      ++next;
    }
    if (running.empty())
      break;
    for (size_t i = 0; i < running.size();) {
      Running &r = running[i];
      int status = 0;
      pid_t done = ::waitpid(r.pid, &status, WNOHANG);
      WorkerOutcome &out = outcomes[r.job];
      if (done == r.pid) {
        out.seconds = secondsSince(r.start);
        if (WIFEXITED(status)) {
          out.kind = WorkerOutcome::Exited;
          out.code = WEXITSTATUS(status);
        } else {
          out.kind = WorkerOutcome::Signaled;
          out.code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        }
        ::kill(-r.pid, SIGKILL); // anything it left behind in its group
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      if (secondsSince(r.start) > jobs[r.job].timeLimitS) {
        killGroup(r.pid);
        out.kind = WorkerOutcome::TimedOut;
        out.seconds = secondsSince(r.start);
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      ++i;
    }
    if (tick && secondsSince(lastTick) >= 0.5) {
      tick();
      lastTick = Clock::now();
    }
    if (!running.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return outcomes;
}

std::string blockc::tune::describeOutcome(const WorkerOutcome &outcome) {
  std::ostringstream s;
  switch (outcome.kind) {
  case WorkerOutcome::Exited:
    s << "exited with status " << outcome.code;
    break;
  case WorkerOutcome::Signaled: {
    const char *name = sigabbrev_np(outcome.code);
    s << "killed by signal " << outcome.code;
    if (name)
      s << " (SIG" << name << ")";
    break;
  }
  case WorkerOutcome::TimedOut:
    s << "killed after " << static_cast<int>(outcome.seconds + 0.5) << " s (its time limit)";
    break;
  case WorkerOutcome::Cancelled:
    s << "cancelled";
    break;
  case WorkerOutcome::SpawnFailed:
    s << outcome.error;
    break;
  }
  return s.str();
}

std::string blockc::tune::logTail(const std::string &path, size_t maxChars) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return "";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const bool cut = text.size() > maxChars;
  if (cut)
    text = text.substr(text.size() - maxChars);
  const size_t first = text.find_first_not_of(" \t\r\n");
  const size_t last = text.find_last_not_of(" \t\r\n");
  if (first == std::string::npos)
    return "";
  text = text.substr(first, last - first + 1);
  return cut ? "..." + text : text;
}
