// Unit tests of the token ledger: every operation, budgets and windows, idempotency, reconcile,
// durability across close/reopen, schema versions and bad files.
#include "ledger/ledger.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <fstream>

#include "ledger/csv.h"
#include "ledger/ledger_test_util.h"

namespace clearhouse::ledger::testing {
namespace {

TEST(Ledger, ReserveSettleReleaseUpdateTotals) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  EXPECT_EQ(ledger.schema_version(), Ledger::current_schema_version());

  ASSERT_EQ(ledger.reserve("r1", "alice", "vllm", 100).status, ReserveStatus::kReserved);
  ASSERT_EQ(ledger.reserve("r2", "bob", "vllm", 50).status, ReserveStatus::kReserved);
  ASSERT_EQ(ledger.reserve("r3", "alice", "openai", 30).status, ReserveStatus::kReserved);

  LedgerTotals t = ledger.totals();
  EXPECT_EQ(t.overall.requests, 3);
  EXPECT_EQ(t.overall.open_requests, 3);
  EXPECT_EQ(t.overall.reserved_tokens, 180);
  EXPECT_EQ(t.overall.spent_tokens, 0);

  const CloseResult s = ledger.settle("r1", 70, 0.25);
  EXPECT_EQ(s.status, CloseStatus::kClosed);
  EXPECT_EQ(s.state, RequestState::kSettled);
  EXPECT_EQ(s.reserved_tokens, 100);
  EXPECT_EQ(s.used_tokens, 70);
  EXPECT_EQ(s.released_tokens, 30);
  EXPECT_EQ(s.overrun_tokens, 0);

  const CloseResult r = ledger.release("r2");
  EXPECT_EQ(r.status, CloseStatus::kClosed);
  EXPECT_EQ(r.state, RequestState::kReleased);
  EXPECT_EQ(r.released_tokens, 50);

  t = ledger.totals();
  EXPECT_EQ(t.overall.requests, 3);
  EXPECT_EQ(t.overall.open_requests, 1);
  EXPECT_EQ(t.overall.spent_tokens, 70);
  EXPECT_EQ(t.overall.reserved_tokens, 30);
  EXPECT_DOUBLE_EQ(t.overall.payment_usd, 0.25);
  ASSERT_EQ(t.by_key.size(), 2u);
  EXPECT_EQ(t.by_key["alice"].spent_tokens, 70);
  EXPECT_EQ(t.by_key["alice"].reserved_tokens, 30);
  EXPECT_EQ(t.by_key["bob"].spent_tokens, 0);
  EXPECT_EQ(t.by_key["bob"].requests, 1);
  ASSERT_EQ(t.by_upstream.size(), 2u);
  EXPECT_EQ(t.by_upstream["vllm"].spent_tokens, 70);
  EXPECT_EQ(t.by_upstream["openai"].reserved_tokens, 30);
  EXPECT_EQ(t.window.spent_tokens, 70);
  EXPECT_EQ(t.window.reserved_tokens, 30);
  EXPECT_FALSE(t.window.budget_tokens.has_value());
  EXPECT_FALSE(t.window.remaining_tokens.has_value());

  const auto rec = ledger.find("r1");
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->key_id, "alice");
  EXPECT_EQ(rec->upstream, "vllm");
  EXPECT_EQ(rec->used_tokens, 70);
  EXPECT_EQ(rec->reserved_at_ms, kT0);
  EXPECT_EQ(rec->closed_at_ms, kT0);
  EXPECT_FALSE(ledger.find("nope").has_value());
}

TEST(Ledger, SettleAndReleaseAreIdempotent) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  ASSERT_EQ(ledger.reserve("r1", "k", "u", 100).status, ReserveStatus::kReserved);
  ASSERT_EQ(ledger.settle("r1", 40, 0.1).status, CloseStatus::kClosed);

  const CloseResult again = ledger.settle("r1", 90, 9.0);
  EXPECT_EQ(again.status, CloseStatus::kAlreadyClosed);
  EXPECT_EQ(to_string(again.status), "already settled");
  EXPECT_EQ(again.used_tokens, 40);  // the first settlement stands
  const CloseResult late_release = ledger.release("r1");
  EXPECT_EQ(late_release.status, CloseStatus::kAlreadyClosed);
  EXPECT_EQ(late_release.state, RequestState::kSettled);

  EXPECT_EQ(ledger.settle("missing", 1, 0.0).status, CloseStatus::kUnknownId);
  EXPECT_EQ(ledger.release("missing").status, CloseStatus::kUnknownId);

  const LedgerTotals t = ledger.totals();
  EXPECT_EQ(t.overall.spent_tokens, 40);
  EXPECT_EQ(t.overall.reserved_tokens, 0);
  EXPECT_DOUBLE_EQ(t.overall.payment_usd, 0.1);
}

TEST(Ledger, DuplicateIdIsRejectedWhateverItsState) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  ASSERT_EQ(ledger.reserve("r1", "k", "u", 10).status, ReserveStatus::kReserved);
  EXPECT_EQ(ledger.reserve("r1", "other", "u", 5).status, ReserveStatus::kDuplicateId);
  ledger.settle("r1", 10, 0.0);
  EXPECT_EQ(ledger.reserve("r1", "k", "u", 10).status, ReserveStatus::kDuplicateId);
  const LedgerTotals t = ledger.totals();
  EXPECT_EQ(t.overall.requests, 1);
  EXPECT_EQ(t.overall.spent_tokens, 10);
}

TEST(Ledger, GlobalBudgetIsEnforcedAndSettlingReturnsTheRest) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  ledger.configure_budget({.window_seconds = 0, .global_tokens = 100});

  ReserveResult a = ledger.reserve("a", "k", "u", 60);
  ASSERT_EQ(a.status, ReserveStatus::kReserved);
  EXPECT_EQ(a.global_remaining, 40);
  EXPECT_FALSE(a.window_end_ms.has_value());
  ReserveResult b = ledger.reserve("b", "k", "u", 41);
  EXPECT_EQ(b.status, ReserveStatus::kOverGlobalBudget);
  EXPECT_EQ(b.global_remaining, 40);
  EXPECT_FALSE(ledger.find("b").has_value());  // a rejection records nothing

  ASSERT_EQ(ledger.reserve("c", "k", "u", 40).status, ReserveStatus::kReserved);  // exactly full
  EXPECT_EQ(ledger.reserve("d", "k", "u", 1).status, ReserveStatus::kOverGlobalBudget);
  EXPECT_EQ(ledger.reserve("zero", "k", "u", 0).status, ReserveStatus::kReserved);

  ledger.settle("a", 25, 0.0);  // 35 tokens come back
  EXPECT_EQ(ledger.window_totals().remaining_tokens, 35);
  EXPECT_EQ(ledger.reserve("e", "k", "u", 35).status, ReserveStatus::kReserved);
  EXPECT_EQ(ledger.reserve("f", "k", "u", 1).status, ReserveStatus::kOverGlobalBudget);
  ledger.release("c");
  EXPECT_EQ(ledger.reserve("g", "k", "u", 40).status, ReserveStatus::kReserved);
  const WindowTotals w = ledger.window_totals();
  EXPECT_EQ(w.spent_tokens + w.reserved_tokens, 100);
  EXPECT_EQ(w.remaining_tokens, 0);
}

TEST(Ledger, KeyBudgetsApplyPerKeyAndTheGlobalBudgetToAll) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  ledger.configure_budget({.window_seconds = 60, .global_tokens = 100});
  ledger.set_key_budget("small", 30);
  EXPECT_EQ(ledger.key_budgets(), (std::map<std::string, std::int64_t>{{"small", 30}}));

  ReserveResult r = ledger.reserve("s1", "small", "u", 30);
  ASSERT_EQ(r.status, ReserveStatus::kReserved);
  EXPECT_EQ(r.key_remaining, 0);
  EXPECT_EQ(r.global_remaining, 70);
  EXPECT_EQ(ledger.reserve("s2", "small", "u", 1).status, ReserveStatus::kOverKeyBudget);
  EXPECT_EQ(ledger.reserve("b1", "big", "u", 70).status, ReserveStatus::kReserved);
  EXPECT_FALSE(ledger.reserve("b1x", "big", "u", 1).key_remaining.has_value());
  EXPECT_EQ(ledger.reserve("b2", "big", "u", 1).status, ReserveStatus::kOverGlobalBudget);

  const WindowTotals kw = ledger.key_window_totals("small");
  EXPECT_EQ(kw.budget_tokens, 30);
  EXPECT_EQ(kw.reserved_tokens, 30);
  LedgerTotals t = ledger.totals();
  ASSERT_TRUE(t.key_windows.contains("small"));
  ASSERT_TRUE(t.key_windows.contains("big"));
  EXPECT_EQ(t.key_windows["small"].remaining_tokens, 0);
  EXPECT_FALSE(t.key_windows["big"].budget_tokens.has_value());

  ledger.set_key_budget("small", std::nullopt);  // removed: only the global budget applies
  EXPECT_TRUE(ledger.key_budgets().empty());
  EXPECT_EQ(ledger.reserve("s3", "small", "u", 1).status, ReserveStatus::kOverGlobalBudget);
}

TEST(Ledger, WindowsRollOverWithSimulatedTime) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  ledger.configure_budget({.window_seconds = 3600, .global_tokens = 100});
  const ReserveResult first = ledger.reserve("a", "k", "u", 100);
  ASSERT_EQ(first.status, ReserveStatus::kReserved);
  ASSERT_TRUE(first.window_end_ms.has_value());
  EXPECT_EQ(first.window_start_ms % 3'600'000, 0);
  EXPECT_LE(first.window_start_ms, kT0);
  EXPECT_GT(*first.window_end_ms, kT0);
  EXPECT_EQ(ledger.reserve("b", "k", "u", 1).status, ReserveStatus::kOverGlobalBudget);

  clock.set_ms(*first.window_end_ms - 1);
  EXPECT_EQ(ledger.reserve("c", "k", "u", 1).status, ReserveStatus::kOverGlobalBudget);
  clock.set_ms(*first.window_end_ms);  // the next window
  EXPECT_EQ(ledger.reserve("d", "k", "u", 100).status, ReserveStatus::kReserved);

  // A late settlement is charged to the window the request was reserved in.
  ledger.settle("a", 10, 0.0);
  const WindowTotals now = ledger.window_totals();
  EXPECT_EQ(now.reserved_tokens, 100);
  EXPECT_EQ(now.spent_tokens, 0);
  EXPECT_EQ(ledger.totals().overall.spent_tokens, 10);
}

TEST(Ledger, SettlingMoreThanReservedIsRecordedAsAnOverrun) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  ledger.configure_budget({.window_seconds = 0, .global_tokens = 100});
  ASSERT_EQ(ledger.reserve("a", "k", "u", 50).status, ReserveStatus::kReserved);
  const CloseResult c = ledger.settle("a", 120, 0.0);
  EXPECT_EQ(c.overrun_tokens, 70);
  EXPECT_EQ(c.released_tokens, 0);
  const WindowTotals w = ledger.window_totals();
  EXPECT_EQ(w.spent_tokens, 120);    // the truth, even beyond the budget
  EXPECT_EQ(w.remaining_tokens, 0);  // clamped
  EXPECT_EQ(ledger.reserve("b", "k", "u", 1).status, ReserveStatus::kOverGlobalBudget);
}

TEST(Ledger, ReconcileCountsOpenReservationsAsFullyUsedByDefault) {
  base::ManualClock clock(kT0);
  const std::string path = ledger_path();
  {
    Ledger ledger = Ledger::open(path, clock);
    ledger.reserve("done", "k", "vllm", 100);
    ledger.settle("done", 40, 0.5);
    ledger.reserve("open1", "k", "vllm", 200);
    ledger.reserve("open2", "j", "openai", 300);
  }
  clock.advance_ms(5000);
  Ledger ledger = Ledger::open(path, clock);
  const ReconcileReport report =
      ledger.reconcile_after_restart(ReconcilePolicy::kCountAsFullyUsed, {{"openai", 1e-6}});
  ASSERT_EQ(report.requests.size(), 2u);
  EXPECT_EQ(report.counted_tokens, 500);
  EXPECT_EQ(report.released_tokens, 0);
  EXPECT_EQ(report.requests[0].request_id, "open1");
  EXPECT_EQ(report.requests[0].state, RequestState::kReconciled);
  EXPECT_DOUBLE_EQ(report.requests[0].payment_usd, 0.0);  // unknown price
  EXPECT_DOUBLE_EQ(report.requests[1].payment_usd, 300e-6);
  EXPECT_EQ(report.requests[1].closed_at_ms, kT0 + 5000);

  const LedgerTotals t = ledger.totals();
  EXPECT_EQ(t.overall.reserved_tokens, 0);
  EXPECT_EQ(t.overall.spent_tokens, 540);
  EXPECT_EQ(ledger.find("done")->used_tokens, 40);  // closed requests untouched
  EXPECT_EQ(ledger.settle("open1", 1, 0.0).status, CloseStatus::kAlreadyClosed);
  EXPECT_TRUE(ledger.reconcile_after_restart().requests.empty());  // nothing left to do
}

TEST(Ledger, ReconcileCanReleaseWhenTold) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  ledger.reserve("open1", "k", "u", 200);
  const ReconcileReport report = ledger.reconcile_after_restart(ReconcilePolicy::kRelease);
  EXPECT_EQ(report.released_tokens, 200);
  EXPECT_EQ(report.counted_tokens, 0);
  EXPECT_EQ(ledger.find("open1")->state, RequestState::kReleased);
  EXPECT_EQ(ledger.totals().overall.spent_tokens, 0);
}

TEST(Ledger, EverythingSurvivesCloseAndReopen) {
  base::ManualClock clock(kT0);
  const std::string path = ledger_path();
  LedgerTotals before;
  std::string csv_before;
  {
    Ledger ledger = Ledger::open(path, clock);
    ledger.configure_budget({.window_seconds = 60, .global_tokens = 1000});
    ledger.set_key_budget("a", 500);
    for (int i = 0; i < 20; ++i) {
      const std::string id = "r" + std::to_string(i);
      ASSERT_EQ(ledger.reserve(id, i % 2 ? "a" : "b", i % 3 ? "x" : "y", 10 + i).status,
                ReserveStatus::kReserved);
      if (i % 4 == 0) ledger.settle(id, i, 0.01 * i);
      if (i % 4 == 1) ledger.release(id);
    }
    before = ledger.totals();
    csv_before = ledger_csv(ledger);
  }
  Ledger ledger = Ledger::open(path, clock);
  LedgerTotals after = ledger.totals();
  EXPECT_EQ(after.overall.requests, before.overall.requests);
  EXPECT_EQ(after.overall.spent_tokens, before.overall.spent_tokens);
  EXPECT_EQ(after.overall.reserved_tokens, before.overall.reserved_tokens);
  EXPECT_EQ(after.window.remaining_tokens, before.window.remaining_tokens);
  EXPECT_EQ(after.key_windows["a"].remaining_tokens, before.key_windows["a"].remaining_tokens);
  EXPECT_EQ(ledger_csv(ledger), csv_before);
  EXPECT_EQ(ledger.budget().window_seconds, 60);
  EXPECT_EQ(ledger.budget().global_tokens, 1000);
  const Totals summed = sum_of_records(ledger);
  EXPECT_EQ(summed.spent_tokens, after.overall.spent_tokens);
  EXPECT_EQ(summed.reserved_tokens, after.overall.reserved_tokens);
}

TEST(Ledger, ManyOperationsAcrossBackgroundCheckpointsSurviveReopen) {
  // Enough writes to cross the checkpoint threshold several times (see checkpointer.h).
  base::ManualClock clock(kT0);
  const std::string path = ledger_path();
  constexpr int kPairs = 3000;
  {
    Ledger ledger = Ledger::open(path, clock);
    for (int i = 0; i < kPairs; ++i) {
      const std::string id = "r" + std::to_string(i);
      ASSERT_EQ(ledger.reserve(id, "k" + std::to_string(i % 7), "u", 10).status,
                ReserveStatus::kReserved);
      ASSERT_EQ(ledger.settle(id, i % 10, 0.0).status, CloseStatus::kClosed);
    }
  }
  Ledger ledger = Ledger::open(path, clock);
  const LedgerTotals t = ledger.totals();
  EXPECT_EQ(t.overall.requests, kPairs);
  EXPECT_EQ(t.overall.spent_tokens, kPairs / 10 * 45);
  EXPECT_EQ(t.window.spent_tokens, t.overall.spent_tokens);
  EXPECT_EQ(t.overall.reserved_tokens, 0);
}

TEST(Ledger, FileIsInWalMode) {
  base::ManualClock clock(kT0);
  const std::string path = ledger_path();
  Ledger ledger = Ledger::open(path, clock);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST(Ledger, ReadOnlyLedgerReadsButRefusesWrites) {
  base::ManualClock clock(kT0);
  const std::string path = ledger_path();
  {
    Ledger ledger = Ledger::open(path, clock);
    ledger.reserve("r", "k", "u", 5);
  }
  Ledger ro = Ledger::open(path, clock, {.read_only = true});
  EXPECT_EQ(ro.totals().overall.reserved_tokens, 5);
  EXPECT_THROW(ro.reserve("s", "k", "u", 1), LedgerError);
  EXPECT_THROW(ro.settle("r", 1, 0.0), LedgerError);
  EXPECT_THROW(Ledger::open(ledger_path("missing.db"), clock, {.read_only = true}), LedgerError);
}

TEST(Ledger, MisuseThrowsInvalidArgument) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  EXPECT_THROW(ledger.reserve("", "k", "u", 1), std::invalid_argument);
  EXPECT_THROW(ledger.reserve("r", "k", "u", -1), std::invalid_argument);
  EXPECT_THROW(ledger.reserve("r", "k", "u", kMaxLedgerTokens + 1), std::invalid_argument);
  EXPECT_THROW(ledger.reserve(std::string(kMaxLedgerIdLength + 1, 'x'), "k", "u", 1),
               std::invalid_argument);
  ledger.reserve("r", "k", "u", 1);
  EXPECT_THROW(ledger.settle("r", -1, 0.0), std::invalid_argument);
  EXPECT_THROW(ledger.settle("r", 1, -0.5), std::invalid_argument);
  EXPECT_THROW(ledger.settle("r", 1, std::nan("")), std::invalid_argument);
  EXPECT_THROW(ledger.configure_budget({.window_seconds = -1, .global_tokens = std::nullopt}),
               std::invalid_argument);
  EXPECT_THROW(ledger.set_key_budget("k", -5), std::invalid_argument);
  EXPECT_EQ(ledger.find("r")->state, RequestState::kOpen);  // nothing half-done
}

void exec_sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

std::string open_error(const std::string& path, const LedgerOptions& options = {}) {
  base::ManualClock clock(kT0);
  try {
    Ledger ledger = Ledger::open(path, clock, options);
  } catch (const LedgerError& e) {
    return e.what();
  }
  return "";
}

TEST(Ledger, NewerSchemaVersionFailsClearly) {
  const std::string path = ledger_path();
  {
    base::ManualClock clock(kT0);
    Ledger ledger = Ledger::open(path, clock);
  }
  exec_sql(path, "UPDATE schema_version SET version = 99");
  const std::string error = open_error(path);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("schema version 99 is newer"), std::string::npos) << error;
  EXPECT_NE(open_error(path, {.read_only = true}).find("newer"), std::string::npos);
}

TEST(Ledger, AVersionOneFileIsMigratedAndKeepsItsRequests) {
  const std::string path = ledger_path();
  {
    base::ManualClock clock(kT0);
    Ledger ledger = Ledger::open(path, clock);
    ledger.configure_budget({.window_seconds = 0, .global_tokens = 100});
    ASSERT_EQ(ledger.reserve("old", "k", "u", 30).status, ReserveStatus::kReserved);
    ASSERT_EQ(ledger.settle("old", 20, 0.0).status, CloseStatus::kClosed);
  }
  // What version 1 looked like: no journal_state table, no reasoning_tokens column.
  exec_sql(path,
           "DROP TABLE journal_state; ALTER TABLE requests DROP COLUMN reasoning_tokens; "
           "UPDATE schema_version SET version = 1");
  EXPECT_NE(open_error(path, {.read_only = true}).find("open it once read-write"),
            std::string::npos);
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(path, clock);
  EXPECT_EQ(ledger.schema_version(), Ledger::current_schema_version());
  EXPECT_EQ(ledger.window_totals().spent_tokens, 20);
  EXPECT_EQ(ledger.reserve("new", "k", "u", 81).status, ReserveStatus::kOverGlobalBudget);
  EXPECT_EQ(ledger.reserve("new", "k", "u", 80).status, ReserveStatus::kReserved);
  EXPECT_EQ(ledger.reserve("old", "k", "u", 1).status, ReserveStatus::kDuplicateId);
}

// Version 3 records reasoning tokens apart: a version-2 file gains the column, its requests read
// as 0 reasoning tokens, and new settles record theirs.
TEST(Ledger, AVersionTwoFileIsMigratedToRecordReasoningTokens) {
  const std::string path = ledger_path();
  {
    base::ManualClock clock(kT0);
    Ledger ledger = Ledger::open(path, clock);
    ledger.configure_budget({.window_seconds = 0, .global_tokens = 100});
    ASSERT_EQ(ledger.reserve("old", "k", "u", 30).status, ReserveStatus::kReserved);
    ASSERT_EQ(ledger.settle("old", 20, 0.5).status, CloseStatus::kClosed);
    ASSERT_EQ(ledger.reserve("open", "k", "u", 10).status, ReserveStatus::kReserved);
  }
  exec_sql(path,
           "ALTER TABLE requests DROP COLUMN reasoning_tokens; "
           "UPDATE schema_version SET version = 2");
  EXPECT_NE(open_error(path, {.read_only = true}).find("schema version 2 is older"),
            std::string::npos);
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(path, clock);
  EXPECT_EQ(ledger.schema_version(), 3);
  EXPECT_EQ(ledger.find("old")->reasoning_tokens, 0);
  EXPECT_EQ(ledger.find("old")->used_tokens, 20);
  EXPECT_EQ(ledger.settle("open", 10, 0.0, 7).reasoning_tokens, 7);
  EXPECT_EQ(ledger.find("open")->reasoning_tokens, 7);
  const LedgerTotals t = ledger.totals();
  EXPECT_EQ(t.overall.spent_tokens, 30);
  EXPECT_EQ(t.overall.reasoning_tokens, 7);
  EXPECT_EQ(t.by_key.at("k").reasoning_tokens, 7);
  EXPECT_EQ(ledger.window_totals().spent_tokens, 30);  // the budget counts used tokens alone
}

TEST(Ledger, ReasoningTokensAreRecordedApartAndNeverAddedToTheCharge) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  ledger.configure_budget({.window_seconds = 0, .global_tokens = 1000});
  ASSERT_EQ(ledger.reserve("a", "k", "u", 500).status, ReserveStatus::kReserved);
  EXPECT_THROW((void)ledger.settle("a", 100, 0.0, 101), std::invalid_argument);
  EXPECT_THROW((void)ledger.settle("a", 100, 0.0, -1), std::invalid_argument);
  const CloseResult r = ledger.settle("a", 100, 0.0, 60);
  EXPECT_EQ(r.used_tokens, 100);
  EXPECT_EQ(r.reasoning_tokens, 60);
  // Settled again: already closed, with what was recorded first.
  EXPECT_EQ(ledger.settle("a", 100, 0.0, 10).reasoning_tokens, 60);
  EXPECT_EQ(ledger.window_totals().spent_tokens, 100);
  EXPECT_EQ(ledger.window_totals().remaining_tokens, 900);
  EXPECT_EQ(ledger.find("a")->reasoning_tokens, 60);
  EXPECT_NE(ledger_csv(ledger).find(",60\n"), std::string::npos) << ledger_csv(ledger);
  EXPECT_NE(ledger_csv_header().find(",reasoning_tokens\n"), std::string::npos);
}

TEST(Ledger, ForeignAndCorruptFilesFailNamingTheFile) {
  const std::string foreign = ledger_path("foreign.db");
  exec_sql(foreign, "CREATE TABLE t (x INTEGER)");
  std::string error = open_error(foreign);
  EXPECT_NE(error.find(foreign), std::string::npos) << error;
  EXPECT_NE(error.find("not a clearhouse ledger"), std::string::npos) << error;

  const std::string junk = ledger_path("junk.db");
  {
    std::ofstream out(junk);
    out << "this is not an SQLite file, just some text that is long enough to have a header\n";
  }
  error = open_error(junk);
  EXPECT_NE(error.find(junk), std::string::npos) << error;
  EXPECT_NE(error.find("corrupt or not a clearhouse ledger"), std::string::npos) << error;
  EXPECT_NE(open_error(junk, {.read_only = true}).find(junk), std::string::npos);
}

TEST(Ledger, CsvQuotesFieldsAndLeavesOpenFieldsEmpty) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  ledger.reserve("r1", "key,with \"comma\"", "u", 10);
  ledger.reserve("r2", "k", "u", 20);
  ledger.settle("r2", 15, 0.125);
  const std::string csv = ledger_csv(ledger);
  EXPECT_EQ(csv, ledger_csv_header() +
                     "r1,\"key,with \"\"comma\"\"\",u,open,10,,0,0,1700000000000,,0\n"
                     "r2,k,u,settled,20,15,0.125,0,1700000000000,1700000000000,0\n");
}

}  // namespace
}  // namespace clearhouse::ledger::testing
