// The gateway's pacing and refusals end to end (gateway_test_util.h: real sockets, the replay
// upstream, a ManualClock): the shipped example config serves a burst and a steady trickle without
// a single 429; a pressed budget abandons with a refusal a client will not retry; an exhausted
// budget says honestly when tokens come back.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "gateway_test_util.h"

namespace clearhouse::gateway::testing {
namespace {

constexpr const char* kChat = "/v1/chat/completions";
constexpr const char* kExampleTeamKey = "ch-demo-team-a-key-change-me";  // examples/gateway.yaml

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// examples/gateway.yaml as shipped, but on the rig's ledger, port and replay upstream.
void use_the_example_config(GatewayConfig& c) {
  const std::filesystem::path example =
      std::string(CLEARHOUSE_SOURCE_DIR) + "/examples/gateway.yaml";
  GatewayConfig shipped =
      parse_gateway_config(clearhouse::testing::slurp(example), example.string(),
                           [](const std::string&) { return std::nullopt; });
  shipped.ledger_path = c.ledger_path;
  shipped.listen_host = c.listen_host;
  shipped.listen_port = c.listen_port;
  shipped.upstreams.at(0).base_url = c.upstreams.at(0).base_url;
  c = shipped;
}

// The first experience, fixed: 100 requests back to back, then 100 at one per second, on
// the example's 1,000,000 tokens per hour: the budget affords them all, and all are served.
TEST(GatewayPacingE2E, TheExampleConfigServesABurstThenOnePerSecondWithoutA429) {
  GatewayRig rig({.configure = use_the_example_config});
  for (int i = 0; i < 200; ++i) {
    if (i >= 100) rig.clock().advance_ms(1000);
    const Reply r = rig.post(kChat, chat_body(long_answer()), kExampleTeamKey);
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.body;
    // At least t*(0) = 256 + 256; more while spend runs below the even line (the slack share).
    EXPECT_GE(std::stoll(std::string(r.header("x-clearhouse-cap"))), 512) << "request " << i;
  }
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_LE(rig.spent(), 1'000'000);
}

// Spending far ahead of the plan line raises the price until CLEAR abandons: the 429 tells the
// client not to retry, gives no Retry-After, and says what the budget affords and what to change.
TEST(GatewayPacingE2E, AbandonmentAheadOfThePlanLineSaysRetryingWillNotHelp) {
  GatewayRig rig({.configure = [](GatewayConfig& c) { c.budget_tokens = 20'000; }});
  Reply refused;
  int served = 0;
  for (int i = 0; i < 100 && refused.status == 0; ++i) {
    const Reply r = rig.post(kChat, chat_body(long_answer()));
    if (r.status == 200) {
      ++served;
    } else {
      refused = r;
    }
  }
  ASSERT_EQ(refused.status, 429) << "never refused after " << served << " requests";
  EXPECT_GE(served, 10);  // the burst headroom (10% of the budget) was served first
  EXPECT_TRUE(is_openai_error(refused.body, "query_abandoned")) << refused.body;
  EXPECT_EQ(refused.header("x-should-retry"), "false");
  EXPECT_EQ(refused.header("Retry-After"), "");
  const std::string message = refused.json_body()["error"]["message"];
  EXPECT_PRED2(contains, message, "shadow price");
  EXPECT_PRED2(contains, message, "on_abandon: degrade");
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_LE(rig.spent(), 20'000);
}

// An exhausted budget: Retry-After is the time to the next window when that is within the 30 s
// ceiling (x-should-retry: true), else the ceiling with x-should-retry: false; the next window
// serves again.
TEST(GatewayPacingE2E, BudgetExhaustedSaysHonestlyWhenTokensComeBack) {
  GatewayRig rig({.configure = [](GatewayConfig& c) {
    c.budget_tokens = 50;
    c.window_seconds = 60;
    c.on_abandon = AbandonAction::kDegrade;
    c.degrade_tokens = 64;
  }});
  // The clock starts 20 s into a minute: 40 s are left in the window.
  ASSERT_EQ(kClockStartMs % 60'000, 20'000);
  ASSERT_EQ(rig.post(kChat, chat_body(long_answer())).status, 200);
  const Reply later = rig.post(kChat, chat_body(long_answer()));
  ASSERT_EQ(later.status, 429) << later.body;
  EXPECT_TRUE(is_openai_error(later.body, "budget_exhausted"));
  EXPECT_EQ(later.header("Retry-After"), "30");
  EXPECT_EQ(later.header("x-should-retry"), "false");
  EXPECT_PRED2(contains, later.json_body()["error"]["message"].get<std::string>(),
               "renews in 40 s");

  rig.clock().advance_ms(15'000);
  const Reply soon = rig.post(kChat, chat_body(long_answer()));
  ASSERT_EQ(soon.status, 429) << soon.body;
  EXPECT_EQ(soon.header("Retry-After"), "25");
  EXPECT_EQ(soon.header("x-should-retry"), "true");

  rig.clock().advance_ms(25'000);
  EXPECT_EQ(rig.post(kChat, chat_body(long_answer())).status, 200);
  EXPECT_TRUE(rig.ledger_settled());
}

}  // namespace
}  // namespace clearhouse::gateway::testing
