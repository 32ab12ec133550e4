// The gateway's 429s (gateway/refusal.h): OpenAI error bodies whose messages say what the budget
// affords and which knob changes it; x-should-retry and a Retry-After that is honest and never
// above the documented ceiling.
#include "gateway/refusal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace clearhouse::gateway::refusal {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string header(const http::HttpResponse& r, const std::string& name) {
  for (const auto& [key, value] : r.headers) {
    if (key == name) return value;
  }
  return {};
}

bool has_header(const http::HttpResponse& r, const std::string& name) {
  for (const auto& h : r.headers) {
    if (h.first == name) return true;
  }
  return false;
}

nlohmann::json error_of(const http::HttpResponse& r) {
  return nlohmann::json::parse(r.body)["error"];
}

TEST(Refusal, QueryAbandonedByPriceSaysWhatTheBudgetAffordsAndThatRetryingWillNotHelp) {
  const http::HttpResponse r = query_abandoned({.reason = Abandonment::kPrice,
                                                .lambda = 0.4123,
                                                .tau_hat = 900.0,
                                                .cap_at_price = 1023.7,
                                                .largest_funded_tau = 212.4,
                                                .remaining_tokens = 50'000,
                                                .degrade_tokens = 64});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "x-should-retry"), "false");
  EXPECT_FALSE(has_header(r, "Retry-After"));
  const auto e = error_of(r);
  EXPECT_EQ(e["code"], "query_abandoned");
  EXPECT_EQ(e["type"], "rate_limit_error");
  EXPECT_TRUE(e["param"].is_null());
  const std::string m = e["message"];
  EXPECT_PRED2(contains, m, "shadow price is 0.412 per token");
  EXPECT_PRED2(contains, m, "predicted need 900 tokens");
  EXPECT_PRED2(contains, m, "a cap of 1023 tokens");
  EXPECT_PRED2(contains, m, "predicted to need up to 212 tokens");
  EXPECT_PRED2(contains, m, "on_abandon: degrade");
  EXPECT_PRED2(contains, m, "64 tokens");
  EXPECT_PRED2(contains, m, "budget.completion_tokens");
}

TEST(Refusal, QueryAbandonedForEveryOtherReasonNamesIt) {
  const auto message = [](AbandonedQuery q) {
    return error_of(query_abandoned(q))["message"].get<std::string>();
  };
  EXPECT_PRED2(
      contains,
      message({.reason = Abandonment::kCutByRemaining, .tau_hat = 256, .remaining_tokens = 50}),
      "only 50 tokens are left");
  EXPECT_PRED2(contains, message({.reason = Abandonment::kBelowMinTokens, .min_tokens = 8}),
               "below pacer.min_tokens (8)");
  EXPECT_PRED2(contains, message({.no_upstream = true, .tau_hat = 300}), "auction.value_usd");
  EXPECT_PRED2(contains,
               message({.reason = Abandonment::kPrice, .lambda = 2.0, .largest_funded_tau = 0.0}),
               "funds no query at this price");
  EXPECT_FALSE(contains(message({.reason = Abandonment::kPrice,
                                 .lambda = 0.0,
                                 .largest_funded_tau = std::numeric_limits<double>::infinity()}),
                        "inf"));
}

TEST(Refusal, OpenReservationsMeanRetrySoon) {
  const ExhaustedBudget b{.scope = BudgetScope::kGlobal,
                          .now_ms = 0,
                          .window_end_ms = 3'000'000,
                          .reservations_open = true,
                          .window_seconds = 3600};
  const http::HttpResponse r = budget_exhausted(b);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "Retry-After"), std::to_string(kOpenReservationsRetrySeconds));
  EXPECT_EQ(header(r, "x-should-retry"), "true");
  const auto e = error_of(r);
  EXPECT_EQ(e["code"], "budget_exhausted");
  EXPECT_PRED2(contains, e["message"].get<std::string>(), "requests in flight hold reservations");
}

TEST(Refusal, AWindowEndingWithinTheCeilingIsWaitedFor) {
  const ExhaustedBudget b{.now_ms = 1'000, .window_end_ms = 13'300, .window_seconds = 60};
  const http::HttpResponse r = budget_exhausted(b);
  EXPECT_EQ(header(r, "Retry-After"), "13");
  EXPECT_EQ(header(r, "x-should-retry"), "true");
  EXPECT_PRED2(contains, error_of(r)["message"].get<std::string>(), "it renews in 13 s");
}

TEST(Refusal, AWindowEndingLaterIsNotWaitedFor) {
  const ExhaustedBudget b{.now_ms = 0, .window_end_ms = 2'400'000, .window_seconds = 3600};
  const http::HttpResponse r = budget_exhausted(b);
  EXPECT_EQ(header(r, "Retry-After"), std::to_string(kMaxRetryAfterSeconds));
  EXPECT_EQ(header(r, "x-should-retry"), "false");
  const std::string m = error_of(r)["message"];
  EXPECT_PRED2(contains, m, "renews in 2400 s");
  EXPECT_PRED2(contains, m, "window of 3600 s");
  EXPECT_PRED2(contains, m, "budget.completion_tokens");
}

TEST(Refusal, AnAllTimeBudgetDoesNotRenew) {
  const http::HttpResponse r = budget_exhausted({.now_ms = 5});
  EXPECT_EQ(header(r, "x-should-retry"), "false");
  EXPECT_EQ(header(r, "Retry-After"), std::to_string(kMaxRetryAfterSeconds));
  EXPECT_PRED2(contains, error_of(r)["message"].get<std::string>(), "does not renew");
}

TEST(Refusal, KeyBudgetNamesTheKeysKnob) {
  const http::HttpResponse r = budget_exhausted(
      {.scope = BudgetScope::kKey, .now_ms = 0, .window_end_ms = 600'000, .window_seconds = 600});
  const auto e = error_of(r);
  EXPECT_EQ(e["code"], "key_budget_exhausted");
  EXPECT_PRED2(contains, e["message"].get<std::string>(), "this API key's token budget");
  EXPECT_PRED2(contains, e["message"].get<std::string>(), "budget_tokens");
}

// Whatever the window and the time, Retry-After is within [1, the ceiling].
TEST(Refusal, RetryAfterIsAlwaysWithinOneSecondAndTheCeiling) {
  for (const bool open : {false, true}) {
    for (std::int64_t now = 0; now < 7'200'000; now += 7'919) {
      for (const std::int64_t window_ms : {1'000, 45'000, 3'600'000}) {
        const std::int64_t end = (now / window_ms + 1) * window_ms;
        const RetryAdvice a =
            retry_advice({.now_ms = now, .window_end_ms = end, .reservations_open = open});
        ASSERT_GE(a.seconds, 1);
        ASSERT_LE(a.seconds, kMaxRetryAfterSeconds);
        if (!open) {
          ASSERT_EQ(a.should_retry, a.seconds * 1000 >= end - now);
        }
      }
    }
  }
}

}  // namespace
}  // namespace clearhouse::gateway::refusal
