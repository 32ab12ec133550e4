// The usage an upstream reports (openai/usage.h): whole numbers >= 0 are counts, absent fields are
// absent, and anything else is implausible with a reason, never clamped and never thrown.
#include "openai/usage.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace clearhouse::openai {
namespace {

using nlohmann::json;

ReportedUsage of_text(const std::string& completion_tokens) {
  return reported_usage(
      json::parse(R"({"usage": {"completion_tokens": )" + completion_tokens + "}}"));
}

TEST(ReportedUsage, WholeNumbersAreCounts) {
  EXPECT_EQ(of_text("0"), ReportedUsage::of(0));
  EXPECT_EQ(of_text("512"), ReportedUsage::of(512));
  EXPECT_EQ(of_text("512.0"), ReportedUsage::of(512));  // as the request parser takes 512.0
  EXPECT_EQ(of_text("1099511627776"), ReportedUsage::of(kMaxPlausibleTokens));
  // Larger than a cap can be, but not than any request: the caller compares it with what the
  // request could generate (gateway/charge.h).
  EXPECT_EQ(of_text("100000"), ReportedUsage::of(100'000));
}

TEST(ReportedUsage, NoUsageIsAbsent) {
  EXPECT_TRUE(reported_usage(json::parse(R"({"choices": []})")).absent());
  EXPECT_TRUE(reported_usage(json::parse(R"({"usage": null})")).absent());
  EXPECT_TRUE(reported_usage(json::parse(R"({"usage": {"prompt_tokens": 3}})")).absent());
  EXPECT_TRUE(reported_usage(json::parse(R"({"usage": {"completion_tokens": null}})")).absent());
  EXPECT_TRUE(reported_usage(json::parse("[1, 2]")).absent());
  EXPECT_EQ(reported_usage(json::parse("{}")).tokens(), std::nullopt);
}

TEST(ReportedUsage, AnythingElseIsImplausibleWithAReason) {
  for (const char* bad : {"-1", "-0.5", "12.5", "1e18", "1000000000000000000", "1099511627777",
                          "1e300", "-1e300", "18446744073709551615", "9223372036854775808",
                          "9223372036854775807", "\"12\"", "true", "[12]", "{}"}) {
    const ReportedUsage u = of_text(bad);
    EXPECT_TRUE(u.implausible()) << bad;
    EXPECT_FALSE(u.problem().empty()) << bad;
    EXPECT_EQ(u.tokens(), std::nullopt) << bad;
  }
  EXPECT_EQ(of_text("-3").problem(), "completion_tokens is negative");
  EXPECT_EQ(of_text("1e18").problem(), "completion_tokens is more than any request generates");
  EXPECT_EQ(of_text("0.5").problem(), "completion_tokens is not a whole number");
  EXPECT_EQ(of_text("\"7\"").problem(), "completion_tokens is not a number");
  EXPECT_TRUE(reported_usage(json::parse(R"({"usage": "lots"})")).implausible());
}

TEST(ReportedUsage, ASecondReportMustRepeatTheFirst) {
  ReportedUsage u;
  u.merge({});
  EXPECT_TRUE(u.absent());
  u.merge(ReportedUsage::of(40));
  EXPECT_EQ(u, ReportedUsage::of(40));
  u.merge(ReportedUsage::of(40));
  u.merge({});
  EXPECT_EQ(u, ReportedUsage::of(40));
  u.merge(ReportedUsage::of(12));
  EXPECT_TRUE(u.implausible());
  u.merge(ReportedUsage::of(12));  // implausible stays implausible
  EXPECT_TRUE(u.implausible());

  ReportedUsage bad = ReportedUsage::implausible_because("completion_tokens is negative");
  ReportedUsage v = ReportedUsage::of(3);
  v.merge(bad);
  EXPECT_EQ(v, bad);
}

TEST(ReportedUsage, ResponsesApiOutputTokensWhenCompletionTokensAreAbsent) {
  EXPECT_EQ(reported_usage(json::parse(R"({"usage": {"input_tokens": 3, "output_tokens": 21}})")),
            ReportedUsage::of(21));
  EXPECT_EQ(
      reported_usage(json::parse(
          R"({"usage": {"output_tokens": 21, "output_tokens_details": {"reasoning_tokens": 13}}})")),
      ReportedUsage::of(21, 13));
  // completion_tokens wins when both are there.
  EXPECT_EQ(
      reported_usage(json::parse(R"({"usage": {"completion_tokens": 5, "output_tokens": 9}})")),
      ReportedUsage::of(5));
  EXPECT_EQ(reported_usage(json::parse(R"({"usage": {"output_tokens": -1}})")).problem(),
            "output_tokens is negative");
}

TEST(ReportedUsage, ReasoningTokensAreCountedAmongTheCompletionTokens) {
  const auto of_usage = [](const char* usage) {
    return reported_usage(json::parse(std::string(R"({"usage": )") + usage + "}"));
  };
  EXPECT_EQ(
      of_usage(
          R"({"completion_tokens": 40, "completion_tokens_details": {"reasoning_tokens": 30}})"),
      ReportedUsage::of(40, 30));
  EXPECT_EQ(
      of_usage(
          R"({"completion_tokens": 40, "completion_tokens_details": {"reasoning_tokens": 40}})")
          .reasoning_tokens(),
      40);
  EXPECT_EQ(of_usage(R"({"completion_tokens": 40, "completion_tokens_details": null})"),
            ReportedUsage::of(40));
  EXPECT_EQ(
      of_usage(R"({"completion_tokens": 40, "completion_tokens_details": {"audio_tokens": 0}})")
          .reasoning_tokens(),
      std::nullopt);
  // Reasoning without a completion count: nothing to settle, so nothing reported.
  EXPECT_TRUE(of_usage(R"({"completion_tokens_details": {"reasoning_tokens": 4}})").absent());
  // More reasoning than completion, or a reasoning count that is not one: the whole report.
  EXPECT_EQ(
      of_usage(R"({"completion_tokens": 4, "completion_tokens_details": {"reasoning_tokens": 5}})")
          .problem(),
      "reasoning_tokens exceeds the completion tokens");
  for (const char* bad : {"-1", "2.5", "1e18", "\"3\""}) {
    const ReportedUsage u = of_usage(
        (std::string(
             R"({"completion_tokens": 4, "completion_tokens_details": {"reasoning_tokens": )") +
         bad + "}}")
            .c_str());
    EXPECT_TRUE(u.implausible()) << bad;
    EXPECT_TRUE(u.problem().starts_with("reasoning_tokens")) << bad;
  }
}

TEST(ReportedUsage, ASecondReportMustRepeatTheReasoningToo) {
  ReportedUsage u = ReportedUsage::of(10, 4);
  u.merge(ReportedUsage::of(10, 4));
  EXPECT_EQ(u, ReportedUsage::of(10, 4));
  u.merge(ReportedUsage::of(10, 5));
  EXPECT_EQ(u.problem(), "usage was reported twice with different reasoning_tokens");
}

TEST(ReportedUsage, ContinuousReportsMayGrowButNeverShrink) {
  ReportedUsage u;
  u.advance(ReportedUsage::of(0, 0));
  u.advance({});
  u.advance(ReportedUsage::of(3, 2));
  u.advance(ReportedUsage::of(7, 2));
  u.advance(ReportedUsage::of(7, 2));
  EXPECT_EQ(u, ReportedUsage::of(7, 2));
  ReportedUsage fewer = u;
  fewer.advance(ReportedUsage::of(6, 2));
  EXPECT_EQ(fewer.problem(), "continuous usage decreased completion_tokens");
  ReportedUsage less_reasoning = u;
  less_reasoning.advance(ReportedUsage::of(8, 1));
  EXPECT_EQ(less_reasoning.problem(), "continuous usage decreased reasoning_tokens");
  ReportedUsage bad = u;
  bad.advance(ReportedUsage::implausible_because("completion_tokens is negative"));
  EXPECT_TRUE(bad.implausible());
  bad.advance(ReportedUsage::of(9));  // implausible stays implausible
  EXPECT_TRUE(bad.implausible());
}

}  // namespace
}  // namespace clearhouse::openai
