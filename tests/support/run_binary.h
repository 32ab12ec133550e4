// Runs the real `clearhouse` binary for end-to-end tests (shared by every tests/ folder): arguments
// are passed through /bin/sh with stdout and stderr captured in files of a per-test directory.
// Arguments must not need shell quoting beyond what the caller writes.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

namespace clearhouse::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh, empty directory for the current test (kind "test") or for the runner's captured output
// (kind "run"); each call empties the directory of that kind.
inline std::filesystem::path scratch_dir(const std::string& kind = "test") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  // The pid too: two test processes of the same suite (two checkouts, a repeated run) never share
  // a directory.
  std::string name = std::string("clearhouse-") + kind + "-" + info->test_suite_name() + "-" +
                     info->name() + "-" + std::to_string(::getpid());
  std::replace(name.begin(), name.end(), '/', '_');
  auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// args: everything after the binary name, as a shell fragment. stdin_path: fed to standard input.
inline RunResult run_clearhouse(const std::string& args,
                                const std::string& stdin_path = "/dev/null") {
  const auto dir = scratch_dir("run");
  const auto out = dir / "stdout";
  const auto err = dir / "stderr";
  const std::string cmd = std::string(CLEARHOUSE_BIN) + " " + args + " > " + out.string() + " 2> " +
                          err.string() + " < " + stdin_path;
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Runs a shell command line (through /bin/sh) in directory `cwd`, standard input from /dev/null
// unless the line redirects it; captures what it leaves on stdout and stderr.
inline RunResult run_shell_in(const std::filesystem::path& cwd, const std::string& command_line) {
  const auto dir = scratch_dir("run");
  const auto out = dir / "stdout";
  const auto err = dir / "stderr";
  const auto script = dir / "command.sh";
  {
    std::ofstream file(script);
    file << "cd '" << cwd.string() << "' || exit 126\n" << command_line << "\n";
  }
  const std::string cmd =
      "/bin/sh " + script.string() + " > " + out.string() + " 2> " + err.string() + " < /dev/null";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// As run_clearhouse, with `input` written to a file and fed to standard input.
inline RunResult run_clearhouse_with_input(const std::string& args, const std::string& input) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("clearhouse-stdin-" + std::to_string(::getpid()) + "-" +
                     std::to_string(std::hash<std::string>{}(args + input)));
  {
    std::ofstream out(path, std::ios::binary);
    out << input;
  }
  RunResult r = run_clearhouse(args, path.string());
  std::filesystem::remove(path);
  return r;
}

inline std::string fixture(const std::string& relative) {
  return std::string(CLEARHOUSE_FIXTURES) + "/" + relative;
}

}  // namespace clearhouse::testing
