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

}  // namespace
}  // namespace clearhouse::openai
