// The executor against a fake model (fake_model.h) on a virtual clock: the budget holds whatever
// the concurrency, every query gets one line, retries follow the documented rules, a resumed run
// never re-sends a finished query, and a client's cap is never raised.

#include "run/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>

#include "fake_model.h"
#include "run/run_plan.h"
#include "run/wire.h"
#include "support/param_names.h"
#include "support/run_binary.h"

namespace clearhouse::run {
namespace {

using nlohmann::json;
using testing::FakeModel;

// Virtual time: sleeping moves it forward at once and records the wait.
struct VirtualClock {
  std::mutex mutex;
  double now = 0;
  std::vector<double> sleeps;
  RunClock clock() {
    return {[this] {
              std::lock_guard lock(mutex);
              return now;
            },
            [this](double seconds) {
              std::lock_guard lock(mutex);
              if (seconds > 0) {
                now += seconds;
                sleeps.push_back(seconds);
              }
            }};
  }
};

std::string batch_text(std::size_t n, bool completions = false, std::int64_t max_tokens = 0) {
  std::string text;
  for (std::size_t i = 0; i < n; ++i) {
    json body = {{"model", "m"}};
    if (completions) {
      body["prompt"] = "q" + std::to_string(i);
    } else {
      body["messages"] = json::array({{{"role", "user"}, {"content", "q" + std::to_string(i)}}});
    }
    if (max_tokens > 0) body["max_tokens"] = max_tokens;
    text += json{{"custom_id", "id" + std::to_string(i)},
                 {"method", "POST"},
                 {"url", completions ? "/v1/completions" : "/v1/chat/completions"},
                 {"body", body}}
                .dump() +
            "\n";
  }
  return text;
}

struct Rig {
  std::filesystem::path dir = clearhouse::testing::scratch_dir();
  std::vector<BatchQuery> queries;
  std::unique_ptr<RunState> state;
  std::unique_ptr<OutputFile> out;
  VirtualClock clock;
  ExecutorOptions options;

  Rig(const std::string& text, std::int64_t budget) {
    queries = parse_batch(text, "in.jsonl", "m");
    options.budget = budget;
    options.backoff_seconds = 1;
    open();
  }
  void open() {
    out.reset();
    state.reset();
    state = std::make_unique<RunState>((dir / "s.state").string(), "fp", options.budget,
                                       queries.size());
    out = std::make_unique<OutputFile>((dir / "out.jsonl").string());
  }
  std::unique_ptr<SliceSource> progressive(std::int64_t max_tokens = 4096) {
    Schedule schedule;
    schedule.priors = length_priors(queries, nullptr);
    schedule.caps = query_caps(queries, max_tokens);
    schedule.budget = options.budget;
    return resumed_source(queries, *state, *out, std::move(schedule));
  }
  RunSummary run(SliceSource& source, FakeModel& model) {
    const Transport transport = [&model](std::string_view path, std::string body) {
      return model(path, body);
    };
    return execute(queries, source, *state, *out, transport, clock.clock(), options);
  }
  std::vector<json> lines() const {
    std::vector<json> result;
    std::istringstream in(clearhouse::testing::slurp(dir / "out.jsonl"));
    for (std::string line; std::getline(in, line);) result.push_back(json::parse(line));
    return result;
  }
};

std::vector<std::int64_t> random_lengths(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> length(std::log(200.0), 0.8);
  std::vector<std::int64_t> lengths;
  for (std::size_t i = 0; i < n; ++i) {
    lengths.push_back(std::max<std::int64_t>(1, static_cast<std::int64_t>(length(rng))));
  }
  return lengths;
}

struct BudgetCase {
  const char* name;
  std::size_t queries;
  std::int64_t budget;
  std::size_t concurrency;
  std::uint64_t seed;
};

class BudgetHolds : public ::testing::TestWithParam<BudgetCase> {};

TEST_P(BudgetHolds, UsageNeverPassesTheBudgetAndEveryQueryHasOneLine) {
  const BudgetCase& c = GetParam();
  Rig rig(batch_text(c.queries), c.budget);
  rig.options.concurrency = c.concurrency;
  FakeModel model(random_lengths(c.queries, c.seed));
  auto source = rig.progressive();
  const RunSummary s = rig.run(*source, model);
  EXPECT_LE(model.usage(), c.budget);
  EXPECT_EQ(s.spent, model.usage());  // every answer reports usage, nothing else is charged
  const std::vector<json> lines = rig.lines();
  ASSERT_EQ(lines.size(), c.queries);
  std::set<std::string> ids;
  std::int64_t tokens = 0;
  for (const json& line : lines) {
    ids.insert(line["custom_id"].get<std::string>());
    tokens += line["clearhouse"]["tokens"].get<std::int64_t>();
  }
  EXPECT_EQ(ids.size(), c.queries);
  EXPECT_EQ(tokens, model.usage());
  EXPECT_EQ(s.answered + s.abandoned, c.queries);
  EXPECT_EQ(s.finished + s.truncated, s.answered);
}

INSTANTIATE_TEST_SUITE_P(Cases, BudgetHolds,
                         ::testing::Values(BudgetCase{"scarce_serial", 30, 1500, 1, 1},
                                           BudgetCase{"scarce_parallel", 30, 1500, 8, 2},
                                           BudgetCase{"ample_parallel", 20, 100000, 8, 3},
                                           BudgetCase{"tiny_budget", 10, 20, 4, 4},
                                           BudgetCase{"many_workers", 50, 6000, 32, 5}),
                         clearhouse::testing::NamedAfterMember{});

TEST(Executor, ContinuesACutAnswerFromItsTextSoFar) {
  Rig rig(batch_text(1), 1000);
  FakeModel model({500});
  auto source = rig.progressive();
  (void)rig.run(*source, model);
  const auto requests = model.requests();
  ASSERT_GE(requests.size(), 2u) << "a 500-token answer needs more than one slice";
  const json& second = requests[1].body;
  EXPECT_EQ(second["messages"].back()["role"], "assistant");
  EXPECT_EQ(second["continue_final_message"], true);
  EXPECT_EQ(second["add_generation_prompt"], false);
  const json line = rig.lines().at(0);
  EXPECT_EQ(line["clearhouse"]["tokens"], 500);
  EXPECT_EQ(line["clearhouse"]["finished"], true);
  EXPECT_EQ(line["response"]["body"]["usage"]["completion_tokens"], 500);
  EXPECT_EQ(line["response"]["body"]["choices"][0]["message"]["content"].get<std::string>().size(),
            1000u);
}

TEST(Executor, ContinuesACompletionByAppendingTheTextToThePrompt) {
  Rig rig(batch_text(1, /*completions=*/true), 1000);
  FakeModel model({500});
  auto source = rig.progressive();
  (void)rig.run(*source, model);
  const auto requests = model.requests();
  ASSERT_GE(requests.size(), 2u) << "a 500-token answer needs more than one slice";
  EXPECT_EQ(requests[1].body["prompt"].get<std::string>().rfind("q0t t ", 0), 0u);
  EXPECT_EQ(rig.lines().at(0)["response"]["body"]["choices"][0]["text"].get<std::string>().size(),
            1000u);
}

TEST(Executor, WithoutContinuationACutAnswerIsServedOnceAndClosed) {
  Rig rig(batch_text(3), 1000);
  FakeModel model({500, 500, 500});
  Schedule schedule;
  schedule.continuation = false;
  schedule.priors = length_priors(rig.queries, nullptr);
  schedule.caps = query_caps(rig.queries, 4096);
  schedule.budget = 1000;
  auto source = resumed_source(rig.queries, *rig.state, *rig.out, schedule);
  const RunSummary s = rig.run(*source, model);
  for (std::size_t q = 0; q < 3; ++q) EXPECT_LE(model.requests_of(q), 1u);
  EXPECT_EQ(s.finished, 0u);
  for (const QueryState& q : rig.state->queries()) EXPECT_EQ(q.status, QueryStatus::kClosed);
  // A resumed run does not serve them again either.
  rig.open();
  auto again = resumed_source(rig.queries, *rig.state, *rig.out, schedule);
  (void)rig.run(*again, model);
  for (std::size_t q = 0; q < 3; ++q) EXPECT_LE(model.requests_of(q), 1u);
}

TEST(Executor, NeverRaisesAClientsOwnMaxTokens) {
  Rig rig(batch_text(5, false, /*max_tokens=*/40), 100000);
  FakeModel model({300, 20, 300, 300, 300});
  auto source = rig.progressive();
  (void)rig.run(*source, model);
  std::map<std::size_t, std::int64_t> caps;
  for (const auto& r : model.requests()) caps[r.query] += r.cap;
  for (const auto& [query, total] : caps) EXPECT_LE(total, 40) << "query " << query;
  EXPECT_EQ(rig.lines().size(), 5u);
}

TEST(Executor, RetriesARefusalHonouringRetryAfterAndChargesNothing) {
  Rig rig(batch_text(1), 1000);
  FakeModel model({50});
  model.fault(0, testing::refusals(2, 429, "7"));
  auto source = rig.progressive();
  const RunSummary s = rig.run(*source, model);
  EXPECT_EQ(model.requests_of(0), 3u);
  EXPECT_EQ(s.finished, 1u);
  EXPECT_EQ(s.spent, 50);
  ASSERT_EQ(rig.clock.sleeps.size(), 2u);
  for (double wait : rig.clock.sleeps) EXPECT_GE(wait, 7.0);
}

TEST(Executor, BacksOffExponentiallyWithJitter) {
  Rig rig(batch_text(1), 1000);
  rig.options.max_retries = 4;
  FakeModel model({50});
  model.fault(0, testing::refusals(4, 503));
  auto source = rig.progressive();
  (void)rig.run(*source, model);
  ASSERT_EQ(rig.clock.sleeps.size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    const double base = std::pow(2.0, static_cast<double>(k));  // backoff_seconds = 1
    EXPECT_GE(rig.clock.sleeps[k], 0.5 * base);
    EXPECT_LT(rig.clock.sleeps[k], base);
  }
}

TEST(Executor, ATimeoutChargesItsCapAndTheBudgetStillHolds) {
  Rig rig(batch_text(3), 600);
  FakeModel model({150, 150, 150});
  model.fault(1, testing::transport_failures(1, http::UpstreamFailure::kTimeout));
  auto source = rig.progressive();
  const RunSummary s = rig.run(*source, model);
  const auto requests = model.requests();
  std::int64_t lost_cap = 0;
  for (const auto& r : requests) {
    if (r.query == 1) {
      lost_cap = r.cap;
      break;
    }
  }
  EXPECT_EQ(s.spent, model.usage() + lost_cap);
  EXPECT_LE(s.spent, 600);
}

TEST(Executor, GivesUpAfterTheLastRetryWithAClearLineError) {
  Rig rig(batch_text(2), 1000);
  rig.options.max_retries = 2;
  FakeModel model({50, 50});
  model.fault(1, testing::refusals(100, 500));
  auto source = rig.progressive();
  const RunSummary s = rig.run(*source, model);
  EXPECT_EQ(model.requests_of(1), 3u);
  EXPECT_EQ(s.errors, 1u);
  for (const json& line : rig.lines()) {
    if (line["custom_id"] != "id1") continue;
    EXPECT_EQ(line["error"]["code"], "request_failed");
    EXPECT_EQ(line["error"]["message"], "HTTP 500: scripted refusal (after 3 attempts)");
  }
}

TEST(Executor, DoesNotRetryAClientError) {
  Rig rig(batch_text(1), 1000);
  FakeModel model({50});
  model.fault(0, testing::refusals(1, 400));
  auto source = rig.progressive();
  const RunSummary s = rig.run(*source, model);
  EXPECT_EQ(model.requests_of(0), 1u);
  EXPECT_EQ(s.errors, 1u);
}

TEST(Executor, AnUnreachableUpstreamStopsTheRunAndWritesNothingAsDone) {
  Rig rig(batch_text(3), 1000);
  rig.options.max_retries = 1;
  FakeModel model({50, 50, 50});
  for (std::size_t q = 0; q < 3; ++q) {
    model.fault(q, testing::transport_failures(100, http::UpstreamFailure::kConnect));
  }
  auto source = rig.progressive();
  EXPECT_THROW((void)rig.run(*source, model), UpstreamUnreachable);
  EXPECT_TRUE(rig.lines().empty());
  for (const QueryState& q : rig.state->queries()) EXPECT_EQ(q.status, QueryStatus::kPending);
}

TEST(Executor, AResumedRunNeverResendsAFinishedQueryAndKeepsTheBudget) {
  const std::int64_t budget = 2000;
  Rig rig(batch_text(6), budget);
  // What a killed first run left: query 0 finished (settled, line written), query 1 finished but
  // its line not yet written, query 2 cut with 64 tokens kept, query 3 in flight (reserved), and a
  // torn last line in the output.
  rig.state->reserve(0, 100);
  rig.state->settle_answer(0, 100, 80, std::string(160, 't'), R"({"id":"x","choices":[{}]})",
                           QueryStatus::kFinished);
  rig.state->reserve(1, 100);
  rig.state->settle_answer(1, 100, 90, std::string(180, 't'), R"({"id":"y","choices":[{}]})",
                           QueryStatus::kFinished);
  rig.state->reserve(2, 64);
  rig.state->settle_answer(
      2, 64, 64,
      [] {
        std::string s;
        for (int i = 0; i < 64; ++i) s += "t ";
        return s;
      }(),
      R"({"id":"z","choices":[{}]})", QueryStatus::kPending);
  rig.state->reserve(3, 128);
  rig.state->commit();
  rig.out->append({output_line(rig.queries[0], 0, rig.state->queries()[0], false)});
  {
    std::ofstream torn(rig.dir / "out.jsonl", std::ios::app);
    torn << R"({"custom_id":"id1","resp)";
  }
  rig.open();  // the second run
  EXPECT_EQ(rig.state->charged(), 80 + 90 + 64 + 128);
  FakeModel model({80, 90, 300, 120, 100, 100});
  auto source = rig.progressive();
  const RunSummary s = rig.run(*source, model);
  EXPECT_EQ(model.requests_of(0), 0u);
  EXPECT_EQ(model.requests_of(1), 0u);
  EXPECT_LE(80 + 90 + 64 + 128 + model.usage(), budget);
  EXPECT_EQ(s.spent, 80 + 90 + 64 + 128 + model.usage());
  const std::vector<json> lines = rig.lines();
  ASSERT_EQ(lines.size(), 6u);
  for (const json& line : lines) {
    if (line["custom_id"] == "id2") {
      EXPECT_EQ(line["clearhouse"]["tokens"], 300);  // the 64 kept tokens plus the rest
      EXPECT_EQ(line["clearhouse"]["finished"], true);
    }
  }
  // Every requested continuation of query 2 started from its kept text.
  for (const auto& r : model.requests()) {
    if (r.query == 2) {
      EXPECT_EQ(r.body["messages"].back()["role"], "assistant");
    }
  }
}

// A query cut in an earlier run continues where it stopped: its next slice is the one the index
// gives having generated its kept tokens, not the one of a query starting afresh.
TEST(Executor, AResumedRunConditionsACutQuerysIndexOnItsKeptTokens) {
  const std::int64_t budget = 5000;
  Rig rig(batch_text(1), budget);
  rig.options.concurrency = 1;
  std::string kept;
  for (int i = 0; i < 64; ++i) kept += "t ";
  rig.state->reserve(0, 64);
  rig.state->settle_answer(0, 64, 64, kept, R"({"id":"z","choices":[{}]})", QueryStatus::kPending);
  rig.state->commit();
  rig.open();  // the second run
  const core::LengthPrior prior = core::default_length_prior();
  const std::int64_t left = budget - 64;
  const core::SliceIndex conditioned = core::continuation_index(prior, 64, 4096 - 64, left);
  const core::SliceIndex afresh = core::continuation_index(prior, 0, 4096 - 64, left);
  ASSERT_NE(conditioned.slice, afresh.slice) << "a weak test: both give the same slice";
  FakeModel model({1000});
  auto source = rig.progressive();
  (void)rig.run(*source, model);
  const auto requests = model.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].body["max_tokens"], conditioned.slice);
  EXPECT_EQ(requests[0].body["messages"].back()["content"], kept);
}

TEST(Executor, OneShotPlanServesEachQueryOnceAtItsCap) {
  Rig rig(batch_text(4), 400);
  FakeModel model({50, 150, 90, 300});
  const std::vector<std::int64_t> caps = query_caps(rig.queries, 4096);
  std::vector<std::int64_t> plan =
      one_shot_plan(core::Policy::kUniform, rig.queries, caps, nullptr, 400, "in.jsonl");
  EXPECT_EQ(plan, (std::vector<std::int64_t>{100, 100, 100, 100}));
  auto source = plan_source(plan, 400);
  const RunSummary s = rig.run(*source, model);
  for (std::size_t q = 0; q < 4; ++q) EXPECT_EQ(model.requests_of(q), 1u);
  EXPECT_EQ(s.finished, 2u);
  EXPECT_EQ(s.truncated, 2u);
  EXPECT_EQ(s.spent, 50 + 100 + 90 + 100);
}

TEST(Executor, OneShotPolicyNeedingTauNamesTheLineWithout) {
  Rig rig(batch_text(2), 400);
  const std::vector<std::int64_t> caps = query_caps(rig.queries, 4096);
  try {
    (void)one_shot_plan(core::Policy::kClear, rig.queries, caps, nullptr, 400, "in.jsonl");
    FAIL();
  } catch (const RunInputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("in.jsonl:1: tau:", 0), 0u) << e.what();
  }
}

TEST(Executor, RateLimitSpacesRequests) {
  Rig rig(batch_text(5), 100000);
  rig.options.rate = 2;  // one request every 0.5 s
  rig.options.concurrency = 1;
  FakeModel model({10, 10, 10, 10, 10});
  auto source = rig.progressive();
  (void)rig.run(*source, model);
  EXPECT_GE(rig.clock.now, 2.0);  // five requests at 0, 0.5, 1, 1.5, 2 s
}

}  // namespace
}  // namespace clearhouse::run
