// `clearhouse market --out DIR`: tables (CSV, Markdown) and SVG plots of a beta sweep and the
// auction.
#pragma once

#include <string>
#include <vector>

#include "market/auction.h"
#include "market/market.h"
#include "market/sweep.h"

namespace clearhouse::cli {

struct MarketRun {
  const market::Market* market = nullptr;
  std::vector<market::BetaResult> results;
  std::vector<market::Bid> bids;
  market::AuctionOutcome auction;
  std::string command_line;  // how to reproduce, written into the summary
};

// Writes results.csv, profiles.csv, auction.csv, summary.md and poa.svg, welfare.svg, price.svg,
// user_value.svg, tokens.svg, overspend.svg, curves.svg into dir (created if missing). Throws
// UsageError when the directory cannot be written.
void write_market_report(const std::string& dir, const MarketRun& run);

}  // namespace clearhouse::cli
