// `clearhouse bench-pacer` through the real binary on the small real-data fixture (tests/fixtures/
// bench): the acceptance properties hold in every scenario it simulates, the reports are
// written, bad input exits with status 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "support/run_binary.h"

namespace clearhouse::testing {
namespace {

using nlohmann::json;

// Every arrival pattern at 0.3x, 1x, 3x and 10x the budget; 2000 requests per window (the trickle
// 200: with only about a hundred, a 10x window funds a dozen queries and the ratio to hindsight is
// noise).
TEST(BenchPacerE2E, EveryScenarioMeetsThePacingAcceptance) {
  const auto dir = scratch_dir();
  const auto out = dir / "report";
  const auto r = run_clearhouse("bench-pacer --quiet --data " + fixture("bench") +
                                " --requests 2000 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| scenario |"), std::string::npos) << r.out;
  const json rows = json::parse(slurp(out / "results.json"));
  ASSERT_EQ(rows.size(), 5u * 4u);
  for (const json& row : rows) {
    const std::string name = row["scenario"];
    SCOPED_TRACE(name);
    const double demand = row["demand_multiple"];
    EXPECT_EQ(row["overshoot"], 0);
    EXPECT_LE(row["spent"].get<std::int64_t>(), row["budget"].get<std::int64_t>());
    if (demand <= 1.0) {
      EXPECT_EQ(row["abandoned"], 0);
      EXPECT_EQ(row["budget_refused"], 0);
      EXPECT_EQ(row["capped_below_need"], 0);
    }
    if (demand >= 3.0) {
      EXPECT_GE(row["utilization"].get<double>(), 0.95);
      EXPECT_GE(row["accuracy_ratio"].get<double>(), 0.90)
          << row["solved"] << " solved online, " << row["offline_solved"] << " offline";
    }
    EXPECT_TRUE(std::filesystem::exists(out / ("pacing-" + name + ".svg")));
    EXPECT_FALSE(row["trace"].empty());
  }
  EXPECT_TRUE(std::filesystem::exists(out / "results.csv"));
  EXPECT_TRUE(std::filesystem::exists(out / "results.md"));
}

TEST(BenchPacerE2E, SameSeedSameTable) {
  const auto dir = scratch_dir();
  const std::string args = "bench-pacer --quiet --data " + fixture("bench") +
                           " --patterns steady,flash-crowd --demands 3 --requests 300 --out " +
                           (dir / "report").string();
  const auto a = run_clearhouse(args);
  const auto b = run_clearhouse(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(BenchPacerE2E, BadInputExitsWithStatusTwo) {
  const std::string data = " --data " + fixture("bench");
  const auto pattern = run_clearhouse("bench-pacer --patterns tidal" + data);
  EXPECT_EQ(pattern.exit_code, 2);
  EXPECT_NE(pattern.err.find("--patterns: unknown pattern 'tidal'"), std::string::npos)
      << pattern.err;
  const auto demand = run_clearhouse("bench-pacer --demands 0" + data);
  EXPECT_EQ(demand.exit_code, 2);
  EXPECT_NE(demand.err.find("--demands"), std::string::npos) << demand.err;
  const auto missing = run_clearhouse("bench-pacer --data /nonexistent/clearhouse-data");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("clearhouse: error:"), std::string::npos) << missing.err;
  const auto headroom = run_clearhouse("bench-pacer --headroom 2" + data);
  EXPECT_EQ(headroom.exit_code, 2);
}

}  // namespace
}  // namespace clearhouse::testing
