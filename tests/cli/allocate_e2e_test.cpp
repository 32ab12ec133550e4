// End-to-end tests of `clearhouse allocate` and `clearhouse bench-solver` through the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/param_names.h"
#include "support/run_binary.h"

namespace clearhouse::testing {
namespace {

using nlohmann::json;

std::vector<json> parse_jsonl(const std::string& text) {
  std::vector<json> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

TEST(AllocateE2E, EveryPolicyWritesAPlanWithinBudgetAndASummary) {
  for (const char* policy :
       {"uniform", "predictor", "tale-ep", "clear-heuristic", "clear-auction", "clear", "oracle"}) {
    const auto r = run_clearhouse("allocate " + fixture("allocate/queries.jsonl") +
                                  " --per-query 200 --policy " + policy);
    ASSERT_EQ(r.exit_code, 0) << policy << ": " << r.err;
    const auto rows = parse_jsonl(r.out);
    ASSERT_EQ(rows.size(), 5u) << policy;
    std::int64_t total = 0;
    for (const auto& row : rows) {
      ASSERT_TRUE(row.contains("id") && row.contains("max_tokens") && row.contains("abandoned"));
      const auto cap = row["max_tokens"].get<std::int64_t>();
      EXPECT_GE(cap, 0);
      EXPECT_EQ(row["abandoned"].get<bool>(), cap == 0);
      total += cap;
    }
    EXPECT_LE(total, 1000) << policy;
    const json summary = json::parse(r.err);
    EXPECT_EQ(summary["policy"], policy);
    EXPECT_EQ(summary["budget"], 1000);
    EXPECT_EQ(summary["allocated"], total);
    EXPECT_EQ(summary["funded"].get<int>() + summary["abandoned"].get<int>(), 5);
    for (const char* key : {"shadow_price", "utility", "upper_bound", "solve_seconds"}) {
      EXPECT_TRUE(summary.contains(key)) << key;
    }
  }
}

TEST(AllocateE2E, ClearAbandonsTheCostliestQueryWhenScarceAndKeepsIdsInOrder) {
  const auto dir = scratch_dir();
  const auto plan = (dir / "plan.jsonl").string();
  const auto summary_file = (dir / "summary.json").string();
  const auto r = run_clearhouse("allocate " + fixture("allocate/queries.jsonl") +
                                " --budget 600 --out " + plan + " --summary " + summary_file);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  const auto rows = parse_jsonl(slurp(plan));
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0]["id"], "q1");
  EXPECT_EQ(rows[3]["id"], 4);                    // numeric ids stay numeric
  EXPECT_TRUE(rows[3]["abandoned"].get<bool>());  // tau 800 > budget
  const json summary = json::parse(slurp(summary_file));
  EXPECT_GT(summary["shadow_price"].get<double>(), 0.0);
  EXPECT_GE(summary["upper_bound"].get<double>(), summary["utility"].get<double>());
  EXPECT_LE(summary["allocated"].get<int>(), 600);
}

TEST(AllocateE2E, ExactAndBisectionSolversGiveTheSamePlan) {
  const auto a =
      run_clearhouse("allocate " + fixture("allocate/queries.jsonl") + " --per-query 150");
  const auto b = run_clearhouse("allocate " + fixture("allocate/queries.jsonl") +
                                " --per-query 150 --solver bisection");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  const double la = json::parse(a.err)["shadow_price"].get<double>();
  const double lb = json::parse(b.err)["shadow_price"].get<double>();
  EXPECT_NEAR(la, lb, 1e-6 * la);
}

TEST(AllocateE2E, StandardInputGivesTheSamePlanAsAFile) {
  const std::string args = " --per-query 300 --utility scaled --kappa 1.5";
  const auto from_file = run_clearhouse("allocate " + fixture("allocate/queries.jsonl") + args);
  const auto from_stdin = run_clearhouse("allocate -" + args, fixture("allocate/queries.jsonl"));
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(from_file.out, from_stdin.out);
  EXPECT_EQ(json::parse(from_stdin.err)["utility_model"]["shape"], "scaled");
}

struct BadInput {
  const char* name;  // the test's name in ctest
  const char* args;
  const char* expected;  // substring of the one-line error
};

class AllocateBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(AllocateBadInput, ExitsWithStatusTwoAndNamesTheProblem) {
  const auto dir = scratch_dir();
  const auto plan = (dir / "plan.jsonl").string();
  const auto r = run_clearhouse(std::string("allocate ") + GetParam().args + " --out " + plan);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(GetParam().expected), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // one line
  EXPECT_FALSE(std::filesystem::exists(plan)) << "nothing half-written";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AllocateBadInput,
    ::testing::Values(
        BadInput{"EmptyFile", CLEARHOUSE_FIXTURES "/allocate/empty.jsonl --budget 10",
                 "no queries"},
        BadInput{"MalformedJson", CLEARHOUSE_FIXTURES "/allocate/malformed.jsonl --budget 10",
                 "malformed.jsonl:2: not valid JSON"},
        BadInput{"TauNotANumber", CLEARHOUSE_FIXTURES "/allocate/bad_tau_type.jsonl --budget 10",
                 ":2: field 'tau': expected a number"},
        BadInput{"MissingTau", CLEARHOUSE_FIXTURES "/allocate/missing_tau.jsonl --budget 10",
                 ":2: field 'tau': missing"},
        BadInput{"NegativeTau", CLEARHOUSE_FIXTURES "/allocate/negative_tau.jsonl --budget 10",
                 ":2: field 'tau': must be > 0"},
        BadInput{"InfiniteTau", CLEARHOUSE_FIXTURES "/allocate/infinite_tau.jsonl --budget 10",
                 ":2: not valid JSON (number overflow"},
        BadInput{"DuplicateId", CLEARHOUSE_FIXTURES "/allocate/duplicate_id.jsonl --budget 10",
                 ":2: field 'id': duplicate id \"a\" (first on line 1)"},
        BadInput{"PromptWithoutPredictor",
                 CLEARHOUSE_FIXTURES "/allocate/prompt_only.jsonl --budget 10",
                 "threshold predictor is needed"},
        BadInput{"ZeroBudget", CLEARHOUSE_FIXTURES "/allocate/queries.jsonl --budget 0",
                 "--budget: must be positive"},
        BadInput{"NegativeBudget", CLEARHOUSE_FIXTURES "/allocate/queries.jsonl --budget -3",
                 "--budget"},
        BadInput{"BudgetNotANumber", CLEARHOUSE_FIXTURES "/allocate/queries.jsonl --budget lots",
                 "--budget: expected a number of tokens, got 'lots'"},
        BadInput{"FractionalBudget", CLEARHOUSE_FIXTURES "/allocate/queries.jsonl --budget 10.5",
                 "expected a whole number"},
        BadInput{"UnknownPolicy",
                 CLEARHOUSE_FIXTURES "/allocate/queries.jsonl --budget 10 --policy greedy",
                 "--policy: unknown policy 'greedy'"},
        BadInput{"NoBudget", CLEARHOUSE_FIXTURES "/allocate/queries.jsonl",
                 "exactly one of --budget"},
        BadInput{"OracleWithoutTrueLengths",
                 CLEARHOUSE_FIXTURES "/allocate/missing_tau.jsonl --budget 10 --policy oracle",
                 ":1: field 'tokens_needed': missing"},
        BadInput{"TaleEpWithoutTeacherEstimate",
                 CLEARHOUSE_FIXTURES "/allocate/missing_tau.jsonl --budget 10 --policy tale-ep",
                 ":1: field 'teacher_tau': missing (policy tale-ep needs it)"},
        BadInput{"ClearPlusIsBenchOnly",
                 CLEARHOUSE_FIXTURES "/allocate/queries.jsonl --budget 10 --policy clear-plus",
                 "--policy: clear-plus runs in clearhouse bench only"},
        BadInput{"MissingFile", "/nonexistent/queries.jsonl --budget 10",
                 "/nonexistent/queries.jsonl: cannot open"}),
    NamedAfterMember{});

// tale-ep reads the teacher's estimate only: no tau needed, and no model utility to report.
TEST(AllocateE2E, TaleEpNeedsOnlyTheTeacherEstimate) {
  const auto r = run_clearhouse("allocate " + fixture("allocate/teacher_only.jsonl") +
                                " --budget 200 --policy tale-ep");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = parse_jsonl(r.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["max_tokens"], 50);
  EXPECT_EQ(rows[1]["max_tokens"], 150);
  EXPECT_TRUE(json::parse(r.err)["utility"].is_null());
}

TEST(AllocateE2E, HelpListsEveryPolicyWithItsDescriptionAndInputs) {
  const auto r = run_clearhouse("allocate --help");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* line : {"uniform: ", "tale-ep: ", "clear-auction: ", "clear: ", "oracle: ",
                           "(needs: tokens_needed, correct)", "(needs: teacher_tau)"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }
  EXPECT_EQ(r.out.find("clear-plus"), std::string::npos) << "bench-only";
}

TEST(BenchSolverE2E, JsonReportsBothSolversAndTheirRatio) {
  const auto r = run_clearhouse("bench-solver --queries 2000 --repeat 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json out = json::parse(r.out);
  for (const char* solver : {"exact", "bisection"}) {
    ASSERT_TRUE(out.contains(solver));
    EXPECT_GT(out[solver]["seconds"].get<double>(), 0.0);
    EXPECT_GT(out[solver]["shadow_price"].get<double>(), 0.0);
  }
  EXPECT_LT(out["shadow_price_relative_difference"].get<double>(), 1e-6);
  EXPECT_GE(out["exact"]["utility"].get<double>(),
            out["bisection"]["utility"].get<double>() * (1 - 1e-12));
  EXPECT_GT(out["speedup"].get<double>(), 0.0);
}

}  // namespace
}  // namespace clearhouse::testing
