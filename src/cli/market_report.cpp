#include "cli/market_report.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "cli/errors.h"
#include "eval/market_svg.h"
#include "market/logit.h"

namespace clearhouse::cli {
using eval::Chart;
using eval::ChartSeries;
using eval::render_svg;

namespace {

namespace fs = std::filesystem;
using market::BetaResult;

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) throw UsageError("--out: cannot write " + path.string());
}

std::string num(double v) {
  if (std::isnan(v)) return "";
  return fmt::format("{:.10g}", v);
}

std::string csv_name(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Over-spending at an equilibrium: tokens above each provider's efficient level (its truthful
// auction bid, the level maximising q - c), as an unweighted mean over providers and weighted by
// market share.
struct Excess {
  double mean = 0.0;
  double weighted = 0.0;
};

Excess excess_tokens(const MarketRun& run, const BetaResult& r) {
  const market::Market& m = *run.market;
  const std::vector<double> s = market::shares(m, r.equilibrium.profile, r.beta);
  Excess e;
  for (std::size_t k = 0; k < m.size(); ++k) {
    const double d = m.at(k, r.equilibrium.profile[k]).tokens - m.at(k, run.bids[k].level).tokens;
    e.mean += d / static_cast<double>(m.size());
    e.weighted += s[k] * d;
  }
  return e;
}

std::string results_csv(const MarketRun& run) {
  std::string out =
      "beta,eq_social_welfare,opt_social_welfare,price_of_anarchy,eq_price,opt_price,"
      "eq_user_value,opt_user_value,eq_provider_profit,opt_provider_profit,eq_tokens,opt_tokens,"
      "eq_accuracy,opt_accuracy,eq_buy_share,opt_buy_share,eq_rounds,eq_moves,eq_status,"
      "auction_social_welfare,auction_price,auction_user_value,auction_tokens,"
      "eq_excess_tokens_mean,eq_excess_tokens_weighted\n";
  for (const BetaResult& r : run.results) {
    const auto& e = r.at_equilibrium;
    const auto& o = r.at_optimum;
    const Excess x = excess_tokens(run, r);
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", num(r.beta),
        num(e.social_welfare), num(o.social_welfare), num(r.price_of_anarchy), num(e.mean_price),
        num(o.mean_price), num(e.user_value), num(o.user_value), num(e.provider_profit),
        num(o.provider_profit), num(e.mean_tokens), num(o.mean_tokens), num(e.mean_accuracy),
        num(o.mean_accuracy), num(e.buy_share), num(o.buy_share), r.equilibrium.rounds,
        r.equilibrium.moves, market::to_string(r.equilibrium.status),
        num(run.auction.social_welfare), num(run.auction.price), num(run.auction.user_value),
        num(run.auction.tokens), num(x.mean), num(x.weighted));
  }
  return out;
}

std::string profiles_csv(const MarketRun& run) {
  const market::Market& m = *run.market;
  std::string out =
      "beta,provider,eq_theta_index,eq_theta,eq_share,eq_tokens,opt_theta_index,opt_theta,"
      "opt_share,opt_tokens\n";
  for (const BetaResult& r : run.results) {
    const std::vector<double> se = market::shares(m, r.equilibrium.profile, r.beta);
    const std::vector<double> so = market::shares(m, r.optimum.profile, r.beta);
    for (std::size_t k = 0; k < m.size(); ++k) {
      const auto& le = m.at(k, r.equilibrium.profile[k]);
      const auto& lo = m.at(k, r.optimum.profile[k]);
      out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", num(r.beta), csv_name(m.name(k)),
                         r.equilibrium.profile[k], num(le.theta), num(se[k]), num(le.tokens),
                         r.optimum.profile[k], num(lo.theta), num(so[k]), num(lo.tokens));
    }
  }
  return out;
}

std::string auction_csv(const MarketRun& run) {
  const market::Market& m = *run.market;
  std::string out = "provider,bid_theta_index,bid_theta,accuracy,tokens,quality,cost,score,role\n";
  for (std::size_t k = 0; k < m.size(); ++k) {
    const market::Bid& b = run.bids[k];
    const auto& e = m.at(k, b.level);
    const bool sold = run.auction.status == market::AuctionStatus::kSold;
    const char* role = sold && run.auction.winner == k      ? "winner"
                       : sold && run.auction.runner_up == k ? "runner_up"
                                                            : "";
    out += fmt::format("{},{},{},{},{},{},{},{},{}\n", csv_name(m.name(k)), b.level, num(e.theta),
                       num(e.accuracy), num(e.tokens), num(b.reported_quality),
                       num(b.reported_cost), num(b.score()), role);
  }
  return out;
}

std::string summary_md(const MarketRun& run) {
  const market::Market& m = *run.market;
  std::string out = "# Market report\n\nReproduce with:\n\n```\n" + run.command_line + "\n```\n\n";
  out +=
      "| beta | SW equilibrium | SW optimum | PoA | tokens eq | tokens opt | price eq (USD) | "
      "excess tokens eq (mean) |\n";
  out += "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const BetaResult& r : run.results) {
    out += fmt::format("| {:.4g} | {:.6f} | {:.6f} | {} | {:.1f} | {:.1f} | {:.3e} | {:.1f} |\n",
                       r.beta, r.at_equilibrium.social_welfare, r.at_optimum.social_welfare,
                       std::isnan(r.price_of_anarchy) ? std::string("n/a")
                                                      : fmt::format("{:.6f}", r.price_of_anarchy),
                       r.at_equilibrium.mean_tokens, r.at_optimum.mean_tokens,
                       r.at_equilibrium.mean_price, excess_tokens(run, r).mean);
  }
  const auto& a = run.auction;
  if (a.status == market::AuctionStatus::kSold) {
    out += fmt::format(
        "\nAuction: {} wins (theta {}), runner-up {}; user pays {:.6g} USD, keeps {:.6g}; winner "
        "earns {:.6g}; welfare {:.6g}; {:.1f} tokens.\n",
        m.name(a.winner), m.at(a.winner, a.winner_level).theta, m.name(a.runner_up), a.price,
        a.user_value, a.winner_profit, a.social_welfare, a.tokens);
  } else {
    out += fmt::format("\nAuction: {}\n", market::to_string(a.status));
  }
  return out;
}

ChartSeries series(const std::string& name, const MarketRun& run, double (*get)(const BetaResult&),
                   bool dashed = false) {
  ChartSeries s{name, {}, dashed, run.results.size() <= 20};
  for (const BetaResult& r : run.results) s.points.emplace_back(r.beta, get(r));
  return s;
}

ChartSeries flat(const std::string& name, const MarketRun& run, double y) {
  ChartSeries s{name, {}, true, false};
  if (!run.results.empty()) {
    s.points.emplace_back(run.results.front().beta, y);
    s.points.emplace_back(run.results.back().beta, y);
  }
  return s;
}

}  // namespace

void write_market_report(const std::string& dir, const MarketRun& run) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UsageError("--out: cannot create directory " + dir + ": " + ec.message());
  const fs::path base(dir);
  write_file(base / "results.csv", results_csv(run));
  write_file(base / "profiles.csv", profiles_csv(run));
  write_file(base / "auction.csv", auction_csv(run));
  write_file(base / "summary.md", summary_md(run));

  const bool sold = run.auction.status == market::AuctionStatus::kSold;
  const bool many = run.results.size() > 1;
  Chart poa{"Price of anarchy vs user rationality",
            "beta (per USD, log scale)",
            "SW(optimum) / SW(equilibrium)",
            many,
            {}};
  poa.series.push_back(
      series("price of anarchy", run, [](const BetaResult& r) { return r.price_of_anarchy; }));
  write_file(base / "poa.svg", render_svg(poa));

  // Market equilibrium vs welfare optimum (vs the auction when it sold), one chart per quantity.
  struct Comparison {
    const char* file;
    const char* title;
    const char* unit;
    double market::MarketSummary::*field;
    double auction_value;
  };
  const Comparison comparisons[] = {
      {"welfare.svg", "Social welfare per user", "USD", &market::MarketSummary::social_welfare,
       run.auction.social_welfare},
      {"price.svg", "Price paid per user", "USD", &market::MarketSummary::mean_price,
       run.auction.price},
      {"user_value.svg", "User value (quality - price) per user", "USD",
       &market::MarketSummary::user_value, run.auction.user_value},
      {"tokens.svg", "Output tokens spent per user", "tokens", &market::MarketSummary::mean_tokens,
       run.auction.tokens},
  };
  for (const Comparison& c : comparisons) {
    Chart chart{c.title, "beta (per USD, log scale)", c.unit, many, {}};
    ChartSeries at_equilibrium{"market equilibrium", {}, false, run.results.size() <= 20};
    ChartSeries at_optimum{"welfare optimum", {}, false, run.results.size() <= 20};
    for (const BetaResult& r : run.results) {
      at_equilibrium.points.emplace_back(r.beta, r.at_equilibrium.*c.field);
      at_optimum.points.emplace_back(r.beta, r.at_optimum.*c.field);
    }
    chart.series.push_back(std::move(at_equilibrium));
    chart.series.push_back(std::move(at_optimum));
    if (sold) chart.series.push_back(flat("auction", run, c.auction_value));
    write_file(base / c.file, render_svg(chart));
  }

  Chart excess{"Over-spending: tokens above each provider's efficient level",
               "beta (per USD, log scale)",
               "output tokens per query",
               many,
               {}};
  std::vector<Excess> xs;
  for (const BetaResult& r : run.results) xs.push_back(excess_tokens(run, r));
  ChartSeries mean_series{"mean over providers", {}, false, run.results.size() <= 20};
  ChartSeries weighted_series{"share-weighted", {}, true, run.results.size() <= 20};
  for (std::size_t i = 0; i < run.results.size(); ++i) {
    mean_series.points.emplace_back(run.results[i].beta, xs[i].mean);
    weighted_series.points.emplace_back(run.results[i].beta, xs[i].weighted);
  }
  excess.series.push_back(std::move(mean_series));
  excess.series.push_back(std::move(weighted_series));
  write_file(base / "overspend.svg", render_svg(excess));

  const market::Market& m = *run.market;
  Chart curves{"Compute curves", "mean output tokens per query", "accuracy", false, {}};
  for (std::size_t k = 0; k < m.size(); ++k) {
    ChartSeries s{m.name(k), {}, false, true};
    for (std::size_t l = 0; l < m.levels(k); ++l)
      s.points.emplace_back(m.at(k, l).tokens, m.at(k, l).accuracy);
    curves.series.push_back(std::move(s));
  }
  write_file(base / "curves.svg", render_svg(curves));
}

}  // namespace clearhouse::cli
