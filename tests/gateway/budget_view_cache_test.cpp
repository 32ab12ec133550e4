#include "gateway/budget_view_cache.h"

#include <gtest/gtest.h>

#include "ledger/ledger_test_util.h"

namespace clearhouse::gateway {
namespace {

using ledger::testing::kT0;

class BudgetViewCacheTest : public ::testing::Test {
 protected:
  BudgetViewCacheTest()
      : clock_(kT0), ledger_(ledger::Ledger::open(ledger::testing::ledger_path(), clock_)) {
    ledger_.configure_budget({.window_seconds = 3600, .global_tokens = 1000});
  }
  base::ManualClock clock_;
  ledger::Ledger ledger_;
};

TEST_F(BudgetViewCacheTest, ReadsTheLedgerThenFollowsReserves) {
  BudgetViewCache cache(ledger_, 100);
  const BudgetView first = cache.get(clock_.now_ms());
  EXPECT_EQ(first.budget_tokens, 1000);
  EXPECT_EQ(first.remaining_tokens, 1000);

  const ledger::ReserveResult r = ledger_.reserve("a", "k", "u", 300);
  EXPECT_EQ(cache.get(clock_.now_ms()).remaining_tokens, 1000);  // cached: no ledger read
  cache.observe(r, clock_.now_ms());
  EXPECT_EQ(cache.get(clock_.now_ms()).remaining_tokens, 700);  // exact as of that reserve

  (void)ledger_.settle("a", 100, 0.0);  // 200 tokens return to the pool
  clock_.advance_ms(99);
  EXPECT_EQ(cache.get(clock_.now_ms()).remaining_tokens, 700);
  clock_.advance_ms(1);  // max_age reached: read again
  EXPECT_EQ(cache.get(clock_.now_ms()).remaining_tokens, 900);
}

TEST_F(BudgetViewCacheTest, ANewWindowIsReadFromTheLedger) {
  BudgetViewCache cache(ledger_, 1'000'000);
  const ledger::ReserveResult r = ledger_.reserve("a", "k", "u", 400);
  cache.observe(r, clock_.now_ms());  // not valid yet: ignored until read
  const BudgetView v = cache.get(clock_.now_ms());
  EXPECT_EQ(v.remaining_tokens, 600);
  ASSERT_TRUE(v.window_end_ms.has_value());
  clock_.set_ms(*v.window_end_ms);  // the window ends: a fresh one, whatever max_age says
  const BudgetView next = cache.get(clock_.now_ms());
  EXPECT_EQ(next.window_start_ms, *v.window_end_ms);
  EXPECT_EQ(next.remaining_tokens, 1000);
}

TEST_F(BudgetViewCacheTest, RefusedReservesStillReportTheRemainder) {
  BudgetViewCache cache(ledger_, 1'000'000);
  (void)cache.get(clock_.now_ms());
  ASSERT_EQ(ledger_.reserve("a", "k", "u", 950).status, ledger::ReserveStatus::kReserved);
  const ledger::ReserveResult refused = ledger_.reserve("b", "k", "u", 100);
  ASSERT_EQ(refused.status, ledger::ReserveStatus::kOverGlobalBudget);
  cache.observe(refused, clock_.now_ms());
  EXPECT_EQ(cache.get(clock_.now_ms()).remaining_tokens, 50);
  // A duplicate id says nothing new.
  cache.observe(ledger_.reserve("a", "k", "u", 1), clock_.now_ms());
  EXPECT_EQ(cache.get(clock_.now_ms()).remaining_tokens, 50);
}

}  // namespace
}  // namespace clearhouse::gateway
