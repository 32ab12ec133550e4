// ChildProcess: the real `clearhouse` binary running in the background, for end-to-end tests of the
// servers (`serve`, `replay-upstream`). Started with posix_spawn; stdout comes back through a pipe
// so a test can wait for the "listening on HOST:PORT" line (the synchronisation point: never a
// sleep), and stderr goes to a file the test can read at any time (logs, sanitizer reports).
//
// The destructor SIGKILLs and reaps a child that is still running, so a failed assertion never
// leaks a server; tests that care about the exit status call terminate() or kill() and check the
// result. Not thread-safe: one test thread drives one ChildProcess.
//
//   ChildProcess replay({"replay-upstream", "--data", data, "--port", "0"}, dir / "replay.err");
//   ASSERT_GT(replay.wait_listening(), 0) << replay.stderr_text();
//   ... talk to 127.0.0.1:replay.port() ...
//   EXPECT_EQ(replay.terminate(), 0);
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/eventually.h"
#include "support/run_binary.h"

extern char** environ;

namespace clearhouse::testing {

class ChildProcess {
 public:
  // args: everything after the binary name. stderr_path: where the child's stderr goes (truncated).
  ChildProcess(const std::vector<std::string>& args, std::filesystem::path stderr_path)
      : stderr_path_(std::move(stderr_path)) {
    std::vector<std::string> all = {CLEARHOUSE_BIN};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addclose(&actions, out[1]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      throw std::runtime_error("posix_spawn " + all[0] + " failed");
    }
    stdout_fd_ = out[0];
  }

  ~ChildProcess() {
    if (running()) kill(SIGKILL);
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads stdout until the "listening on HOST:PORT" line (or EOF, or timeout); returns the port, or
  // -1 when the child exited or stayed silent (first_line() then tells what it printed instead).
  int wait_listening(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (stdout_.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{stdout_fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[512];
      const ssize_t n = read(stdout_fd_, buf, sizeof(buf));
      if (n <= 0) break;
      stdout_.append(buf, static_cast<std::size_t>(n));
    }
    const std::string line = first_line();
    const std::string prefix = "listening on ";
    const auto colon = line.rfind(':');
    if (line.rfind(prefix, 0) != 0 || colon == std::string::npos) return -1;
    port_ = std::stoi(line.substr(colon + 1));
    return port_;
  }

  // Sends `signal` and reaps the child; returns its exit code, or 128 + the signal that ended it.
  int kill(int signal_number) {
    if (!running()) return exit_code_;
    ::kill(pid_, signal_number);
    return wait();
  }
  // SIGTERM: the servers' graceful stop.
  int terminate() { return kill(SIGTERM); }

  // Waits for the child to exit on its own.
  int wait() {
    if (!running()) return exit_code_;
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    waited_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }

  [[nodiscard]] bool running() const { return pid_ > 0 && !waited_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string first_line() const { return stdout_.substr(0, stdout_.find('\n')); }
  [[nodiscard]] std::string stderr_text() const { return slurp(stderr_path_); }

 private:
  std::filesystem::path stderr_path_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int port_ = -1;
  bool waited_ = false;
  int exit_code_ = -1;
  std::string stdout_;
};

}  // namespace clearhouse::testing
