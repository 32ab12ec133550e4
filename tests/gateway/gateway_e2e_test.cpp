// End to end, in one process over real sockets (gateway_test_util.h): completions through the
// gateway to the replay upstream, the caps it sends, usage in streams, and abandonment and budget
// rejections. Every test also checks that the ledger is settled afterwards and that what it counted
// is what the client was told.
#include <gtest/gtest.h>

#include <string>

#include "gateway_test_util.h"

namespace clearhouse::gateway::testing {
namespace {

constexpr const char* kChat = "/v1/chat/completions";
constexpr const char* kCompletions = "/v1/completions";

std::int64_t completion_tokens(const Reply& r) {
  return r.json_body()["usage"]["completion_tokens"].get<std::int64_t>();
}

TEST(GatewayE2E, ChatCompletionIsServedAndSettledWithTheReportedUsage) {
  GatewayRig rig;
  const tools::RecordedOutput& answer = long_answer();
  const Reply r = rig.post(kChat, chat_body(answer, {{"max_tokens", 30}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json_body();
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_FALSE(body["choices"][0]["message"]["content"].get<std::string>().empty());
  EXPECT_EQ(completion_tokens(r), 30);
  EXPECT_EQ(r.header("x-clearhouse-cap"), "30");
  EXPECT_EQ(r.header("x-clearhouse-upstream"), kUpstreamName);

  EXPECT_TRUE(rig.ledger_settled());
  const auto record = rig.record(r);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, ledger::RequestState::kSettled);
  EXPECT_EQ(record->key_id, "alice");
  EXPECT_EQ(record->upstream, kUpstreamName);
  EXPECT_EQ(record->reserved_tokens, 30);
  EXPECT_EQ(record->used_tokens, 30);
  EXPECT_NEAR(record->payment_usd, 30 * 1.0 / 1e6, 1e-12);
  EXPECT_EQ(rig.spent(), 30);
}

TEST(GatewayE2E, LegacyCompletionIsServedAndSettled) {
  GatewayRig rig;
  const tools::RecordedOutput& answer = long_answer();
  const Reply r = rig.post(kCompletions, completion_body(answer, {{"max_tokens", 25}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json_body();
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_FALSE(body["choices"][0]["text"].get<std::string>().empty());
  EXPECT_EQ(completion_tokens(r), 25);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 25);
}

TEST(GatewayE2E, ShortAnswerSettlesWhatWasUsedAndReleasesTheRestOfTheCap) {
  GatewayRig rig;
  // An answer shorter than the gateway's cap: the whole answer, and only its tokens are spent.
  const tools::RecordedOutput* shortest = nullptr;
  for (const tools::RecordedOutput& r : shared_store()->records()) {
    if (r.model == kModel && !r.question.empty() && r.output_tokens < kGatewayCap / 2 &&
        r.output_tokens > 5) {
      shortest = &r;
      break;
    }
  }
  ASSERT_NE(shortest, nullptr);
  const Reply r = rig.post(kChat, chat_body(*shortest));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(completion_tokens(r), shortest->output_tokens);
  EXPECT_EQ(r.header("x-clearhouse-cap"), std::to_string(kGatewayCap));
  EXPECT_TRUE(rig.ledger_settled());
  const auto record = rig.record(r);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->reserved_tokens, kGatewayCap);
  EXPECT_EQ(record->used_tokens, shortest->output_tokens);
  EXPECT_EQ(rig.spent(), shortest->output_tokens);
}

TEST(GatewayE2E, StreamingChatEndsWithDoneAndSettlesWhatWasStreamed) {
  GatewayRig rig;
  const StreamReply s =
      rig.stream(kChat, chat_body(long_answer(), {{"stream", true}, {"max_tokens", 40}}));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.header("Content-Type").rfind("text/event-stream", 0), 0u) << s.header("Content-Type");
  EXPECT_EQ(s.error, httplib::Error::Success);
  EXPECT_TRUE(s.ends_with_done());
  EXPECT_EQ(s.content_chunks(), 40);
  EXPECT_FALSE(s.has_error_event());
  EXPECT_EQ(s.header("x-clearhouse-cap"), "40");
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 40);
}

TEST(GatewayE2E, StreamingLegacyCompletionEndsWithDone) {
  GatewayRig rig;
  const StreamReply s = rig.stream(
      kCompletions, completion_body(long_answer(), {{"stream", true}, {"max_tokens", 12}}));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_TRUE(s.ends_with_done());
  EXPECT_EQ(s.content_chunks(), 12);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 12);
}

// The upstream is asked for min(client cap, gateway cap) under both cap fields; the replay reports
// what it served, so usage shows the cap it received.
TEST(GatewayE2E, UpstreamReceivesTheSmallerOfTheClientsAndTheGatewaysCap) {
  GatewayRig rig;
  const tools::RecordedOutput& answer = long_answer(2 * kGatewayCap);
  struct Case {
    json caps;
    std::int64_t expected;
  };
  const Case cases[] = {
      {json::object(), kGatewayCap},                              // no client cap: ours
      {{{"max_tokens", 17}}, 17},                                 // the client's, lower
      {{{"max_completion_tokens", 23}}, 23},                      // the newer field
      {{{"max_tokens", 50}, {"max_completion_tokens", 31}}, 31},  // both: the smaller
      {{{"max_tokens", 5000}}, kGatewayCap},                      // above ours: lowered
      {{{"max_completion_tokens", 100000}}, kGatewayCap},
      {{{"max_tokens", kGatewayCap}}, kGatewayCap},
  };
  std::int64_t spent = 0;
  for (const Case& c : cases) {
    const Reply r = rig.post(kChat, chat_body(answer, c.caps));
    ASSERT_EQ(r.status, 200) << c.caps << r.body;
    EXPECT_EQ(r.header("x-clearhouse-cap"), std::to_string(c.expected)) << c.caps;
    EXPECT_EQ(completion_tokens(r), c.expected) << c.caps;
    spent += completion_tokens(r);
    const auto record = rig.record(r);
    ASSERT_TRUE(record);
    EXPECT_EQ(record->reserved_tokens, c.expected) << c.caps;
  }
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), spent);
}

// Even when the gateway's own cap would be larger (degrade mode's fixed cap, a big budget), a
// client's smaller cap is what the upstream gets.
TEST(GatewayE2E, GatewayNeverRaisesAClientsCap) {
  GatewayRig rig({.configure = [](GatewayConfig& c) {
    c.budget_tokens = 1000;  // CLEAR abandons everything ...
    c.on_abandon = AbandonAction::kDegrade;
    c.degrade_tokens = 64;  // ... and degrade would send 64
  }});
  const Reply r = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 9}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-clearhouse-cap"), "9");
  EXPECT_EQ(completion_tokens(r), 9);
  const StreamReply s =
      rig.stream(kChat, chat_body(long_answer(), {{"stream", true}, {"max_completion_tokens", 3}}));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.header("x-clearhouse-cap"), "3");
  EXPECT_EQ(s.content_chunks(), 3);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 12);
}

TEST(GatewayE2E, StreamWithoutIncludeUsageShowsNoUsageChunk) {
  GatewayRig rig;
  const StreamReply s =
      rig.stream(kChat, chat_body(long_answer(), {{"stream", true}, {"max_tokens", 20}}));
  ASSERT_EQ(s.status, 200) << s.body;
  ASSERT_TRUE(s.ends_with_done());
  EXPECT_FALSE(s.usage());
  for (const json& c : s.chunks()) {
    EXPECT_FALSE(c.contains("usage")) << c;   // not even "usage": null
    EXPECT_FALSE(c["choices"].empty()) << c;  // no usage-only chunk
  }
  // The gateway asked the upstream for usage anyway and settled with it.
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), s.content_chunks());
  EXPECT_EQ(rig.spent(), 20);
}

TEST(GatewayE2E, StreamWithIncludeUsageEndsWithTheUsageChunk) {
  GatewayRig rig;
  const StreamReply s =
      rig.stream(kChat, chat_body(long_answer(), {{"stream", true},
                                                  {"max_tokens", 20},
                                                  {"stream_options", {{"include_usage", true}}}}));
  ASSERT_EQ(s.status, 200) << s.body;
  ASSERT_TRUE(s.ends_with_done());
  const auto usage = s.usage();
  ASSERT_TRUE(usage);
  EXPECT_EQ((*usage)["completion_tokens"], 20);
  const std::vector<json> chunks = s.chunks();
  ASSERT_FALSE(chunks.empty());
  EXPECT_TRUE(chunks.back()["choices"].empty()) << chunks.back();  // the usage chunk comes last
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), (*usage)["completion_tokens"].get<std::int64_t>());
}

TEST(GatewayE2E, TinyBudgetMakesClearAbandonWith429ThatSaysRetryingWillNotHelp) {
  GatewayRig rig({.configure = [](GatewayConfig& c) { c.budget_tokens = 100; }});
  const Reply r = rig.post(kChat, chat_body(long_answer()));
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_TRUE(is_openai_error(r.body, "query_abandoned"));
  EXPECT_EQ(r.json_body()["error"]["type"], "rate_limit_error");
  EXPECT_EQ(r.header("x-should-retry"), "false");
  EXPECT_EQ(r.header("Retry-After"), "");
  // Abandoned before reserving: nothing recorded, nothing spent.
  EXPECT_EQ(rig.requests_recorded(), 0);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 0);
  const std::string metrics = rig.get("/metrics").body;
  EXPECT_EQ(metric_value(metrics, "clearhouse_abandoned_requests_total", R"(action="reject")"),
            1.0);
}

TEST(GatewayE2E, DegradeServesAbandonedQueriesWithTheDegradeCap) {
  GatewayRig rig({.configure = [](GatewayConfig& c) {
    c.budget_tokens = 100;  // below the predicted need: CLEAR abandons
    c.on_abandon = AbandonAction::kDegrade;
    c.degrade_tokens = 16;
  }});
  const Reply r = rig.post(kChat, chat_body(long_answer()));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-clearhouse-cap"), "16");
  EXPECT_EQ(completion_tokens(r), 16);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 16);
  const std::string metrics = rig.get("/metrics").body;
  EXPECT_EQ(metric_value(metrics, "clearhouse_abandoned_requests_total", R"(action="degrade")"),
            1.0);
}

TEST(GatewayE2E, SpentBudgetIsRejectedWithBudgetExhausted) {
  // Degrade sends 64 tokens; the budget fits 50: the first request gets what is left, the next
  // none.
  GatewayRig rig({.configure = [](GatewayConfig& c) {
    c.budget_tokens = 50;
    c.on_abandon = AbandonAction::kDegrade;
    c.degrade_tokens = 64;
  }});
  const Reply first = rig.post(kChat, chat_body(long_answer()));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-clearhouse-cap"), "50");
  EXPECT_EQ(completion_tokens(first), 50);
  EXPECT_EQ(rig.spent(), 50);

  const Reply second = rig.post(kChat, chat_body(long_answer()));
  ASSERT_EQ(second.status, 429) << second.body;
  EXPECT_TRUE(is_openai_error(second.body, "budget_exhausted"));
  EXPECT_FALSE(second.header("Retry-After").empty());
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 50);  // never beyond the budget
  EXPECT_EQ(rig.requests_recorded(), 1);
  EXPECT_EQ(metric_value(rig.get("/metrics").body, "clearhouse_budget_rejections_total"), 1.0);
}

TEST(GatewayE2E, KeyWithItsOwnSmallBudgetIsRejectedWithKeyBudgetExhausted) {
  GatewayRig rig;
  // bob's budget (kBobBudget) cannot hold the gateway's cap: the cap shrinks to what bob has left,
  // and his spend counts against his budget.
  const Reply bob = rig.post(kChat, chat_body(long_answer()), kBobKey);
  ASSERT_EQ(bob.status, 200) << bob.body;
  EXPECT_EQ(bob.header("x-clearhouse-cap"), std::to_string(kBobBudget));
  EXPECT_EQ(completion_tokens(bob), kBobBudget);
  EXPECT_EQ(rig.ledger().key_window_totals("bob").spent_tokens, kBobBudget);

  // Once it is spent, bob is refused; alice, without a budget of her own, is still served.
  const Reply more = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 1}}), kBobKey);
  ASSERT_EQ(more.status, 429) << more.body;
  EXPECT_TRUE(is_openai_error(more.body, "key_budget_exhausted"));
  EXPECT_FALSE(more.header("Retry-After").empty());
  EXPECT_EQ(rig.requests_recorded(), 1);

  const Reply alice = rig.post(kChat, chat_body(long_answer()), kAliceKey);
  EXPECT_EQ(alice.status, 200) << alice.body;
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), kBobBudget + completion_tokens(alice));
}

}  // namespace
}  // namespace clearhouse::gateway::testing
