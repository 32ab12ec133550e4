// The usage an upstream reports (openai/usage.h): whole numbers >= 0 are counts, absent fields are
// absent, and anything else is implausible with a reason, never clamped and never thrown.
#include "openai/usage.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace clearhouse::openai {
namespace {

using nlohmann::json;

ReportedUsage of_text(const std::string& completion_tokens) {
  return reported_usage(json::parse(R"({"usage": {"completion_tokens": )" + completion_tokens + "}}"));
}

TEST(ReportedUsage, WholeNumbersAreCounts) {
  EXPECT_EQ(of_text("0"), ReportedUsage::of(0));
  EXPECT_EQ(of_text("512"), ReportedUsage::of(512));
  EXPECT_EQ(of_text("512.0"), ReportedUsage::of(512));  // as the request parser takes 512.0
  // Whole, and far beyond any request: the caller compares it with the reservation (charge.h).
  EXPECT_EQ(of_text("1e18"), ReportedUsage::of(1'000'000'000'000'000'000));
  EXPECT_EQ(of_text("1000000000000000000"), ReportedUsage::of(1'000'000'000'000'000'000));
  EXPECT_EQ(of_text("9223372036854775807"), ReportedUsage::of(INT64_MAX));
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
  for (const char* bad : {"-1", "-0.5", "12.5", "1e300", "-1e300", "18446744073709551615",
                          "9223372036854775808", "\"12\"", "true", "[12]", "{}"}) {
    const ReportedUsage u = of_text(bad);
    EXPECT_TRUE(u.implausible()) << bad;
    EXPECT_FALSE(u.problem().empty()) << bad;
    EXPECT_EQ(u.tokens(), std::nullopt) << bad;
  }
  EXPECT_EQ(of_text("-3").problem(), "completion_tokens is negative");
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
