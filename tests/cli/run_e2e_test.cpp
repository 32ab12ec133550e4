// `clearhouse run` end to end: the real binary against the replay upstream (recorded answers of
// data/), counted by the upstream's side (run_test_util.h).

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "run_test_util.h"
#include "support/child_process.h"
#include "support/eventually.h"
#include "support/run_binary.h"

namespace clearhouse::testing {
namespace {

TEST(RunE2e, SpendsNoMoreThanTheBudgetAndWritesOneLinePerQuery) {
  CountingReplay replay;
  const auto dir = scratch_dir();
  // A small tau as every query's prior median: first slices are short, so answers get continued.
  const Batch batch = write_batch(dir, 60, {}, 0, /*tau=*/40);
  const std::int64_t budget = 60 * 120;
  const RunResult r = run_clearhouse("run --input " + batch.path + " --out " +
                                     (dir / "out.jsonl").string() + " --upstream " + replay.url() +
                                     " --budget " + std::to_string(budget) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(replay.usage(), budget);
  const json summary = json::parse(r.out);
  EXPECT_EQ(summary["spent"], replay.usage());
  EXPECT_EQ(summary["requests"], replay.requests());
  const std::vector<json> lines = read_lines(dir / "out.jsonl");
  ASSERT_EQ(lines.size(), 60u);
  std::set<std::string> ids;
  for (const json& line : lines) ids.insert(line["custom_id"].get<std::string>());
  EXPECT_EQ(ids.size(), 60u);
  EXPECT_EQ(summary["answered"].get<std::size_t>() + summary["abandoned"].get<std::size_t>(), 60u);
  // Continuation is exact on the replay upstream: a finished answer, however many rounds it took,
  // is the recorded answer with its recorded length.
  std::size_t continued = 0;
  for (const json& line : lines) {
    if (!line["clearhouse"]["finished"].get<bool>()) continue;
    EXPECT_EQ(line["clearhouse"]["tokens"], batch.tokens_of.at(line["custom_id"]));
    if (line["clearhouse"]["rounds"].get<int>() > 1) ++continued;
  }
  EXPECT_GT(continued, 0u) << "no answer was continued: the test does not exercise continuation";
}

TEST(RunE2e, OneShotPolicyServesEachQueryOnce) {
  CountingReplay replay;
  const auto dir = scratch_dir();
  const Batch batch = write_batch(dir, 20);
  const RunResult r =
      run_clearhouse("run --input " + batch.path + " --out " + (dir / "out.jsonl").string() +
                     " --upstream " + replay.url() + " --per-query 150 --policy uniform");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Without --quiet and off a terminal: plain progress lines, the last one at the end of the run.
  EXPECT_NE(r.err.find("run: 20/20 done, "), std::string::npos) << r.err;
  EXPECT_EQ(replay.requests(), 20);
  EXPECT_LE(replay.usage(), 20 * 150);
  for (const auto& [prompt, count] : replay.requests_by_prompt()) EXPECT_EQ(count, 1);
}

TEST(RunE2e, BadInputExitsTwoNamingTheLineAndSendsNothing) {
  CountingReplay replay;
  const auto dir = scratch_dir();
  const Batch batch = write_batch(dir, 3);
  {
    std::ofstream out(batch.path, std::ios::app);
    out << R"({"custom_id": "x", "method": "POST", "url": "/v1/embeddings", "body": {}})"
        << "\n";
  }
  const RunResult r =
      run_clearhouse("run --input " + batch.path + " --out " + (dir / "out.jsonl").string() +
                     " --upstream " + replay.url() + " --budget 1000");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(batch.path + ":4: url: unknown url"), std::string::npos) << r.err;
  EXPECT_EQ(replay.requests(), 0);
  const RunResult negative =
      run_clearhouse("run --input " + batch.path + " --out " + (dir / "o2.jsonl").string() +
                     " --upstream " + replay.url() + " --budget -5");
  EXPECT_EQ(negative.exit_code, 2);
}

TEST(RunE2e, AnUnreachableUpstreamIsAClearErrorAndNothingIsWrittenAsDone) {
  const auto dir = scratch_dir();
  const Batch batch = write_batch(dir, 3);
  // Port 1 on the loopback: nothing listens there, the connection is refused at once.
  const RunResult r =
      run_clearhouse("run --input " + batch.path + " --out " + (dir / "out.jsonl").string() +
                     " --upstream http://127.0.0.1:1 --budget 1000 --retries 1 "
                     "--backoff 0.01 --quiet");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot reach the upstream"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(dir / "out.jsonl"), "");
}

TEST(RunE2e, AStateFromAnotherInputIsRefused) {
  CountingReplay replay;
  const auto dir = scratch_dir();
  const Batch batch = write_batch(dir, 3);
  const std::string common = " --out " + (dir / "out.jsonl").string() + " --upstream " +
                             replay.url() + " --quiet --budget ";
  ASSERT_EQ(run_clearhouse("run --input " + batch.path + common + "1000").exit_code, 0);
  const RunResult other = run_clearhouse("run --input " + batch.path + common + "2000");
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("another input or other options"), std::string::npos) << other.err;
}

struct FaultRun {
  json summary;
  json faulty_line;
  int faulty_requests = 0;
  std::int64_t upstream_usage = 0;
};

// Five queries, the third with `fault` in its body, two retries.
FaultRun run_with_fault(const std::string& fault, bool real_time = false,
                        const std::string& options = "") {
  CountingReplay replay(real_time);
  const auto dir = scratch_dir();
  const Batch batch = write_batch(dir, 5, fault, 2);
  const RunResult r = run_clearhouse("run --input " + batch.path + " --out " +
                                     (dir / "out.jsonl").string() + " --upstream " + replay.url() +
                                     " --budget 5000 --retries 2 --backoff 0.01 --quiet" + options);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  FaultRun result;
  result.summary = json::parse(r.out);
  const std::string& faulty = batch.ids.at(2);
  result.faulty_requests = replay.requests_by_prompt()[batch.question_of.at(faulty)];
  result.upstream_usage = replay.usage();
  for (const json& line : read_lines(dir / "out.jsonl")) {
    if (line["custom_id"] == faulty) result.faulty_line = line;
  }
  return result;
}

TEST(RunE2e, A500IsRetriedThenReportedOnItsLineChargingNothing) {
  const FaultRun f = run_with_fault("status=500");
  EXPECT_EQ(f.faulty_requests, 3);  // one request and two retries
  EXPECT_EQ(f.summary["errors"], 1);
  EXPECT_EQ(f.faulty_line["error"]["code"], "request_failed");
  EXPECT_NE(f.faulty_line["error"]["message"].get<std::string>().find("HTTP 500"),
            std::string::npos);
  EXPECT_EQ(f.faulty_line["clearhouse"]["charged"], 0);
  EXPECT_EQ(f.summary["spent"], f.upstream_usage);
}

TEST(RunE2e, ABrokenConnectionIsRetriedAndChargedItsCap) {
  const FaultRun f = run_with_fault("close-after=0");
  EXPECT_EQ(f.faulty_requests, 3);
  EXPECT_EQ(f.faulty_line["error"]["code"], "request_failed");
  EXPECT_EQ(f.faulty_line["clearhouse"]["tokens"], 0);
  // The upstream may have generated every cap it was sent: each attempt is charged.
  EXPECT_GT(f.faulty_line["clearhouse"]["charged"].get<std::int64_t>(), 0);
  EXPECT_EQ(f.summary["spent"].get<std::int64_t>(),
            f.upstream_usage + f.faulty_line["clearhouse"]["charged"].get<std::int64_t>());
  EXPECT_LE(f.summary["spent"].get<std::int64_t>(), 5000);
}

TEST(RunE2e, ADelayBeyondTheTimeoutIsRetriedAndChargedItsCap) {
  // The upstream waits 5 s before answering the faulty query; run gives up on each attempt after
  // 0.3 s (wall time spent by the binary, not a synchronisation of the test).
  const FaultRun f = run_with_fault("delay-ms=5000", /*real_time=*/true, " --timeout 0.3");
  EXPECT_EQ(f.faulty_requests, 3);
  EXPECT_EQ(f.faulty_line["error"]["code"], "request_failed");
  EXPECT_NE(f.faulty_line["error"]["message"].get<std::string>().find("timeout"), std::string::npos)
      << f.faulty_line.dump();
  EXPECT_GT(f.faulty_line["clearhouse"]["charged"].get<std::int64_t>(), 0);
  EXPECT_LE(f.summary["spent"].get<std::int64_t>(), 5000);
}

TEST(RunE2e, ResumesAfterSigkillWithoutResendingFinishedQueries) {
  CountingReplay replay;
  const auto dir = scratch_dir();
  const Batch batch = write_batch(dir, 40);
  const std::int64_t budget = 40 * 150;
  const std::vector<std::string> args = {"run",
                                         "--input",
                                         batch.path,
                                         "--out",
                                         (dir / "out.jsonl").string(),
                                         "--upstream",
                                         replay.url(),
                                         "--budget",
                                         std::to_string(budget),
                                         "--rate",
                                         "10",
                                         "--concurrency",
                                         "2",
                                         "--quiet"};
  {
    ChildProcess first(args, dir / "first.err");
    ASSERT_TRUE(eventually([&] { return whole_lines(dir / "out.jsonl").size() >= 8; }))
        << slurp(dir / "first.err");
    first.kill(SIGKILL);
  }
  const std::vector<json> before = whole_lines(dir / "out.jsonl");
  ASSERT_LT(before.size(), 40u) << "the first run finished before the kill";
  const std::map<std::string, int> sent_before = replay.requests_by_prompt();
  const std::int64_t usage_before = replay.usage();
  std::string command;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--rate") {
      ++i;  // the second run at full speed
      continue;
    }
    command += " " + args[i];
  }
  const RunResult second = run_clearhouse(command);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const std::map<std::string, int> sent_after = replay.requests_by_prompt();
  for (const json& line : before) {
    const std::string& question = batch.question_of.at(line["custom_id"].get<std::string>());
    EXPECT_EQ(sent_after.at(question), sent_before.at(question))
        << line["custom_id"] << " was written before the kill and sent again";
  }
  EXPECT_GT(replay.usage(), usage_before);
  EXPECT_LE(replay.usage(), budget);
  const std::vector<json> lines = read_lines(dir / "out.jsonl");
  ASSERT_EQ(lines.size(), 40u);
  std::set<std::string> ids;
  for (const json& line : lines) ids.insert(line["custom_id"].get<std::string>());
  EXPECT_EQ(ids.size(), 40u);
}

// Group commit under kills with requests in flight: the upstream holds every request 100 ms (and
// counts its usage when it answers, whether or not the client is still there), so each SIGKILL
// lands with about `concurrency` requests in flight. Whatever the moment, a query whose line was
// written is never sent again, the charged total never undercounts what the upstream generated nor
// passes the budget, and the output ends with one whole line per query.
TEST(RunE2e, RepeatedKillsNeverResendAReportedQueryNorUndercountTheBudget) {
  CountingReplay replay(/*real_time=*/true);
  const auto dir = scratch_dir();
  const std::size_t n = 48;
  // A short tau: first slices are short, so answers are continued across the kills.
  const Batch batch = write_batch(
      dir, BatchSpec{.n = n, .fault = "delay-ms=100", .fault_every_line = true, .tau = 40});
  const std::int64_t budget = static_cast<std::int64_t>(n) * 150;
  const std::string out = (dir / "out.jsonl").string();
  const std::vector<std::string> args = {"run",           "--input",  batch.path,
                                         "--out",         out,        "--upstream",
                                         replay.url(),    "--budget", std::to_string(budget),
                                         "--concurrency", "8",        "--quiet"};
  std::map<std::string, int> frozen;  // prompt of a reported query -> its requests when reported
  for (int kill = 1; kill <= 3; ++kill) {
    const std::size_t before = whole_lines(out).size();
    {
      ChildProcess run(args, dir / "run.err");
      ASSERT_TRUE(eventually([&] { return whole_lines(out).size() > before; }))
          << slurp(dir / "run.err");
      run.kill(SIGKILL);
    }
    const std::map<std::string, int> sent = replay.requests_by_prompt();
    for (const json& line : whole_lines(out)) {
      const std::string& question = batch.question_of.at(line["custom_id"].get<std::string>());
      frozen.emplace(question, sent.at(question));
    }
  }
  ASSERT_LT(frozen.size(), n) << "the runs finished before the kills";
  std::string command;
  for (const std::string& a : args) command += " " + a;
  const RunResult last = run_clearhouse(command);
  ASSERT_EQ(last.exit_code, 0) << last.err;
  const std::map<std::string, int> sent = replay.requests_by_prompt();
  for (const auto& [question, count] : frozen) {
    EXPECT_EQ(sent.at(question), count) << "a reported query was sent again";
  }
  const json summary = json::parse(last.out);
  EXPECT_GE(summary["spent"].get<std::int64_t>(), replay.usage());
  EXPECT_LE(summary["spent"].get<std::int64_t>(), budget);
  const std::vector<json> lines = read_lines(out);
  ASSERT_EQ(lines.size(), n);
  std::set<std::string> ids;
  for (const json& line : lines) ids.insert(line["custom_id"].get<std::string>());
  EXPECT_EQ(ids.size(), n);
}

}  // namespace
}  // namespace clearhouse::testing
