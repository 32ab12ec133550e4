// End-to-end: the real `clearhouse` binary on fixture files (tests/fixtures/market). Checks the
// JSON contract of `clearhouse market`, its results against brute force, the report files, a
// 100-beta sweep on nine providers, `clearhouse curves`, and every bad input (exit status 2 and a
// message naming the line).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "market/auction.h"
#include "market/curves_csv.h"
#include "market/equilibrium.h"
#include "market/market.h"
#include "market_test_util.h"
#include "support/run_binary.h"

namespace clearhouse::market {
namespace {

namespace fs = std::filesystem;

using Result = clearhouse::testing::RunResult;
using clearhouse::testing::slurp;

Result run(const std::string& args) {
  return clearhouse::testing::run_clearhouse(args);
}

fs::path scratch(const std::string& name) {
  return clearhouse::testing::scratch_dir() / name;
}

std::string fixture(const std::string& name) {
  return std::string(CLEARHOUSE_FIXTURES) + "/market/" + name;
}

Market load(const std::string& name, const MarketParams& params = {}) {
  const CurvesParse p = parse_curves_csv(slurp(fixture(name)), name);
  EXPECT_TRUE(p.ok()) << p.error;
  return Market(p.providers, params);
}

TEST(MarketCli, JsonHasExactlyTheDocumentedShapeAndCorrectResults) {
  const Result r = run("market --curves " + fixture("three.csv") + " --beta 0.1,1,10,1000 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"auction", "providers", "results"}));
  EXPECT_EQ(j["providers"], nlohmann::json({"fast", "steady", "deep"}));
  ASSERT_EQ(j["results"].size(), 4U);

  const Market m = load("three.csv");
  int undefined_poa = 0;
  for (const auto& row : j["results"]) {
    ASSERT_EQ(row.size(), 4U);
    const double beta = row["beta"].get<double>();
    Profile eq(3), opt(3);
    for (std::size_t k = 0; k < 3; ++k) {
      eq[k] = row["equilibrium"]["theta_index"][m.name(k)].get<std::size_t>();
      opt[k] = row["optimum"]["theta_index"][m.name(k)].get<std::size_t>();
    }
    EXPECT_EQ(row["equilibrium"].size(), 3U);
    EXPECT_GE(row["equilibrium"]["iterations"].get<int>(), 1);
    EXPECT_EQ(row["optimum"].size(), 2U);
    // The equilibrium is one; the optimum is the brute-force maximum; PoA is their ratio.
    EXPECT_LE(max_regret(m, eq, beta).log_utility_gain, 1e-12);
    const double sw_eq = row["equilibrium"]["social_welfare"].get<double>();
    const double sw_opt = row["optimum"]["social_welfare"].get<double>();
    EXPECT_NEAR(sw_eq, social_welfare(m, eq, beta), 1e-12);
    const double brute = testing::brute_force_max_welfare(m, beta);
    EXPECT_NEAR(sw_opt, brute, 1e-9 * std::abs(brute));
    EXPECT_NEAR(social_welfare(m, opt, beta), brute, 1e-9 * std::abs(brute));
    if (sw_eq > 0.0) {
      EXPECT_NEAR(row["price_of_anarchy"].get<double>(), sw_opt / sw_eq, 1e-12);
    } else {
      EXPECT_TRUE(row["price_of_anarchy"].is_null());  // beta 0.1: equilibrium welfare < 0
      ++undefined_poa;
    }
  }
  EXPECT_EQ(undefined_poa, 1);
  const auto& a = j["auction"];
  EXPECT_EQ(a.size(), 6U);
  const AuctionOutcome expected = run_auction(m, truthful_bids(m));
  EXPECT_EQ(a["winner"], m.name(expected.winner));
  EXPECT_EQ(a["runner_up"], m.name(expected.runner_up));
  EXPECT_NEAR(a["price"].get<double>(), expected.price, 1e-12);
  EXPECT_NEAR(a["user_value"].get<double>(), expected.user_value, 1e-12);
  EXPECT_NEAR(a["winner_profit"].get<double>(), expected.winner_profit, 1e-12);
  EXPECT_NEAR(a["social_welfare"].get<double>(), expected.social_welfare, 1e-12);
  EXPECT_GE(a["winner_profit"].get<double>(), 0.0);
}

TEST(MarketCli, OptimumMethodsAgreeOnNineRealProviders) {
  const std::string base =
      "market --curves " + fixture("real9_math_l5.csv") + " --sweep 1:1000000:5 --json";
  const Result dk = run(base);
  const Result bb = run(base + " --optimum branch-and-bound --threads 2");
  ASSERT_EQ(dk.exit_code, 0) << dk.err;
  ASSERT_EQ(bb.exit_code, 0) << bb.err;
  const auto a = nlohmann::json::parse(dk.out)["results"];
  const auto b = nlohmann::json::parse(bb.out)["results"];
  ASSERT_EQ(a.size(), 5U);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = a[i]["optimum"]["social_welfare"].get<double>();
    EXPECT_NEAR(b[i]["optimum"]["social_welfare"].get<double>(), x, 1e-9 * std::abs(x));
    EXPECT_GE(a[i]["price_of_anarchy"].get<double>(), 1.0 - 1e-12);
  }
}

// How long the sweep takes is measured by bench/bench_market.cpp, not asserted here.
TEST(MarketCli, SweepOfAHundredBetasOnNineBySixCoversTheWholeRange) {
  const Result r =
      run("market --curves " + fixture("real9_math_l5.csv") + " --sweep 1:1000000:100 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["results"].size(), 100U);
  EXPECT_DOUBLE_EQ(j["results"][0]["beta"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["results"][99]["beta"].get<double>(), 1e6);
}

TEST(MarketCli, OutWritesTablesAndPlots) {
  const fs::path dir = scratch("report");
  fs::remove_all(dir);
  const Result r = run("market --curves " + fixture("three.csv") +
                       " --sweep 0.1:100:4 --value-curve exp --out " + dir.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("auction: winner"), std::string::npos);
  for (const char* f : {"results.csv", "profiles.csv", "auction.csv", "summary.md"}) {
    EXPECT_FALSE(slurp(dir / f).empty()) << f;
  }
  const std::string results = slurp(dir / "results.csv");
  EXPECT_EQ(std::count(results.begin(), results.end(), '\n'), 5);  // header + 4 betas
  for (const char* f : {"poa.svg", "welfare.svg", "price.svg", "user_value.svg", "tokens.svg",
                        "overspend.svg", "curves.svg"}) {
    const std::string svg = slurp(dir / f);
    EXPECT_EQ(svg.rfind("<svg", 0), 0U) << f;
    EXPECT_NE(svg.find("</svg>"), std::string::npos) << f;
    EXPECT_NE(svg.find("<polyline"), std::string::npos) << f;
  }
  EXPECT_NE(slurp(dir / "summary.md").find("clearhouse market --curves"), std::string::npos);
}

struct BadCase {
  const char* file;
  const char* message;
};

TEST(MarketCli, BadCurvesExitTwoNamingTheLine) {
  const BadCase cases[] = {
      {"bad_missing_column.csv", "line 1: missing column 'tokens'"},
      {"bad_unequal_levels.csv", "line 4: provider 'b' has 1 theta levels"},
      {"bad_accuracy.csv", "line 3: accuracy 1.3 outside [0, 1]"},
      {"bad_negative_tokens.csv", "line 4: negative tokens -40"},
      {"bad_negative_price.csv", "line 4: negative price_per_mtok -0.1"},
      {"bad_theta_order.csv", "line 5: theta 64 is not greater than the previous 128"},
      {"bad_single_provider.csv", "line 2: only one provider ('a')"},
  };
  for (const BadCase& c : cases) {
    const Result r = run("market --curves " + fixture(c.file) + " --json");
    EXPECT_EQ(r.exit_code, 2) << c.file;
    EXPECT_TRUE(r.out.empty()) << c.file;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.file << ": " << r.err;
    EXPECT_NE(r.err.find(c.file), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(MarketCli, BadOptionsExitTwo) {
  const std::string curves = " --curves " + fixture("three.csv");
  const BadCase cases[] = {
      {"market --curves /nonexistent/curves.csv", "/nonexistent/curves.csv"},
      {"market --sweep 1:10", "--sweep"},
      {"market --sweep 10:1:5", "--sweep"},
      {"market --sweep 1:10:2.5", "--sweep"},
      {"market --beta 1,-2", "--beta"},
      {"market --beta 1,x", "--beta"},
      {"market --beta 1 --sweep 1:10:3", "exclusive"},
      {"market --value-curve cubic", "--value-curve"},
      {"market --baseline 2", "baseline"},
      {"market --margin 0", "--margin"},
      {"market --optimum magic", "--optimum"},
  };
  for (const BadCase& c : cases) {
    std::string args = c.file;
    if (args.find("--curves") == std::string::npos) args += curves;
    const Result r = run(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << args << ": " << r.err;
  }
}

TEST(CurvesCli, TokenCappedCurvesFromRuns) {
  const fs::path out = scratch("capped.csv");
  const Result r = run(
      "curves --data " + fixture("zeroeval") +
      " --models Qwen2-7B-Instruct,Meta-Llama-3-8B-Instruct --thetas 64,256 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const CurvesParse p = parse_curves_csv(slurp(out), "capped.csv");
  ASSERT_TRUE(p.ok()) << p.error;
  ASSERT_EQ(p.providers.size(), 2U);
  // Four common questions: math-l5 q1-q3 and gsm g1 (q4 only Qwen ran).
  const Provider& qwen = p.providers[0];
  EXPECT_EQ(qwen.name, "Qwen2-7B-Instruct");
  EXPECT_DOUBLE_EQ(qwen.usd_per_mtok, 0.20);
  EXPECT_DOUBLE_EQ(qwen.levels[0].accuracy, 0.5);
  EXPECT_DOUBLE_EQ(qwen.levels[0].tokens, 54.5);
  EXPECT_DOUBLE_EQ(qwen.levels[1].accuracy, 0.75);
  EXPECT_DOUBLE_EQ(qwen.levels[1].tokens, 111.5);
  const Provider& llama = p.providers[1];
  EXPECT_DOUBLE_EQ(llama.usd_per_mtok, 0.1455);
  EXPECT_DOUBLE_EQ(llama.levels[0].accuracy, 0.0);
  EXPECT_DOUBLE_EQ(llama.levels[0].tokens, 44.5);
  EXPECT_DOUBLE_EQ(llama.levels[1].accuracy, 0.25);
  EXPECT_DOUBLE_EQ(llama.levels[1].tokens, 96.5);

  // One dataset, a price override; the result feeds `clearhouse market`.
  const Result math = run("curves --data " + fixture("zeroeval") +
                          " --models Qwen2-7B-Instruct,Meta-Llama-3-8B-Instruct --dataset math-l5"
                          " --thetas 64,256 --prices Qwen2-7B-Instruct=0.5 --out " +
                          out.string());
  ASSERT_EQ(math.exit_code, 0) << math.err;
  const CurvesParse q = parse_curves_csv(slurp(out), "capped.csv");
  ASSERT_TRUE(q.ok());
  EXPECT_DOUBLE_EQ(q.providers[0].usd_per_mtok, 0.5);
  EXPECT_DOUBLE_EQ(q.providers[0].levels[1].accuracy, 2.0 / 3.0);
  EXPECT_EQ(run("market --curves " + out.string() + " --json").exit_code, 0);
}

TEST(CurvesCli, VotingCurvesFromSamples) {
  const Result r = run("curves --samples " + fixture("samples.jsonl") + " --ns 1,2,3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const CurvesParse p = parse_curves_csv(r.out, "stdout");
  ASSERT_TRUE(p.ok()) << p.error;
  ASSERT_EQ(p.providers.size(), 2U);
  const Provider& maj = p.providers[0];
  const Provider& bon = p.providers[1];
  EXPECT_EQ(maj.name, "qwen25-math-majority");
  EXPECT_EQ(bon.name, "qwen25-math-best-of-n");
  EXPECT_NEAR(maj.levels[0].accuracy, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(maj.levels[1].accuracy, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(maj.levels[2].accuracy, 1.0, 1e-12);
  EXPECT_NEAR(bon.levels[0].accuracy, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(bon.levels[1].accuracy, 0.5, 1e-12);
  EXPECT_NEAR(bon.levels[2].accuracy, 0.5, 1e-12);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(maj.levels[i].tokens, 35.0 * static_cast<double>(i + 1), 1e-12);
  }
}

TEST(CurvesCli, BadRequestsExitTwo) {
  const std::string data = " --data " + fixture("zeroeval");
  const BadCase cases[] = {
      {"curves", "--models"},
      {"curves --models Nope-Model", "no rows for 'Nope-Model'"},
      {"curves --models Other-Model,Qwen2-7B-Instruct", "no default price for model 'Other-Model'"},
      {"curves --models Qwen2-7B-Instruct --thetas 256,64", "strictly increasing"},
      {"curves --models Qwen2-7B-Instruct --thetas 64,abc", "--thetas"},
      {"curves --models Qwen2-7B-Instruct --prices Qwen2-7B-Instruct=-1", "negative price"},
      {"curves --models Qwen2-7B-Instruct --dataset aime", "--dataset"},
      {"curves --samples /nonexistent.jsonl", "/nonexistent.jsonl"},
  };
  for (const BadCase& c : cases) {
    const Result r = run(std::string(c.file) + data);
    EXPECT_EQ(r.exit_code, 2) << c.file;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.file << ": " << r.err;
  }
  const Result ns = run("curves --samples " + fixture("samples.jsonl") + " --ns 1,4");
  EXPECT_EQ(ns.exit_code, 2);
  EXPECT_NE(ns.err.find("--ns"), std::string::npos) << ns.err;
}

}  // namespace
}  // namespace clearhouse::market
