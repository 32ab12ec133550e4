// The token ledger: the gateway's source of truth for what was reserved, spent and paid. Every
// request reserves its token cap before it is sent upstream, and is then closed exactly once:
// settled with the tokens actually used (the rest of the reservation goes back to the pool), or
// released when it never reached the upstream. A restart loses nothing committed; reservations a
// crash left open are closed by reconcile_after_restart() under a rule that never forgets spend
// that may have happened.
//
// Units: tokens are completion (output) tokens, as whole numbers, reasoning included: a settle may
// say how many of the used tokens were reasoning (reported apart, never charged twice); payments
// are USD (double, as reported by the caller: the ledger records them, it does not price anything);
// times are milliseconds since the Unix epoch from the Clock passed at open (the ledger never reads
// the wall clock).
//
// Budgets: an optional global budget and optional per-key budgets, in tokens per window of
// `window_seconds` (fixed windows aligned to the epoch; 0 = one window for all time). A request is
// charged to the window in which it was reserved, also when it is settled later. reserve() checks,
// under one mutex, that the window's open reservations + settled usage + the new cap stay within
// every budget that applies, so concurrent reserves never overshoot. The guarantee holds as long as
// settle() is never called with more tokens than were reserved (the gateway sends the upstream the
// reserved cap); if it is, the overrun is recorded truthfully and reported, never hidden.
//
// Storage: one SQLite file in WAL mode (store.h), with a journal in front of it
// (journal_applier.h). Decisions are made in memory (budget_book.h: the budgets, the charges of
// recent windows and the open requests are loaded at open); each reserve/settle/release is appended
// to the journal file (LEDGER-writes-0 or -1, one write() of one record, journal.h) before it
// changes anything or returns, so what a call acknowledged survives the process being killed at any
// instant. An applier thread moves journaled writes into SQLite every 20 ms in one transaction, on
// the one writing connection; a restart applies what a crash left, exactly once
// (journal_state.applied_seq). Reads of SQLite (find, totals, for_each_request) apply what is
// queued first; window_totals() reads memory. WAL checkpoints run on a background thread with their
// own connection (checkpointer.h). One writing Ledger per file, whatever the name it is opened by
// (writer_lock.h: an flock on the database file itself; a second open for writing, through a
// symlink or hard link too, throws LedgerError before touching anything); other processes (the
// `clearhouse ledger` CLI) may read at any time, and see the writes applied so far. Do not fork()
// while a Ledger is open and use it in the child; open a new one there.
//
// Thread-safety: every member function is safe to call concurrently from any number of threads.
//
// Example:
//   SystemClock clock;
//   Ledger ledger = Ledger::open("ledger.db", clock);
//   ledger.reconcile_after_restart();                      // once, before serving
//   ledger.configure_budget({.window_seconds = 3600, .global_tokens = 1'000'000});
//   const std::string id = make_request_id(rng, clock.now_ms());  // ledger/request_id.h
//   if (ledger.reserve(id, "key-a", "vllm", 512).status == ReserveStatus::kReserved) {
//     ... forward with max_tokens = 512 ...
//     ledger.settle(id, usage.completion_tokens, payment_usd);  // or ledger.release(id)
//   }
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "ledger/error.h"

namespace clearhouse::ledger {

// The largest token count one call accepts (keeps every sum far from int64 overflow).
inline constexpr std::int64_t kMaxLedgerTokens = std::int64_t{1} << 40;
// The longest request id, key id or upstream name the ledger stores.
inline constexpr std::size_t kMaxLedgerIdLength = 256;

enum class Durability {
  // A write is in the journal file (the kernel's page cache) when its call returns: it survives the
  // process being killed (SIGKILL, crash, OOM); a power loss or kernel crash may lose the last
  // writes. About 100,000 reserve+settle pairs per second here (docs/performance.md).
  kProcessCrash,
  // The journal is fdatasync'ed after every write (and SQLite runs synchronous=FULL): survives
  // power
  // loss. Each write costs a disk flush (about 3,000 pairs per second here).
  kPowerLoss,
};

struct LedgerOptions {
  bool read_only = false;  // never create, migrate or write; write operations throw LedgerError
  Durability durability = Durability::kProcessCrash;
};

struct BudgetConfig {
  std::int64_t window_seconds = 0;            // 0: one window for all time
  std::optional<std::int64_t> global_tokens;  // nullopt: no global budget
};

enum class RequestState { kOpen, kSettled, kReleased, kReconciled };
[[nodiscard]] std::string_view to_string(RequestState state);

// How reserve() checks that a request id is new.
enum class IdCheck {
  // Against every request the ledger holds, the file included (a read of the file per reserve).
  kEveryRequest,
  // The caller made the id just now with make_request_id (request_id.h: the time in milliseconds,
  // then 80 random bits), so it can only repeat an id made in the same millisecond with the same
  // 80 random bits (probability about 4e-13 among a million ids made in one millisecond). It is
  // checked against the requests in memory (open, or journaled and not yet in the file) but not
  // read from the file: the gateway reserves this way, where that read cost about 6% of its CPU
  // per request. The id must have make_request_id's form (else std::invalid_argument); reserving
  // a fresh id a second time after its request closed is a caller's bug this check may miss.
  kFreshId,
};

enum class ReserveStatus {
  kReserved,          // the cap is reserved; the caller must settle() or release() it
  kOverGlobalBudget,  // nothing recorded
  kOverKeyBudget,     // nothing recorded
  kDuplicateId,       // an entry with this id exists (in any state); nothing changed
};
[[nodiscard]] std::string_view to_string(ReserveStatus status);

struct ReserveResult {
  ReserveStatus status = ReserveStatus::kReserved;
  std::int64_t window_start_ms = 0;
  std::optional<std::int64_t> window_end_ms;  // nullopt when window_seconds == 0
  // Tokens left in the window after this call (clamped at 0); nullopt where no budget applies.
  std::optional<std::int64_t> global_remaining;
  std::optional<std::int64_t> key_remaining;
};

enum class CloseStatus {
  kClosed,         // this call settled or released the request
  kAlreadyClosed,  // it was settled, released or reconciled before: a no-op ("already settled")
  kUnknownId,      // no such request: a no-op
};
[[nodiscard]] std::string_view to_string(CloseStatus status);

struct CloseResult {
  CloseStatus status = CloseStatus::kClosed;
  RequestState state = RequestState::kSettled;  // the request's state after the call
  std::int64_t reserved_tokens = 0;
  std::int64_t used_tokens = 0;       // as recorded (by this call, or the earlier one)
  std::int64_t released_tokens = 0;   // max(0, reserved - used): returned to the pool
  std::int64_t overrun_tokens = 0;    // max(0, used - reserved): spent beyond the reservation
  std::int64_t reasoning_tokens = 0;  // of used_tokens, reasoning (as recorded)
};

// One row of the ledger.
struct RequestRecord {
  std::string request_id;
  std::string key_id;
  std::string upstream;
  RequestState state = RequestState::kOpen;
  std::int64_t reserved_tokens = 0;
  std::optional<std::int64_t> used_tokens;  // nullopt while open
  double payment_usd = 0.0;
  std::int64_t window_start_ms = 0;
  std::int64_t reserved_at_ms = 0;
  std::optional<std::int64_t> closed_at_ms;
  std::int64_t reasoning_tokens = 0;  // of used_tokens, reasoning; 0 when not reported
};

// All-time totals of a set of requests. spent counts closed requests' used tokens (settled and
// reconciled; released ones used 0); reserved counts open requests' caps.
struct Totals {
  std::int64_t requests = 0;
  std::int64_t open_requests = 0;
  std::int64_t spent_tokens = 0;
  std::int64_t reserved_tokens = 0;
  double payment_usd = 0.0;
  std::int64_t reasoning_tokens = 0;  // of spent_tokens, reasoning
};

// One budget's current window.
struct WindowTotals {
  std::int64_t window_start_ms = 0;
  std::optional<std::int64_t> window_end_ms;
  std::int64_t spent_tokens = 0;     // used tokens of requests reserved in this window and closed
  std::int64_t reserved_tokens = 0;  // caps of requests reserved in this window and still open
  std::optional<std::int64_t> budget_tokens;
  std::optional<std::int64_t> remaining_tokens;  // max(0, budget - spent - reserved)
};

struct LedgerTotals {
  Totals overall;
  WindowTotals window;  // the global budget's current window
  std::map<std::string, Totals> by_key;
  std::map<std::string, WindowTotals> key_windows;  // keys with a budget or usage in this window
  std::map<std::string, Totals> by_upstream;
};

enum class ReconcilePolicy {
  // The default and the safe rule: an open reservation after a crash may have been sent and
  // generated in full, so it is closed as used = reserved (state "reconciled"). The budget may be
  // under-used by the difference, but spend that happened is never forgotten.
  kCountAsFullyUsed,
  // For an operator who knows none of the open requests reached an upstream: close them as
  // released.
  kRelease,
};

struct ReconcileReport {
  std::vector<RequestRecord> requests;  // the requests closed, as recorded afterwards
  std::int64_t counted_tokens = 0;      // tokens counted as spent
  std::int64_t released_tokens = 0;     // tokens returned to the pool
};

// How the journaled writes reached SQLite (see "Storage" above).
struct LedgerWriteStats {
  std::uint64_t writes = 0;            // reserve/settle/release calls journaled since open
  std::uint64_t commits = 0;           // SQLite transactions that applied them
  std::size_t largest_batch = 0;       // the most writes one transaction applied
  std::uint64_t recovered_writes = 0;  // writes a crash had left in the journal, applied at open
  std::uint64_t unapplied_writes = 0;  // acknowledged (journaled) and waiting for the next apply
  std::uint64_t apply_failures = 0;  // applies SQLite refused (the writes stay journaled, retried)
  std::string last_apply_error;      // the latest such failure's message; empty if none
};

class Ledger {
 public:
  // Opens (creating if needed, unless read-only) the ledger at path and migrates its schema to the
  // current version. Throws LedgerError naming the file when it cannot be opened, is not a
  // clearhouse ledger, is corrupt, or has a newer schema version than this build knows.
  // The clock must outlive the Ledger.
  [[nodiscard]] static Ledger open(const std::string& path, const base::Clock& clock,
                                   const LedgerOptions& options = {});

  Ledger(Ledger&&) noexcept;
  Ledger& operator=(Ledger&&) noexcept;
  ~Ledger();

  // The schema version this build writes, and the file's.
  [[nodiscard]] static int current_schema_version();
  [[nodiscard]] int schema_version() const;

  // Budgets (persisted in the file, so the CLI and a restarted gateway see them). Changing
  // window_seconds starts windows of the new length; usage is kept per window start, so old usage
  // counts only in a new window that starts at the same instant as an old one. Negative values
  // throw std::invalid_argument.
  void configure_budget(const BudgetConfig& config);
  [[nodiscard]] BudgetConfig budget() const;
  void set_key_budget(std::string_view key_id, std::optional<std::int64_t> tokens_per_window);
  [[nodiscard]] std::map<std::string, std::int64_t> key_budgets() const;

  // Reserves `tokens` for request_id (caller-provided, unique for all time; see request_id.h) on
  // behalf of key_id, to be served by upstream. Atomic: either the reservation fits every budget
  // that applies and is recorded, or nothing changes. Empty or over-long ids, or tokens outside [0,
  // kMaxLedgerTokens], throw std::invalid_argument.
  ReserveResult reserve(std::string_view request_id, std::string_view key_id,
                        std::string_view upstream, std::int64_t tokens,
                        IdCheck id_check = IdCheck::kEveryRequest);

  // Closes an open request with the tokens it used and what it cost; the rest of the reservation
  // returns to the pool. reasoning_tokens says how many of used_tokens were reasoning (recorded
  // apart; the budget is charged used_tokens alone); more than used_tokens throws
  // std::invalid_argument. Idempotent: a second call (or a call after release/reconcile) changes
  // nothing and reports kAlreadyClosed with what was recorded first.
  CloseResult settle(std::string_view request_id, std::int64_t used_tokens, double payment_usd,
                     std::int64_t reasoning_tokens = 0);

  // Closes an open request that never reached an upstream: used = 0, payment = 0. Idempotent.
  CloseResult release(std::string_view request_id);

  // Closes every open reservation (call once at startup, before serving; a reservation another live
  // process holds would be closed too). payment_usd for counted requests is reserved tokens times
  // the upstream's price from usd_per_token (0 for unknown upstreams).
  ReconcileReport reconcile_after_restart(
      ReconcilePolicy policy = ReconcilePolicy::kCountAsFullyUsed,
      const std::map<std::string, double>& usd_per_token = {});

  [[nodiscard]] std::optional<RequestRecord> find(std::string_view request_id) const;
  [[nodiscard]] LedgerTotals totals() const;
  // The current window of the global budget, or of one key's: cheap (no scan of the requests).
  [[nodiscard]] WindowTotals window_totals() const;
  [[nodiscard]] WindowTotals key_window_totals(std::string_view key_id) const;
  // Since open: how the writes were applied to SQLite.
  [[nodiscard]] LedgerWriteStats write_stats() const;
  // Bytes in the journal files. On a ledger no process has open, non-zero means a crash left writes
  // that the next read-write open applies; a read-only ledger (the CLI) does not apply them, so its
  // figures miss them until then.
  [[nodiscard]] std::uint64_t unapplied_journal_bytes() const;
  // Calls visit for every request in the order they were reserved.
  void for_each_request(const std::function<void(const RequestRecord&)>& visit) const;

 private:
  struct Impl;
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace clearhouse::ledger
