// The README's `Use` block, run as written. Every command line of the block runs through /bin/sh,
// in order, in a fresh directory laid out like a clone after `scripts/build.sh`: data/ (the shipped
// records), a copy of examples/, and build/clearhouse (the binary under test). Each line must exit
// 0 and leave its output: the files it names after `>`, `--out` or `--summary`, else text on
// stdout.
//
// Not run here: the two lines that start long-running servers (`replay-upstream ... &` and
// `serve`); the gateway's end-to-end tests start both (tests/cli/serve_e2e_test.cpp,
// tests/tools/replay_upstream_e2e_test.cpp). The `ledger` line reads the ledger `serve` leaves
// in examples/; an empty ledger opened with the ledger library stands in for it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/clock.h"
#include "ledger/ledger.h"
#include "support/run_binary.h"

namespace clearhouse::testing {
namespace {

namespace fs = std::filesystem;

// The command lines of the first ```sh block after "## Use", continuation lines joined, comment
// and blank lines dropped.
std::vector<std::string> use_block_commands(const std::string& readme) {
  std::istringstream in(readme);
  std::string line;
  while (std::getline(in, line) && line != "## Use") {
  }
  while (std::getline(in, line) && line.rfind("```sh", 0) != 0) {
  }
  std::vector<std::string> commands;
  std::string pending;
  while (std::getline(in, line) && line.rfind("```", 0) != 0) {
    if (!line.empty() && line.back() == '\\') {
      pending += line.substr(0, line.size() - 1);
      continue;
    }
    const std::string command = pending + line;
    pending.clear();
    if (command.find_first_not_of(' ') == std::string::npos || command[0] == '#') continue;
    commands.push_back(command);
  }
  return commands;
}

std::vector<std::string> words(const std::string& command) {
  std::istringstream in(command);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool starts_server(const std::string& command) {
  return command.find("clearhouse serve ") != std::string::npos ||
         command.find("clearhouse replay-upstream ") != std::string::npos;
}

// The paths a command writes: after `>`, `--out` and `--summary`.
std::vector<std::string> written_paths(const std::string& command) {
  const std::vector<std::string> w = words(command);
  std::vector<std::string> paths;
  for (std::size_t i = 0; i + 1 < w.size(); ++i) {
    if (w[i] == ">" || w[i] == "--out" || w[i] == "--summary") paths.push_back(w[i + 1]);
  }
  return paths;
}

bool has_content(const fs::path& path) {
  if (fs::is_directory(path)) return !fs::is_empty(path);
  return fs::is_regular_file(path) && fs::file_size(path) > 0;
}

// A directory like a clone after the build: data/ (read-only use), examples/ (copied: the ledger
// line's file lands there), build/clearhouse.
fs::path clone_like_directory() {
  const fs::path dir = scratch_dir();
  const fs::path source(CLEARHOUSE_SOURCE_DIR);
  fs::create_directory_symlink(source / "data", dir / "data");
  fs::copy(source / "examples", dir / "examples", fs::copy_options::recursive);
  fs::create_directories(dir / "build");
  fs::create_symlink(fs::absolute(CLEARHOUSE_BIN), dir / "build" / "clearhouse");
  return dir;
}

TEST(ReadmeUse, EveryCommandRunsAsWrittenAndLeavesItsOutput) {
  const std::vector<std::string> commands =
      use_block_commands(slurp(fs::path(CLEARHOUSE_SOURCE_DIR) / "README.md"));
  ASSERT_GE(commands.size(), 10u) << "the README's Use block was not found";
  const fs::path dir = clone_like_directory();
  std::size_t servers = 0;
  for (const std::string& command : commands) {
    SCOPED_TRACE(command);
    if (starts_server(command)) {
      ++servers;
      continue;
    }
    if (command.find("clearhouse ledger ") != std::string::npos) {
      base::ManualClock clock(0);
      (void)ledger::Ledger::open((dir / "examples" / "gateway.db").string(), clock);
    }
    const RunResult r = run_shell_in(dir, command);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<std::string> paths = written_paths(command);
    for (const std::string& path : paths) EXPECT_TRUE(has_content(dir / path)) << path;
    if (paths.empty()) {
      EXPECT_FALSE(r.out.empty()) << "nothing on stdout";
    }
  }
  EXPECT_EQ(servers, 2u) << "replay-upstream and serve, covered by the gateway's e2e tests";
  // --json without --out left the main job's report/ alone (only fit and market write under it).
  EXPECT_FALSE(fs::exists(dir / "report" / "results.json"));
}

}  // namespace
}  // namespace clearhouse::testing
