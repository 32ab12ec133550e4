// The progressive scheduler: which query it serves first, how it ends, and its invariants on random
// instances, served one slice at a time and with several slices in flight (completed out of order).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <vector>

#include "core/progressive.h"

namespace clearhouse::core {
namespace {

LengthPrior median(double tokens, double sigma = 0.4, double p = 1.0) {
  return {std::log(tokens), sigma, p};
}

TEST(ProgressiveScheduler, ServesTheLikelyShortQueryFirst) {
  ProgressiveScheduler s({median(1000), median(50), median(50, 0.4, 0.2)}, {4096, 4096, 4096},
                         10'000);
  const auto first = s.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->query, 1u);
  EXPECT_EQ(first->offset, 0);
  EXPECT_EQ(s.reserved(), first->cap);
  EXPECT_EQ(s.in_flight(), 1u);
}

TEST(ProgressiveScheduler, ContinuesACutQueryFromWhereItStopped) {
  ProgressiveScheduler s({median(100)}, {4096}, 10'000);
  const auto first = s.next();
  ASSERT_TRUE(first.has_value());
  s.complete(*first, first->cap, false);  // cut at its cap
  EXPECT_EQ(s.spent(), first->cap);
  EXPECT_EQ(s.reserved(), 0);
  const auto second = s.next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->query, 0u);
  EXPECT_EQ(second->offset, first->cap);
  s.complete(*second, 3, true);  // stopped 3 tokens in
  EXPECT_TRUE(s.finished(0));
  EXPECT_EQ(s.generated(0), first->cap + 3);
  EXPECT_EQ(s.rounds(0), 2);
  EXPECT_FALSE(s.next().has_value());
  EXPECT_EQ(s.in_flight(), 0u);
}

// A scheduler restored with the tokens each query kept (a resumed run) serves exactly the slices
// the uninterrupted scheduler would have served next, not those of a query that starts afresh.
TEST(ProgressiveScheduler, RestoredWithKeptTokensContinuesWhereItStopped) {
  const std::vector<LengthPrior> priors = {median(300, 0.8), median(120, 0.6), median(900, 1.0)};
  const std::vector<std::int64_t> caps = {4096, 4096, 1000};
  const std::int64_t budget = 2000;
  ProgressiveScheduler first(priors, caps, budget);
  // Serve three slices, each cut at its cap, then stop (a kill).
  for (int k = 0; k < 3; ++k) {
    const auto slice = first.next();
    ASSERT_TRUE(slice.has_value());
    first.complete(*slice, slice->cap, false);
  }
  std::vector<std::int64_t> kept;
  for (std::size_t q = 0; q < priors.size(); ++q) kept.push_back(first.generated(q));
  ProgressiveScheduler restored(priors, caps, budget - first.spent(), kept);
  ProgressiveScheduler afresh(priors, {caps[0] - kept[0], caps[1] - kept[1], caps[2] - kept[2]},
                              budget - first.spent());
  bool differs = false;
  while (true) {
    const auto expected = first.next();
    const auto got = restored.next();
    const auto naive = afresh.next();
    ASSERT_EQ(expected.has_value(), got.has_value());
    if (!expected) break;
    EXPECT_EQ(got->query, expected->query);
    EXPECT_EQ(got->offset, expected->offset);
    EXPECT_EQ(got->cap, expected->cap);
    if (!naive || naive->query != expected->query || naive->cap != expected->cap) differs = true;
    first.complete(*expected, expected->cap, false);
    restored.complete(*got, got->cap, false);
    if (naive) afresh.complete(*naive, naive->cap, false);
  }
  EXPECT_EQ(restored.spent(), first.spent() - (budget - restored.budget()));
  EXPECT_TRUE(differs) << "restarting from zero would have served the same slices: a weak test";
}

TEST(ProgressiveScheduler, NeverServesAHopelessQueryOrOnePastItsMaxTokens) {
  ProgressiveScheduler s({median(100, 0.4, 0.0), median(100)}, {4096, 40}, 10'000);
  std::vector<std::size_t> served;
  while (const auto slice = s.next()) {
    served.push_back(slice->query);
    EXPECT_LE(slice->offset + slice->cap, 40);
    s.complete(*slice, slice->cap, false);
  }
  EXPECT_TRUE(std::all_of(served.begin(), served.end(), [](std::size_t q) { return q == 1; }));
  EXPECT_EQ(s.generated(1), 40);
  EXPECT_EQ(s.generated(0), 0);
}

TEST(ProgressiveScheduler, ACancelledSliceReturnsItsReservation) {
  ProgressiveScheduler s({median(100)}, {4096}, 1'000);
  const auto slice = s.next();
  ASSERT_TRUE(slice.has_value());
  s.cancel(*slice);
  EXPECT_EQ(s.reserved(), 0);
  EXPECT_EQ(s.spent(), 0);
  const auto again = s.next();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->query, 0u);
  EXPECT_EQ(again->offset, 0);
}

TEST(ProgressiveScheduler, WaitsForSlicesInFlightRatherThanShrinkingTheBest) {
  // Budget 100: the first slice reserves most of it; the second query's best slice fits what is
  // left of the budget but not what is unreserved, so next() says wait until a completion.
  ProgressiveScheduler s({median(60, 0.2), median(60, 0.2)}, {4096, 4096}, 100);
  const auto a = s.next();
  ASSERT_TRUE(a.has_value());
  ASSERT_GT(a->cap, 40);
  EXPECT_FALSE(s.next().has_value());
  EXPECT_EQ(s.in_flight(), 1u);
  s.complete(*a, 10, true);
  const auto b = s.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->query, 1u);
  EXPECT_LE(b->cap, 90);
}

struct Instance {
  std::vector<LengthPrior> priors;
  std::vector<std::int64_t> max_tokens;
  std::vector<std::int64_t> lengths;  // the true lengths the simulated server produces
  std::int64_t budget = 0;
};

Instance draw(std::mt19937_64& rng) {
  std::uniform_int_distribution<std::size_t> size(1, 80);
  std::uniform_real_distribution<double> mu(std::log(10.0), std::log(3000.0)), sigma(0.05, 1.5),
      unit(0.0, 1.0), per_query(0.0, 600.0);
  std::uniform_int_distribution<std::int64_t> cap(0, 4096);
  Instance inst;
  const std::size_t n = size(rng);
  for (std::size_t i = 0; i < n; ++i) {
    inst.priors.push_back({mu(rng), sigma(rng), unit(rng) < 0.2 ? 1.0 : unit(rng)});
    inst.max_tokens.push_back(unit(rng) < 0.1 ? cap(rng) / 64 : cap(rng));
    std::lognormal_distribution<double> length(inst.priors.back().log_mu, 0.8);
    inst.lengths.push_back(std::max<std::int64_t>(1, std::llround(length(rng))));
  }
  inst.budget = static_cast<std::int64_t>(per_query(rng) * static_cast<double>(n));
  return inst;
}

// Runs the schedule with up to `concurrency` slices in flight, completing a random one each time,
// and checks every invariant on the way. Returns the scheduler for end-state checks.
void run_and_check(const Instance& inst, std::size_t concurrency, std::mt19937_64& rng) {
  ProgressiveScheduler s(inst.priors, inst.max_tokens, inst.budget);
  std::deque<Slice> in_flight;
  std::vector<bool> busy(inst.priors.size(), false);
  std::int64_t generated_total = 0;
  for (int steps = 0; steps < 100'000; ++steps) {
    while (in_flight.size() < concurrency) {
      const std::int64_t unreserved = s.unreserved();
      const auto slice = s.next();
      if (!slice) break;
      const std::size_t q = slice->query;
      ASSERT_FALSE(busy[q]) << "a query in two slices at once";
      ASSERT_FALSE(s.finished(q)) << "a finished query served again";
      ASSERT_GE(slice->cap, 1);
      ASSERT_LE(slice->cap, unreserved);
      ASSERT_EQ(slice->offset, s.generated(q));
      ASSERT_LE(slice->offset + slice->cap, inst.max_tokens[q]);
      ASSERT_GT(inst.priors[q].p_correct, 0.0);
      busy[q] = true;
      in_flight.push_back(*slice);
    }
    ASSERT_LE(s.spent() + s.reserved(), inst.budget);
    ASSERT_GE(s.unreserved(), 0);
    if (in_flight.empty()) break;
    std::uniform_int_distribution<std::size_t> pick(0, in_flight.size() - 1);
    const std::size_t k = pick(rng);
    const Slice slice = in_flight[k];
    in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(k));
    busy[slice.query] = false;
    const std::int64_t remaining = inst.lengths[slice.query] - slice.offset;
    const std::int64_t generated = std::min(slice.cap, remaining);
    s.complete(slice, generated, remaining <= slice.cap);
    generated_total += generated;
  }
  EXPECT_TRUE(in_flight.empty());
  EXPECT_EQ(s.in_flight(), 0u);
  EXPECT_EQ(s.reserved(), 0);
  EXPECT_EQ(s.spent(), generated_total);
  EXPECT_LE(s.spent(), inst.budget);
  for (std::size_t i = 0; i < inst.priors.size(); ++i) {
    EXPECT_GE(s.generated(i), 0);
    EXPECT_LE(s.generated(i), inst.max_tokens[i]);
    if (s.finished(i)) {
      EXPECT_EQ(s.generated(i), inst.lengths[i]);
    }
  }
}

TEST(ProgressiveSchedulerProperty, OneSliceAtATimeKeepsEveryInvariant) {
  std::mt19937_64 rng(41);
  for (int k = 0; k < 300; ++k) run_and_check(draw(rng), 1, rng);
}

TEST(ProgressiveSchedulerProperty, ManySlicesInFlightKeepEveryInvariant) {
  std::mt19937_64 rng(42);
  for (int k = 0; k < 300; ++k) run_and_check(draw(rng), 1 + static_cast<std::size_t>(k % 16), rng);
}

TEST(ProgressiveSchedulerProperty, AGenerousBudgetFinishesEveryQueryThatFits) {
  std::mt19937_64 rng(43);
  for (int k = 0; k < 100; ++k) {
    Instance inst = draw(rng);
    std::int64_t need = 0;
    for (std::size_t i = 0; i < inst.lengths.size(); ++i) {
      inst.priors[i].p_correct = 1.0;
      inst.priors[i].log_sigma = std::max(inst.priors[i].log_sigma, 0.5);
      need += std::min(inst.lengths[i], inst.max_tokens[i]);
    }
    inst.budget = need;
    ProgressiveScheduler s(inst.priors, inst.max_tokens, inst.budget);
    while (const auto slice = s.next()) {
      const std::int64_t remaining = inst.lengths[slice->query] - slice->offset;
      s.complete(*slice, std::min(slice->cap, remaining), remaining <= slice->cap);
    }
    for (std::size_t i = 0; i < inst.lengths.size(); ++i) {
      EXPECT_EQ(s.finished(i), inst.lengths[i] <= inst.max_tokens[i]) << "query " << i;
    }
    // Queries that cannot finish within max_tokens are served only while finishing still has a
    // chance under their prior, so they may not use all of theirs.
    EXPECT_LE(s.spent(), need);
  }
}

}  // namespace
}  // namespace clearhouse::core
