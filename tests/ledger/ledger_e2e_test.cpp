// End-to-end tests of `clearhouse ledger` through the real binary, on ledgers written by the
// library.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ledger/csv.h"
#include "ledger/ledger.h"
#include "ledger/ledger_test_util.h"

namespace clearhouse::ledger::testing {
namespace {

using clearhouse::testing::run_clearhouse;
using clearhouse::testing::slurp;
using nlohmann::json;

const std::string kNow = " --now " + std::to_string(kT0);

// A small ledger: two keys, two upstreams, a settled, a released and an open request.
std::string make_ledger(const std::filesystem::path& dir) {
  const std::string path = (dir / "ledger.db").string();
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(path, clock);
  ledger.configure_budget({.window_seconds = 3600, .global_tokens = 10000});
  ledger.set_key_budget("alice", 2000);
  ledger.reserve("r1", "alice", "vllm", 500);
  ledger.settle("r1", 320, 0.0032, /*reasoning_tokens=*/200);
  ledger.reserve("r2", "bob", "openai", 1000);
  ledger.release("r2");
  ledger.reserve("r3", "bob", "vllm", 700);
  return path;
}

TEST(LedgerE2E, JsonTotalsPerKeyAndUpstream) {
  const std::string db = make_ledger(clearhouse::testing::scratch_dir());
  const auto r = run_clearhouse("ledger --db " + db + " --json" + kNow);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["window_seconds"], 3600);
  EXPECT_EQ(j["overall"]["requests"], 3);
  EXPECT_EQ(j["overall"]["open_requests"], 1);
  EXPECT_EQ(j["overall"]["spent_tokens"], 320);
  EXPECT_EQ(j["overall"]["reasoning_tokens"], 200);  // of the 320, never added to them
  EXPECT_EQ(j["by_key"]["alice"]["reasoning_tokens"], 200);
  EXPECT_EQ(j["by_upstream"]["vllm"]["reasoning_tokens"], 200);
  EXPECT_EQ(j["by_upstream"]["openai"]["reasoning_tokens"], 0);
  EXPECT_EQ(j["overall"]["reserved_tokens"], 700);
  EXPECT_NEAR(j["overall"]["payment_usd"].get<double>(), 0.0032, 1e-12);
  EXPECT_EQ(j["window"]["budget_tokens"], 10000);
  EXPECT_EQ(j["window"]["remaining_tokens"], 10000 - 320 - 700);
  EXPECT_EQ(j["by_key"]["alice"]["spent_tokens"], 320);
  EXPECT_EQ(j["by_key"]["bob"]["reserved_tokens"], 700);
  EXPECT_EQ(j["key_windows"]["alice"]["remaining_tokens"], 2000 - 320);
  EXPECT_TRUE(j["key_windows"]["bob"]["budget_tokens"].is_null());
  EXPECT_EQ(j["by_upstream"]["vllm"]["requests"], 2);
  EXPECT_EQ(j["by_upstream"]["openai"]["spent_tokens"], 0);

  // An hour later the window is fresh: the open request belongs to the old one.
  const auto later =
      run_clearhouse("ledger --db " + db + " --json --now " + std::to_string(kT0 + 3'600'000));
  ASSERT_EQ(later.exit_code, 0) << later.err;
  EXPECT_EQ(json::parse(later.out)["window"]["remaining_tokens"], 10000);
}

TEST(LedgerE2E, TextReportAndCsvExport) {
  const auto dir = clearhouse::testing::scratch_dir();
  const std::string db = make_ledger(dir);
  const std::string csv = (dir / "out.csv").string();
  const auto r = run_clearhouse("ledger --db " + db + " --csv " + csv + kNow);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("overall: 3 requests (1 open), spent 320 tokens, reserved 700 tokens"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("remaining 8980"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("200 of the spent tokens were reasoning"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reasoning"), r.out.rfind("reasoning")) << r.out;  // and a column
  EXPECT_NE(r.out.find("alice"), std::string::npos);
  EXPECT_NE(r.out.find("openai"), std::string::npos);
  base::ManualClock clock(kT0);
  const Ledger ledger = Ledger::open(db, clock, {.read_only = true});
  EXPECT_EQ(slurp(csv), ledger_csv(ledger));

  const auto to_stdout = run_clearhouse("ledger --db " + db + " --csv -" + kNow);
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, ledger_csv(ledger));
}

TEST(LedgerE2E, SaysOnStderrWhenTheJournalHoldsWritesNotYetInTheFile) {
  const std::string db = make_ledger(clearhouse::testing::scratch_dir());
  const auto clean = run_clearhouse("ledger --db " + db + " --json" + kNow);
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(clean.err, "");  // closed cleanly: the journal is empty
  // What a crashed gateway leaves: bytes in a journal file (applied at the next read-write open).
  std::ofstream(db + "-writes-1", std::ios::binary) << std::string(100, 'x');
  const auto noted = run_clearhouse("ledger --db " + db + " --json" + kNow);
  ASSERT_EQ(noted.exit_code, 0) << noted.err;
  EXPECT_NE(noted.err.find("note: " + db + " has 100 bytes of journaled writes"), std::string::npos)
      << noted.err;
  EXPECT_EQ(json::parse(noted.out)["overall"]["requests"], 3);  // stdout stays pure JSON
}

TEST(LedgerE2E, MissingCorruptOrNewerLedgerIsAUsageErrorNamingTheFile) {
  const auto dir = clearhouse::testing::scratch_dir();
  const std::string missing = (dir / "missing.db").string();
  auto r = run_clearhouse("ledger --db " + missing);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  const std::string junk = (dir / "junk.db").string();
  {
    std::ofstream out(junk);
    out << "not a database at all, but long enough to look like a header of something\n";
  }
  r = run_clearhouse("ledger --db " + junk);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(junk), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("corrupt"), std::string::npos) << r.err;

  const std::string truncated = (dir / "truncated.db").string();
  {
    const std::string good = slurp(make_ledger(dir));
    std::ofstream out(truncated, std::ios::binary);
    out << good.substr(0, 100);  // a valid header, then nothing
  }
  r = run_clearhouse("ledger --db " + truncated);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(truncated), std::string::npos) << r.err;

  EXPECT_EQ(run_clearhouse("ledger").exit_code, 2);  // --db is required
}

}  // namespace
}  // namespace clearhouse::ledger::testing
