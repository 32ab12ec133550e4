// End to end, in one process over real sockets (gateway_test_util.h): authentication, the admin and
// operational routes (/admin/state, /metrics, /health), malformed requests, and draining.
#include <gtest/gtest.h>

#include <string>

#include "gateway_test_util.h"

namespace clearhouse::gateway::testing {
namespace {

constexpr const char* kChat = "/v1/chat/completions";

TEST(GatewayE2EAccess, CompletionsNeedAValidKey) {
  GatewayRig rig;
  const json body = chat_body(long_answer(), {{"max_tokens", 5}});
  for (const std::string& key :
       {std::string(), std::string("ch-not-a-key"), std::string(kAdminKey)}) {
    const Reply r = rig.post(kChat, body, key);
    EXPECT_EQ(r.status, 401) << "key '" << key << "': " << r.body;
    EXPECT_TRUE(is_openai_error(r.body, "invalid_api_key"));
    EXPECT_EQ(r.json_body()["error"]["type"], "authentication_error");
  }
  // A wrong scheme is no key either.
  const Reply basic = rig.request("POST", kChat, body.dump(), "",
                                  {{"Authorization", std::string("Basic ") + kAliceKey}});
  EXPECT_EQ(basic.status, 401);
  EXPECT_EQ(rig.requests_recorded(), 0);  // nothing reserved for an unauthenticated request

  const Reply ok = rig.post(kChat, body, kAliceKey);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 5);
}

// admit_head checks the key on the request's head and names it in head.principal; the handler
// then serves the request as that key without hashing the secret again.
TEST(GatewayE2EAccess, AdmitHeadNamesTheKeyTheHandlerCharges) {
  GatewayRig rig;
  http::HttpRequest head;
  head.method = "POST";
  head.path = kChat;
  head.headers = {{"Authorization", std::string("Bearer ") + kBobKey}};
  EXPECT_FALSE(rig.gateway().admit_head(head).has_value());
  EXPECT_EQ(head.principal, "bob");

  http::HttpRequest wrong = head;
  wrong.principal.clear();
  wrong.headers = {{"Authorization", "Bearer ch-not-a-key"}};
  const std::optional<http::HttpResponse> refused = rig.gateway().admit_head(wrong);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
  EXPECT_TRUE(wrong.principal.empty());

  // The handler charges the key admit_head named (bob), not one hashed from the headers again.
  head.headers = {{"Authorization", std::string("Bearer ") + kAliceKey}};
  head.body = chat_body(long_answer(), {{"max_tokens", 5}}).dump();
  const http::HttpResponse served = rig.gateway().handle(head);
  ASSERT_EQ(served.status, 200) << served.body;
  EXPECT_EQ(rig.ledger().key_window_totals("bob").spent_tokens, 5);
  EXPECT_EQ(rig.ledger().key_window_totals("alice").spent_tokens, 0);
}

TEST(GatewayE2EAccess, ModelsNeedsAKeyWhenKeysAreConfigured) {
  GatewayRig rig;
  const Reply none = rig.get("/v1/models", "");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_TRUE(is_openai_error(none.body, "invalid_api_key"));
  const Reply ok = rig.get("/v1/models", kBobKey);
  ASSERT_EQ(ok.status, 200) << ok.body;
  const json models = ok.json_body();
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], kModel);
}

TEST(GatewayE2EAccess, WithoutKeysConfiguredRequestsAreAnonymous) {
  GatewayRig rig({.configure = [](GatewayConfig& c) { c.keys.clear(); }});
  const Reply r = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 4}}), "");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto record = rig.record(r);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->key_id, kAnonymousKeyId);
  EXPECT_EQ(rig.get("/v1/models", "").status, 200);
  EXPECT_TRUE(rig.ledger_settled());
}

TEST(GatewayE2EAccess, AdminStateNeedsTheAdminKeyAndHoldsNoSecrets) {
  GatewayRig rig;
  const Reply served = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 7}}));
  ASSERT_EQ(served.status, 200) << served.body;

  const Reply none = rig.get("/admin/state", "");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_TRUE(is_openai_error(none.body));
  const Reply client_key = rig.get("/admin/state", kAliceKey);
  EXPECT_EQ(client_key.status, 401) << client_key.body;

  const Reply admin = rig.get("/admin/state", kAdminKey);
  ASSERT_EQ(admin.status, 200) << admin.body;
  const json state = admin.json_body();
  EXPECT_EQ(state["budget"]["budget_tokens"], kDefaultBudget);
  EXPECT_EQ(state["budget"]["spent_tokens"], 7);
  EXPECT_EQ(state["budget"]["reserved_tokens"], 0);
  EXPECT_EQ(state["draining"], false);
  EXPECT_TRUE(state["pacer"].contains("lambda"));
  EXPECT_EQ(state["pacer"]["decisions"], 1);
  EXPECT_EQ(state["ledger"]["writes"], 2);  // the request's reserve and settle, journaled
  EXPECT_EQ(state["ledger"]["apply_failures"], 0);
  EXPECT_EQ(state["ledger"]["last_apply_error"], "");

  // No secret in any form: not the keys, not their hashes, not the upstream's API key.
  for (const std::string& secret :
       {std::string(kAliceKey), std::string(kBobKey), std::string(kAdminKey), sha256_hex(kAliceKey),
        sha256_hex(kBobKey), sha256_hex(kAdminKey), std::string(kUpstreamApiKey)}) {
    EXPECT_EQ(admin.body.find(secret), std::string::npos) << "admin state leaks " << secret;
  }
  EXPECT_TRUE(rig.ledger_settled());
}

TEST(GatewayE2EAccess, AdminStateIsForbiddenWhenTheAdminApiIsDisabled) {
  GatewayRig rig({.configure = [](GatewayConfig& c) { c.admin_key_sha256.clear(); }});
  for (const std::string& key : {std::string(), std::string(kAdminKey)}) {
    const Reply r = rig.get("/admin/state", key);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_TRUE(is_openai_error(r.body, "admin_disabled"));
  }
}

TEST(GatewayE2EAccess, MetricsCountTheRequestsAndNameNoKey) {
  GatewayRig rig;
  ASSERT_EQ(rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 8}})).status, 200);
  ASSERT_EQ(rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 8}}), kBobKey).status, 200);
  ASSERT_EQ(
      rig.stream(kChat, chat_body(long_answer(), {{"max_tokens", 8}, {"stream", true}})).status,
      200);
  ASSERT_EQ(rig.post(kChat, chat_body(long_answer()), "").status, 401);
  ASSERT_EQ(rig.request("POST", "/v1/completions", "{", kAliceKey).status, 400);

  const Reply m = rig.get("/metrics", "");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.header("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u)
      << m.header("Content-Type");
  const std::string& text = m.body;
  EXPECT_NE(text.find("# TYPE clearhouse_requests_total counter"), std::string::npos);
  EXPECT_EQ(
      metric_value(text, "clearhouse_requests_total", R"(route="chat_completions",code="200")"),
      3.0);
  EXPECT_EQ(
      metric_value(text, "clearhouse_requests_total", R"(route="chat_completions",code="401")"),
      1.0);
  EXPECT_EQ(metric_value(text, "clearhouse_requests_total", R"(route="completions",code="400")"),
            1.0);
  EXPECT_EQ(metric_value(text, "clearhouse_tokens_used_total"), 24.0);
  EXPECT_EQ(metric_value(text, "clearhouse_tokens_reserved_total"), 24.0);
  EXPECT_EQ(metric_value(text, "clearhouse_reserved_tokens"), 0.0);
  EXPECT_EQ(metric_value(text, "clearhouse_budget_tokens"), static_cast<double>(kDefaultBudget));
  EXPECT_EQ(metric_value(text, "clearhouse_budget_remaining_tokens"),
            static_cast<double>(kDefaultBudget - 24));
  for (const char* leak : {"alice", "bob", kAliceKey, kBobKey, kUpstreamApiKey}) {
    EXPECT_EQ(text.find(leak), std::string::npos) << "metrics name " << leak;
  }
  // A second scrape counts the first.
  const std::string again = rig.get("/metrics", "").body;
  EXPECT_EQ(metric_value(again, "clearhouse_requests_total", R"(route="metrics",code="200")"), 1.0);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 24);
}

TEST(GatewayE2EAccess, HealthAnswersWithoutAKey) {
  GatewayRig rig;
  const Reply r = rig.get("/health", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["status"], "ok");
}

TEST(GatewayE2EAccess, MalformedRequestsGetOpenAiErrors) {
  GatewayRig rig({.configure = [](GatewayConfig& c) {
    c.limits.max_body_bytes = 4096;
    c.limits.max_json_depth = 16;
  }});
  const Reply bad_json = rig.request("POST", kChat, R"({"model": "x", "messages": [)");
  EXPECT_EQ(bad_json.status, 400) << bad_json.body;
  EXPECT_TRUE(is_openai_error(bad_json.body));
  EXPECT_EQ(bad_json.json_body()["error"]["type"], "invalid_request_error");

  const Reply not_object = rig.request("POST", kChat, "[1, 2]");
  EXPECT_EQ(not_object.status, 400) << not_object.body;
  EXPECT_TRUE(is_openai_error(not_object.body));

  const Reply no_messages = rig.post(kChat, {{"model", kModel}});
  EXPECT_EQ(no_messages.status, 400) << no_messages.body;
  EXPECT_TRUE(is_openai_error(no_messages.body));
  EXPECT_EQ(no_messages.json_body()["error"]["param"], "messages");

  const Reply bad_cap = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 0}}));
  EXPECT_EQ(bad_cap.status, 400) << bad_cap.body;
  EXPECT_EQ(bad_cap.json_body()["error"]["param"], "max_tokens");

  std::string deep = R"({"model": "x", "messages": [{"role": "user", "content": "hi"}], "x": )";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  const Reply too_deep = rig.request("POST", kChat, deep);
  EXPECT_EQ(too_deep.status, 400) << too_deep.body;
  EXPECT_TRUE(is_openai_error(too_deep.body));

  json big = chat_body(long_answer());
  big["messages"][0]["content"] = std::string(8192, 'a');
  const Reply too_big = rig.post(kChat, big);
  EXPECT_EQ(too_big.status, 413) << too_big.body;
  EXPECT_TRUE(is_openai_error(too_big.body));

  const Reply unknown = rig.get("/v1/nothing-here");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_TRUE(is_openai_error(unknown.body));
  const Reply wrong_method = rig.get(kChat);
  EXPECT_EQ(wrong_method.status, 405) << wrong_method.body;
  EXPECT_TRUE(is_openai_error(wrong_method.body));

  EXPECT_EQ(rig.requests_recorded(), 0);  // none of them reserved anything
  EXPECT_TRUE(rig.ledger_settled());
}

TEST(GatewayE2EAccess, DrainRefusesNewCompletionsAndWaitsForIdle) {
  GatewayRig rig;
  ASSERT_EQ(rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 3}})).status, 200);
  rig.gateway().drain();
  const Reply refused = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 3}}));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_TRUE(is_openai_error(refused.body, "shutting_down"));
  const StreamReply refused_stream =
      rig.stream(kChat, chat_body(long_answer(), {{"max_tokens", 3}, {"stream", true}}));
  EXPECT_EQ(refused_stream.status, 503) << refused_stream.body;
  const Reply health = rig.get("/health", "");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.json_body()["status"], "draining");
  EXPECT_TRUE(rig.gateway().wait_idle(std::chrono::seconds(5)));
  EXPECT_EQ(rig.gateway().in_flight(), 0);
  EXPECT_EQ(rig.requests_recorded(), 1);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 3);
}

}  // namespace
}  // namespace clearhouse::gateway::testing
