// End to end, in one process over real sockets, against an upstream that reports usage in each
// shape servers use (OpenAI's usage-only chunk, llama.cpp's final chunk with choices and usage,
// vLLM's continuous usage, none at all) and with reasoning tokens: the ledger settles the
// completion tokens the upstream reported, once, equal to the usage the client saw; reasoning
// tokens are recorded and exported apart, never added; a declared thinking budget reaches the
// upstream below the cap; the cap travels in the field the upstream honours.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway_test_util.h"
#include "hostile_upstream.h"

namespace clearhouse::gateway::testing {
namespace {

constexpr const char* kChat = "/v1/chat/completions";

// The HostileUpstream as the rig's one upstream, its config adjusted by `configure`.
struct UsageRig {
  explicit UsageRig(std::function<void(UpstreamConfig&)> configure = {})
      : rig({.configure = [this, adjust = std::move(configure)](GatewayConfig& c) {
          c.upstreams[0].base_url = upstream.base_url();
          if (adjust) adjust(c.upstreams[0]);
        }}) {}

  [[nodiscard]] double metric(const std::string& name, const std::string& labels = {}) const {
    return metric_value(rig.get("/metrics").body, name, labels).value_or(-1);
  }

  HostileUpstream upstream;  // before the rig: the rig's config names its port
  GatewayRig rig;
};

json chat_request(bool stream, bool include_usage = false) {
  json body = {{"model", kModel}, {"messages", {{{"role", "user"}, {"content", "2+2?"}}}}};
  if (stream) body["stream"] = true;
  if (include_usage) body["stream_options"] = {{"include_usage", true}};
  return body;
}

// Every usage object the client saw in a stream.
std::vector<json> usages_seen(const StreamReply& r) {
  std::vector<json> out;
  for (const json& c : r.chunks()) {
    if (c.is_object() && c.contains("usage") && c["usage"].is_object()) out.push_back(c["usage"]);
  }
  return out;
}

TEST(GatewayE2EUsage, ReasoningTokensAreRecordedAndExportedApart) {
  UsageRig h;
  h.upstream.script({40});
  h.upstream.shape(UsageShape::kUsageOnlyChunks, 30);
  const Reply whole = h.rig.post(kChat, chat_request(false));
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto w = h.rig.record(whole);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->used_tokens, 40);
  EXPECT_EQ(w->reasoning_tokens, 30);

  const StreamReply streamed = h.rig.stream(kChat, chat_request(true));
  ASSERT_TRUE(streamed.ends_with_done());
  const auto s = h.rig.record(streamed);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->used_tokens, 40);
  EXPECT_EQ(s->reasoning_tokens, 30);

  // The budget is charged the completion tokens (which include the reasoning), once.
  EXPECT_EQ(h.rig.spent(), 80);
  EXPECT_EQ(h.metric("clearhouse_tokens_used_total"), 80);
  EXPECT_EQ(h.metric("clearhouse_reasoning_tokens_total"), 60);
  EXPECT_EQ(h.rig.ledger().totals().overall.reasoning_tokens, 60);
  EXPECT_TRUE(h.rig.ledger_settled());
}

// More reasoning than completion tokens cannot be true: the upstream's protocol error.
TEST(GatewayE2EUsage, ReasoningAboveTheCompletionCountIsAProtocolError) {
  UsageRig h;
  h.upstream.script({10});
  h.upstream.shape(UsageShape::kUsageOnlyChunks, 11);
  const StreamReply r = h.rig.stream(kChat, chat_request(true));
  const auto record = h.rig.record(r);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->used_tokens, record->reserved_tokens);
  EXPECT_EQ(record->reasoning_tokens, 0);
  EXPECT_EQ(h.metric("clearhouse_upstream_protocol_errors_total",
                     std::string("upstream=\"") + kUpstreamName + "\""),
            1);
  EXPECT_TRUE(h.rig.ledger_settled());
}

TEST(GatewayE2EUsage, ContinuousUsageIsSettledOnTheFinalCount) {
  UsageRig h;
  h.upstream.script({60});
  h.upstream.shape(UsageShape::kContinuous, 24);
  const StreamReply seen = h.rig.stream(kChat, chat_request(true, /*include_usage=*/true));
  ASSERT_TRUE(seen.ends_with_done());
  ASSERT_FALSE(seen.has_error_event());
  const auto record = h.rig.record(seen);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->used_tokens, 60);
  EXPECT_EQ(record->reasoning_tokens, 24);
  // The client saw the growing counts, and the last it saw is what it was charged.
  const std::vector<json> usages = usages_seen(seen);
  ASSERT_GE(usages.size(), 2u);
  EXPECT_LT(usages.front()["completion_tokens"].get<std::int64_t>(), 60);
  EXPECT_EQ(usages.back()["completion_tokens"], record->used_tokens);
  EXPECT_EQ(usages.back()["completion_tokens_details"]["reasoning_tokens"],
            record->reasoning_tokens);

  // Without include_usage, the client sees no usage at all, and the charge is the same.
  const StreamReply quiet = h.rig.stream(kChat, chat_request(true));
  EXPECT_TRUE(usages_seen(quiet).empty());
  EXPECT_EQ(quiet.content_chunks(), HostileUpstream::kContentChunks);
  EXPECT_EQ(h.rig.record(quiet)->used_tokens, 60);
  EXPECT_EQ(h.metric("clearhouse_upstream_protocol_errors_total",
                     std::string("upstream=\"") + kUpstreamName + "\""),
            0);
  EXPECT_EQ(h.metric("clearhouse_reasoning_tokens_total"), 48);
  EXPECT_TRUE(h.rig.ledger_settled());
}

TEST(GatewayE2EUsage, LlamaCppFinalChunkIsCountedOnce) {
  UsageRig h;
  h.upstream.script({9});
  h.upstream.shape(UsageShape::kFinalChunk, 4);
  const StreamReply quiet = h.rig.stream(kChat, chat_request(true));
  ASSERT_TRUE(quiet.ends_with_done());
  EXPECT_TRUE(usages_seen(quiet).empty());
  // The final chunk reaches the client with its finish_reason, without the usage.
  const std::vector<json> chunks = quiet.chunks();
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks.back()["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(h.rig.record(quiet)->used_tokens, 9);
  EXPECT_EQ(h.rig.record(quiet)->reasoning_tokens, 4);

  const StreamReply seen = h.rig.stream(kChat, chat_request(true, /*include_usage=*/true));
  const std::vector<json> usages = usages_seen(seen);
  ASSERT_EQ(usages.size(), 1u);
  EXPECT_EQ(usages[0]["completion_tokens"], h.rig.record(seen)->used_tokens);
  EXPECT_EQ(h.rig.spent(), 18);
  EXPECT_TRUE(h.rig.ledger_settled());
}

TEST(GatewayE2EUsage, AStreamWithoutUsageIsEstimated) {
  UsageRig h;
  h.upstream.script({});
  const StreamReply r = h.rig.stream(kChat, chat_request(true));
  ASSERT_TRUE(r.ends_with_done());
  const auto record = h.rig.record(r);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->used_tokens, HostileUpstream::kContentChunks);
  EXPECT_EQ(record->reasoning_tokens, 0);
  EXPECT_TRUE(h.rig.ledger_settled());
}

// A declared thinking budget reaches the upstream as cap - answer_reserve, whatever the client sent
// in that field; the cap itself is unchanged.
TEST(GatewayE2EUsage, AThinkingBudgetIsSentBelowTheCap) {
  UsageRig h([](UpstreamConfig& u) {
    u.thinking_budget_field = "thinking_token_budget";
    u.answer_reserve = 50;
  });
  h.upstream.script({7});
  json body = chat_request(false);
  body["thinking_token_budget"] = 100000;
  const Reply r = h.rig.post(kChat, body);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::int64_t cap = std::stoll(r.header("x-clearhouse-cap"));
  const std::vector<json> sent = h.upstream.bodies();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["max_tokens"], cap);
  EXPECT_EQ(sent[0]["thinking_token_budget"], cap - 50);
  EXPECT_LT(sent[0]["thinking_token_budget"].get<std::int64_t>(), cap);

  // Not declared: the gateway does not know the field and passes it on.
  UsageRig plain;
  plain.upstream.script({7});
  ASSERT_EQ(plain.rig.post(kChat, body).status, 200);
  EXPECT_EQ(plain.upstream.bodies().at(0)["thinking_token_budget"], 100000);
}

// The cap travels in the field the upstream honours: max_completion_tokens alone where the config
// says so, and max_tokens on /v1/completions whatever the client sent (vLLM ignores
// max_completion_tokens there).
TEST(GatewayE2EUsage, TheCapIsSentInTheFieldTheUpstreamHonours) {
  UsageRig h(
      [](UpstreamConfig& u) { u.max_tokens_field = openai::MaxTokensField::kMaxCompletionTokens; });
  h.upstream.script({7});
  json chat = chat_request(false);
  chat["max_tokens"] = 50;
  ASSERT_EQ(h.rig.post(kChat, chat).status, 200);
  const json completions = {{"model", kModel}, {"prompt", "2+2?"}, {"max_completion_tokens", 40}};
  const Reply r = h.rig.post("/v1/completions", completions);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::vector<json> sent = h.upstream.bodies();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0]["max_completion_tokens"], 50);
  EXPECT_FALSE(sent[0].contains("max_tokens")) << sent[0].dump();
  EXPECT_EQ(sent[1]["max_tokens"], 40);
  EXPECT_FALSE(sent[1].contains("max_completion_tokens")) << sent[1].dump();
  EXPECT_TRUE(h.rig.ledger_settled());
}

}  // namespace
}  // namespace clearhouse::gateway::testing
