// End to end: `clearhouse serve` as an operator meets it: config errors and a missing file are
// usage errors (exit 2, one line naming file, line and field), a port in use is refused (no
// SO_REUSEPORT), and SIGTERM drains: new requests get 503, a stream in flight completes (or, past
// the grace period, is cut and settled with what it generated), the process exits 0 and the ledger
// has nothing open. Synchronisation is on the "listening on" line, on received bytes and on log
// lines: never a sleep.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "ledger/ledger.h"
#include "serve_test_util.h"

namespace clearhouse::cli {
namespace {

using clearhouse::testing::eventually;
using clearhouse::testing::run_clearhouse;
using clearhouse::testing::slurp;
using ledger::Ledger;
using ledger::RequestState;
using testing::json;
using testing::Received;

int line_count(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// The content chunks of a (possibly cut) stream.
std::int64_t content_chunks(const std::string& body) {
  std::int64_t n = 0;
  for (const std::string& p : http::parse_sse(body)) {
    if (p == http::kSseDonePayload) continue;
    const json chunk = json::parse(p);
    if (!chunk["choices"].empty() && !chunk["choices"][0]["delta"].value("content", "").empty())
      ++n;
  }
  return n;
}

// The request's ledger record once the gateway has exited, which must leave no reservation open.
std::optional<ledger::RequestRecord> record_after_exit(const std::filesystem::path& dir,
                                                       const std::string& request_id) {
  base::SystemClock clock;
  const ledger::Ledger ledger =
      ledger::Ledger::open((dir / "ledger.db").string(), clock, {.read_only = true});
  EXPECT_EQ(ledger.totals().overall.open_requests, 0);
  return ledger.find(request_id);
}

TEST(ServeE2E, HelpMentionsTheConfigOption) {
  const auto r = run_clearhouse("serve --help");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--config"), std::string::npos) << r.out;
}

TEST(ServeE2E, AConfigErrorExitsTwoWithOneLineNamingFileLineAndField) {
  const auto dir = clearhouse::testing::scratch_dir();
  const auto config = dir / "gateway.yaml";
  {
    std::ofstream out(config);
    out << "ledger: ledger.db\n"
           "budget:\n"
           "  completion_tokens: -5\n"
           "upstreams:\n"
           "  - {name: replay, base_url: \"http://127.0.0.1:9\", model: m}\n";
  }
  const auto r = run_clearhouse("serve --config " + config.string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(line_count(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(config.string() + ":3: budget.completion_tokens"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(std::filesystem::exists(dir / "ledger.db"));  // nothing starts on a bad config

  const auto missing = run_clearhouse("serve --config " + (dir / "nope.yaml").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(line_count(missing.err), 1) << missing.err;
  EXPECT_NE(missing.err.find((dir / "nope.yaml").string()), std::string::npos) << missing.err;

  const auto no_option = run_clearhouse("serve");
  EXPECT_EQ(no_option.exit_code, 2);
  EXPECT_NE(no_option.err.find("--config"), std::string::npos) << no_option.err;
}

TEST(ServeE2E, ASecondGatewayOnAPortInUseExitsTwo) {
  const auto dir = clearhouse::testing::scratch_dir();
  std::filesystem::create_directories(dir / "first");
  std::filesystem::create_directories(dir / "second");
  // Nothing listens on port 9: the upstream is never called here.
  auto first =
      testing::start_serve(testing::write_gateway_config(dir / "first", 9), dir / "first.stderr");
  ASSERT_GT(first->wait_listening(), 0) << first->first_line() << first->stderr_text();
  const auto second_config = testing::write_gateway_config(dir / "second", 9);
  const auto r = run_clearhouse("serve --config " + second_config.string() + " --port " +
                                std::to_string(first->port()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
  // The first one still answers.
  httplib::Client client("127.0.0.1", first->port());
  const auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(first->terminate(), 0) << first->stderr_text();
}

// A gateway with a stream in flight receives SIGTERM. Returns what the stream's client received.
struct DrainRun {
  Received stream;
  int exit_code = -1;
  std::string serve_log;
  Received during_drain;  // a request sent while draining
};

DrainRun sigterm_during_stream(const std::filesystem::path& dir,
                               const std::string& tokens_per_second, std::int64_t max_tokens,
                               const std::string& extra_config) {
  DrainRun run;
  auto replay = testing::start_replay(dir, {"--tokens-per-second", tokens_per_second});
  EXPECT_GT(replay->wait_listening(), 0) << replay->stderr_text();
  auto gateway = testing::start_serve(
      testing::write_gateway_config(dir, replay->port(), extra_config), dir / "serve.stderr");
  const int port = gateway->wait_listening();
  EXPECT_GT(port, 0) << gateway->first_line() << gateway->stderr_text();
  if (port <= 0) return run;

  std::atomic<bool> first_token{false};
  std::thread client([&] {
    run.stream = testing::post(
        port, "/v1/chat/completions",
        testing::chat("Not a recorded question.", {{"stream", true},
                                                   {"max_tokens", max_tokens},
                                                   {"stream_options", {{"include_usage", true}}}}),
        [&](const std::string& body) {
          if (content_chunks(body) > 0) first_token = true;
        });
  });
  EXPECT_TRUE(eventually([&] { return first_token.load(); }));
  ::kill(gateway->pid(), SIGTERM);
  // Draining starts on the signal thread: then new requests are refused with 503.
  EXPECT_TRUE(eventually([&] {
    return gateway->stderr_text().find("draining") != std::string::npos;
  })) << gateway->stderr_text();
  run.during_drain = testing::post(port, "/v1/chat/completions", testing::chat("hello"));
  client.join();
  run.exit_code = gateway->wait();
  run.serve_log = gateway->stderr_text();
  EXPECT_EQ(replay->terminate(), 0) << replay->stderr_text();
  return run;
}

TEST(ServeE2E, SigtermLetsAStreamInFlightFinishThenExitsZeroWithNothingOpen) {
  const auto dir = clearhouse::testing::scratch_dir();
  // 60 tokens at 20 per second: three seconds of stream, well within the 30 s of grace.
  const DrainRun run = sigterm_during_stream(dir, "20", 60, "");
  EXPECT_EQ(run.exit_code, 0) << run.serve_log;
  EXPECT_EQ(run.during_drain.status, 503) << run.during_drain.body;
  EXPECT_EQ(json::parse(run.during_drain.body)["error"]["code"], "shutting_down");
  const auto tokens = testing::acknowledged_tokens(run.stream, /*stream=*/true);
  ASSERT_TRUE(tokens.has_value()) << run.stream.body;
  EXPECT_EQ(*tokens, 60);
  EXPECT_EQ(run.stream.error, httplib::Error::Success);

  const auto record = record_after_exit(dir, run.stream.request_id);
  ASSERT_TRUE(record.has_value()) << run.stream.request_id;
  EXPECT_EQ(record->state, ledger::RequestState::kSettled);
  EXPECT_EQ(record->used_tokens, 60);
  EXPECT_NE(run.serve_log.find("0 still reserved"), std::string::npos) << run.serve_log;
}

TEST(ServeE2E, PastTheGracePeriodAStreamIsCutAndChargedItsReservation) {
  const auto dir = clearhouse::testing::scratch_dir();
  // 100 tokens at 10 per second would take 10 s; the grace period is 0.2 s.
  const DrainRun run =
      sigterm_during_stream(dir, "10", 100, "limits: {shutdown_grace_seconds: 0.2}\n");
  EXPECT_EQ(run.exit_code, 0) << run.serve_log;
  EXPECT_NE(run.serve_log.find("grace period over"), std::string::npos) << run.serve_log;
  EXPECT_FALSE(testing::acknowledged_tokens(run.stream, /*stream=*/true).has_value());
  const std::int64_t received = content_chunks(run.stream.body);
  EXPECT_GT(received, 0);
  EXPECT_LT(received, 100);

  const auto record = record_after_exit(dir, run.stream.request_id);
  ASSERT_TRUE(record.has_value()) << run.stream.request_id;
  EXPECT_EQ(record->state, ledger::RequestState::kSettled);
  // Charged the whole reservation: the upstream may have generated more than arrived before the
  // cut (nothing tells how much), and spend that may have happened is never forgotten.
  EXPECT_EQ(record->used_tokens, 100);
}

}  // namespace
}  // namespace clearhouse::cli
