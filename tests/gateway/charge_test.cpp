// The one rule for what a request is charged (gateway/charge.h), path by path.
#include "gateway/charge.h"

#include <gtest/gtest.h>

namespace clearhouse::gateway {
namespace {

using http::UpstreamFailure;

constexpr std::int64_t kReserved = 512;

Charge charge(UpstreamFailure failure, int status, std::optional<std::int64_t> reported,
              std::optional<std::int64_t> observed) {
  return charge_for({failure, status,
                     reported ? openai::ReportedUsage::of(*reported) : openai::ReportedUsage(),
                     observed, kReserved});
}

TEST(Charge, ARefusedConnectionReleasesTheReservation) {
  EXPECT_TRUE(charge(UpstreamFailure::kConnect, 0, std::nullopt, std::nullopt).release);
  EXPECT_TRUE(charge(UpstreamFailure::kConnect, 0, 7, 7).release);
}

TEST(Charge, ReportedUsageIsChargedOnEveryOtherPath) {
  EXPECT_EQ(charge(UpstreamFailure::kNone, 200, 300, 10).tokens, 300);
  EXPECT_EQ(charge(UpstreamFailure::kNone, 500, 12, std::nullopt).tokens, 12);
  EXPECT_EQ(charge(UpstreamFailure::kTimeout, 200, 40, 30).tokens, 40);
  EXPECT_FALSE(charge(UpstreamFailure::kCanceled, 200, 40, 30).release);
}

// Reasoning tokens are part of the completion count: passed on to be recorded apart, never added;
// and lost with a report that is not settled as it came.
TEST(Charge, ReasoningTokensArePassedOnNotAdded) {
  const auto with_reasoning = [](std::int64_t tokens, std::int64_t reasoning) {
    return charge_for({UpstreamFailure::kNone, 200, openai::ReportedUsage::of(tokens, reasoning),
                       std::nullopt, kReserved});
  };
  const Charge c = with_reasoning(300, 250);
  EXPECT_EQ(c.tokens, 300);
  EXPECT_EQ(c.reasoning_tokens, 250);
  EXPECT_TRUE(c.protocol_error.empty());
  const Charge over = with_reasoning(kReserved + 1, 10);
  EXPECT_EQ(over.tokens, kReserved);
  EXPECT_EQ(over.reasoning_tokens, 0);
  EXPECT_FALSE(over.protocol_error.empty());
  EXPECT_EQ(charge(UpstreamFailure::kNone, 200, 30, 10).reasoning_tokens, 0);
}

TEST(Charge, AnErrorAnswerWithoutUsageCostsNothing) {
  EXPECT_EQ(charge(UpstreamFailure::kNone, 429, std::nullopt, std::nullopt).tokens, 0);
  EXPECT_EQ(charge(UpstreamFailure::kNone, 503, std::nullopt, 0).tokens, 0);
}

TEST(Charge, SentWithNoResponseHeadCountsTheWholeReservation) {
  EXPECT_EQ(charge(UpstreamFailure::kTimeout, 0, std::nullopt, 0).tokens, kReserved);
  EXPECT_EQ(charge(UpstreamFailure::kClosed, 0, std::nullopt, std::nullopt).tokens, kReserved);
}

TEST(Charge, ACompleteAnswerWithoutUsageIsEstimatedUpToTheReservation) {
  EXPECT_EQ(charge(UpstreamFailure::kNone, 200, std::nullopt, 90).tokens, 90);
  EXPECT_EQ(charge(UpstreamFailure::kNone, 200, std::nullopt, 9000).tokens, kReserved);
}

TEST(Charge, CutAfterTheHeadChargesWhatArrivedElseTheWholeReservation) {
  EXPECT_EQ(charge(UpstreamFailure::kTimeout, 200, std::nullopt, 33).tokens, 33);
  EXPECT_EQ(charge(UpstreamFailure::kCanceled, 200, std::nullopt, 260).tokens, 260);
  EXPECT_EQ(charge(UpstreamFailure::kClosed, 200, std::nullopt, std::nullopt).tokens, kReserved);
}

// Usage that cannot be true is the upstream's protocol error: the whole reservation, in either
// direction (an under-report must not under-charge, an absurd one must not reach the ledger).
TEST(Charge, ImplausibleUsageChargesTheWholeReservationAsAProtocolError) {
  for (const UpstreamFailure failure : {UpstreamFailure::kNone, UpstreamFailure::kClosed,
                                        UpstreamFailure::kTimeout, UpstreamFailure::kCanceled}) {
    const Charge c = charge_for(
        {failure, 200, openai::ReportedUsage::implausible_because("completion_tokens is negative"),
         3, kReserved});
    EXPECT_FALSE(c.release);
    EXPECT_EQ(c.tokens, kReserved);
    EXPECT_EQ(c.protocol_error, "completion_tokens is negative");
  }
}

TEST(Charge, UsageBeyondTheReservationIsAProtocolError) {
  const Charge more = charge(UpstreamFailure::kNone, 200, 100'000, 10);
  EXPECT_EQ(more.tokens, kReserved);
  EXPECT_EQ(more.protocol_error,
            "reported 100000 completion tokens, more than the 512 it could generate");
  EXPECT_EQ(charge(UpstreamFailure::kNone, 200, kReserved + 1, 10).tokens, kReserved);
  EXPECT_FALSE(charge(UpstreamFailure::kNone, 200, kReserved + 1, 10).protocol_error.empty());
  // Exactly the reservation, or less, is fine.
  EXPECT_TRUE(charge(UpstreamFailure::kNone, 200, kReserved, 10).protocol_error.empty());
  EXPECT_EQ(charge(UpstreamFailure::kNone, 200, 0, 10).tokens, 0);
  EXPECT_TRUE(charge(UpstreamFailure::kNone, 200, 0, 10).protocol_error.empty());
}

}  // namespace
}  // namespace clearhouse::gateway
