// The one rule for what a request is charged (gateway/charge.h), path by path.
#include "gateway/charge.h"

#include <gtest/gtest.h>

namespace clearhouse::gateway {
namespace {

using http::UpstreamFailure;

constexpr std::int64_t kReserved = 512;

Charge charge(UpstreamFailure failure, int status, std::optional<std::int64_t> reported,
              std::optional<std::int64_t> observed) {
  return charge_for({failure, status, reported, observed, kReserved});
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

}  // namespace
}  // namespace clearhouse::gateway
