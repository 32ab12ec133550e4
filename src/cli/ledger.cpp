// `clearhouse ledger --db FILE [--csv OUT] [--json] [--now MS]`: reads the gateway's token ledger
// (read-only; safe while the gateway runs) and prints totals overall, for the current budget
// window, per client key and per upstream (spent tokens include reasoning tokens; the reasoning
// column says how many of them were reasoning); --csv writes every request as CSV (see
// ledger/csv.h). A missing, corrupt or newer-version ledger is a usage error (exit 2) naming the
// file.
#include "ledger/ledger.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "ledger/csv.h"

namespace clearhouse::cli {
namespace {

using ledger::LedgerTotals;
using ledger::Totals;
using ledger::WindowTotals;
using ordered_json = nlohmann::ordered_json;

struct LedgerOptions {
  std::string db;
  std::string csv;
  bool json = false;
  std::optional<std::int64_t> now_ms;
};

ordered_json optional_json(const std::optional<std::int64_t>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json totals_json(const Totals& t) {
  return {{"requests", t.requests},
          {"open_requests", t.open_requests},
          {"spent_tokens", t.spent_tokens},
          {"reasoning_tokens", t.reasoning_tokens},
          {"reserved_tokens", t.reserved_tokens},
          {"payment_usd", t.payment_usd}};
}

ordered_json window_json(const ledger::WindowTotals& w) {
  return {{"window_start_ms", w.window_start_ms},
          {"window_end_ms", optional_json(w.window_end_ms)},
          {"spent_tokens", w.spent_tokens},
          {"reserved_tokens", w.reserved_tokens},
          {"budget_tokens", optional_json(w.budget_tokens)},
          {"remaining_tokens", optional_json(w.remaining_tokens)}};
}

std::string optional_text(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : std::string("-");
}

std::string render_json(const std::string& db, const ledger::BudgetConfig& budget,
                        const ledger::LedgerTotals& t) {
  ordered_json out;
  out["db"] = db;
  out["window_seconds"] = budget.window_seconds;
  out["overall"] = totals_json(t.overall);
  out["window"] = window_json(t.window);
  out["by_key"] = ordered_json::object();
  for (const auto& [key, totals] : t.by_key) out["by_key"][key] = totals_json(totals);
  out["key_windows"] = ordered_json::object();
  for (const auto& [key, w] : t.key_windows) out["key_windows"][key] = window_json(w);
  out["by_upstream"] = ordered_json::object();
  for (const auto& [name, totals] : t.by_upstream) out["by_upstream"][name] = totals_json(totals);
  return out.dump(2) + "\n";
}

std::string totals_table(const std::string& title, const std::map<std::string, Totals>& rows,
                         const std::map<std::string, ledger::WindowTotals>* windows) {
  std::string out = fmt::format("{:<24} {:>9} {:>6} {:>12} {:>12} {:>12} {:>12}", title, "requests",
                                "open", "spent", "reasoning", "reserved", "paid_usd");
  if (windows != nullptr) out += fmt::format(" {:>12} {:>12}", "win_budget", "win_remain");
  out += "\n";
  for (const auto& [name, t] : rows) {
    out += fmt::format("{:<24} {:>9} {:>6} {:>12} {:>12} {:>12} {:>12.6f}",
                       name.empty() ? "(none)" : name, t.requests, t.open_requests, t.spent_tokens,
                       t.reasoning_tokens, t.reserved_tokens, t.payment_usd);
    if (windows != nullptr) {
      const auto it = windows->find(name);
      const ledger::WindowTotals w = it == windows->end() ? ledger::WindowTotals{} : it->second;
      out += fmt::format(" {:>12} {:>12}", optional_text(w.budget_tokens),
                         optional_text(w.remaining_tokens));
    }
    out += "\n";
  }
  return out;
}

std::string render_text(const std::string& db, const ledger::BudgetConfig& budget,
                        const ledger::LedgerTotals& t) {
  std::string out = fmt::format("ledger {}\n", db);
  out += fmt::format(
      "overall: {} requests ({} open), spent {} tokens, reserved {} tokens, paid {:.6f} USD; "
      "{} of the spent tokens were reasoning\n",
      t.overall.requests, t.overall.open_requests, t.overall.spent_tokens,
      t.overall.reserved_tokens, t.overall.payment_usd, t.overall.reasoning_tokens);
  const std::string span =
      budget.window_seconds == 0
          ? std::string("all time")
          : fmt::format("{} s from {} ms", budget.window_seconds, t.window.window_start_ms);
  out +=
      fmt::format("window ({}): spent {}, reserved {}, budget {}, remaining {}\n\n", span,
                  t.window.spent_tokens, t.window.reserved_tokens,
                  optional_text(t.window.budget_tokens), optional_text(t.window.remaining_tokens));
  std::map<std::string, Totals> keys = t.by_key;
  for (const auto& [key, w] : t.key_windows) keys.try_emplace(key);  // budgets without requests
  out += totals_table("key", keys, &t.key_windows);
  out += "\n";
  out += totals_table("upstream", t.by_upstream, nullptr);
  return out;
}

void run_ledger(const LedgerOptions& o) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(o.db, ec)) {
    throw UsageError(o.db + ": no such ledger file");
  }
  base::SystemClock system_clock;
  base::ManualClock fixed_clock(o.now_ms.value_or(0));
  const base::Clock& clock = o.now_ms ? static_cast<const base::Clock&>(fixed_clock) : system_clock;
  try {
    const ledger::Ledger ledger = ledger::Ledger::open(o.db, clock, {.read_only = true});
    if (const std::uint64_t bytes = ledger.unapplied_journal_bytes(); bytes > 0) {
      // Stderr: stdout may carry CSV or JSON.
      std::fprintf(stderr,
                   "note: %s has %llu bytes of journaled writes not yet in the file (a running "
                   "gateway applies them within about 20 ms; after a crash, the next "
                   "`clearhouse serve` applies them): the figures below may miss them\n",
                   o.db.c_str(), static_cast<unsigned long long>(bytes));
    }
    const ledger::LedgerTotals totals = ledger.totals();
    const ledger::BudgetConfig budget = ledger.budget();
    if (!o.csv.empty()) write_text_atomic(o.csv, ledger::ledger_csv(ledger));
    if (o.csv == "-") return;  // stdout carries the CSV alone
    const std::string report =
        o.json ? render_json(o.db, budget, totals) : render_text(o.db, budget, totals);
    std::fwrite(report.data(), 1, report.size(), stdout);
  } catch (const ledger::LedgerError& e) {
    throw UsageError(e.what());
  }
}

}  // namespace

void add_ledger_command(CLI::App& app) {
  auto options = std::make_shared<LedgerOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ledger",
      "Print the gateway ledger's totals (overall, per key, per upstream) and export CSV");
  cmd->add_option("--db", options->db, "Ledger file (SQLite), opened read-only")->required();
  cmd->add_option("--csv", options->csv, "Write every request as CSV to this file ('-': stdout)");
  cmd->add_flag("--json", options->json, "Print the totals as JSON");
  cmd->add_option("--now", options->now_ms,
                  "Current time in ms since the epoch for the window figures (default: now)");
  cmd->callback([options] { run_ledger(*options); });
}

}  // namespace clearhouse::cli
