// Private to ledger.cpp: the Ledger's state and machinery (see ledger.h, "Storage").
//
// Decisions are made in memory, under state_mu: the budget, the key budgets, the charges of every
// window with usage, and the open requests are all held there, loaded from SQLite at open. A write
// is journaled (one write() of one record, ledger_journal.h) before it changes that state or is
// acknowledged; the applier thread moves journaled writes into SQLite every kApplyInterval in one
// transaction, then empties the journal file they were in (two files alternate, so appends never
// wait for an apply). Reads of SQLite (find, totals, for_each_request) apply what is queued first.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ledger/checkpointer.h"
#include "ledger/journal.h"
#include "ledger/ledger.h"
#include "ledger/store.h"

namespace clearhouse::ledger {

namespace ledger_detail {

inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

struct Window {
  std::int64_t start_ms = 0;
  std::optional<std::int64_t> end_ms;
};

inline Window window_at(std::int64_t now_ms, std::int64_t window_seconds) {
  if (window_seconds <= 0) return {};
  const std::int64_t length = window_seconds * 1000;
  const std::int64_t start = floor_div(now_ms, length) * length;
  return {start, start + length};
}

inline std::optional<std::int64_t> remaining(std::optional<std::int64_t> budget,
                                             std::int64_t charged) {
  if (!budget) return std::nullopt;
  return std::max<std::int64_t>(0, *budget - charged);
}

}  // namespace ledger_detail

namespace ledger_detail {

inline WindowTotals make_window_totals(const Window& w, std::int64_t reserved, std::int64_t used,
                                       std::optional<std::int64_t> budget) {
  WindowTotals t;
  t.window_start_ms = w.start_ms;
  t.window_end_ms = w.end_ms;
  t.spent_tokens = used;
  t.reserved_tokens = reserved;
  t.budget_tokens = budget;
  t.remaining_tokens = remaining(budget, reserved + used);
  return t;
}

inline CloseResult describe(const RequestRecord& r, CloseStatus status) {
  CloseResult c;
  c.status = status;
  c.state = r.state;
  c.reserved_tokens = r.reserved_tokens;
  c.used_tokens = r.used_tokens.value_or(0);
  c.released_tokens = std::max<std::int64_t>(0, c.reserved_tokens - c.used_tokens);
  c.overrun_tokens = std::max<std::int64_t>(0, c.used_tokens - c.reserved_tokens);
  return c;
}

// How often the applier moves journaled writes into SQLite, and how many writes wake it sooner.
inline constexpr std::chrono::milliseconds kApplyInterval{20};
inline constexpr std::size_t kApplyBatch = 1024;
// Backpressure: a reserve waits while this many writes are queued for SQLite (the applier takes
// hundreds of thousands per second, so only a failing SQLite gets here), and fails after the
// timeout.
inline constexpr std::size_t kMaxUnapplied = std::size_t{1} << 16;
inline constexpr std::chrono::seconds kBackpressureTimeout{10};

inline std::string journal_path(const std::string& db_path, int index) {
  return db_path + "-writes-" + std::to_string(index);
}

}  // namespace ledger_detail

// This header is private to ledger.cpp, the one file that includes it.
using namespace ledger_detail;  // NOLINT(google-build-using-namespace)

// Locks, always taken in this order: apply_mu, state_mu, store_mu.
struct Ledger::Impl {
  struct Charge {
    std::int64_t reserved = 0;
    std::int64_t used = 0;
    [[nodiscard]] std::int64_t total() const { return reserved + used; }
  };
  struct WindowCharges {
    Charge all;
    std::unordered_map<std::string, Charge> by_key;
    std::int64_t open_requests = 0;  // a window with none, two windows back, is dropped from memory
  };
  struct OpenRequest {
    std::string key_id;
    std::int64_t reserved_tokens = 0;
    std::int64_t window_start_ms = 0;
  };

  Impl(const std::string& path, const base::Clock& c, const LedgerOptions& o)
      : clock(c), options(o), store(path, o) {
    if (o.read_only) return;
    lock_writer(path);
    for (int i = 0; i < 2; ++i) journals[i] = std::make_unique<JournalFile>(journal_path(path, i));
    if (o.durability == Durability::kPowerLoss)
      sync_directory_of(path);  // the journal files' names
    recover_journals();
    load_state();
    reader = std::make_unique<LedgerStore>(path, LedgerOptions{.read_only = true});
    checkpointer = std::make_unique<Checkpointer>(path, store.db());
    applier = std::thread([this] { run_applier(); });
  }

  ~Impl() {
    if (!applier.joinable()) return;
    {
      std::lock_guard lock(state_mu);
      stopping = true;
    }
    applier_cv.notify_one();
    applier.join();
    try {
      std::lock_guard lock(apply_mu);
      apply_pending(true);
      // Everything is in SQLite now: neither journal file holds anything the next open needs.
      for (auto& journal : journals) journal->truncate();
    } catch (const std::exception&) {
      // The journal keeps what could not be applied; the next open applies it.
    }
  }

  // One writing Ledger per file, in any process: two would interleave and empty each other's
  // journal files. An flock on LEDGER-writes.lock, released by the kernel when the holder dies.
  void lock_writer(const std::string& path) {
    const std::string lock_path = path + "-writes.lock";
    writer_lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (writer_lock_fd < 0) {
      throw LedgerError(lock_path +
                        ": cannot open the ledger's writer lock: " + std::strerror(errno));
    }
    if (::flock(writer_lock_fd, LOCK_EX | LOCK_NB) != 0) {
      const int saved = errno;
      ::close(writer_lock_fd);
      writer_lock_fd = -1;
      if (saved == EWOULDBLOCK) {
        throw LedgerError(path +
                          ": the ledger is already open for writing (another gateway, or a "
                          "second Ledger in this process); one writer per ledger file");
      }
      throw LedgerError(lock_path + ": cannot lock the ledger: " + std::strerror(saved));
    }
  }

  void require_writable() const {
    if (options.read_only) throw LedgerError(store.path() + ": ledger opened read-only");
  }

  // Applies what a crash (or a failed final apply) left in the journal files, then empties them.
  void recover_journals() {
    const std::uint64_t applied = store.applied_seq();
    std::vector<JournalRecord> records;
    std::uint64_t last_seq = applied;
    for (int i = 0; i < 2; ++i) {
      JournalContents contents = read_journal_file(journal_path(store.path(), i));
      for (JournalRecord& r : contents.records) {
        last_seq = std::max(last_seq, r.seq);
        if (r.seq > applied) records.push_back(std::move(r));
      }
    }
    std::sort(records.begin(), records.end(),
              [](const JournalRecord& a, const JournalRecord& b) { return a.seq < b.seq; });
    if (!records.empty()) commit_batch(records);
    recovered_writes = records.size();
    next_seq = last_seq + 1;
    for (auto& journal : journals) journal->truncate();
  }

  void load_state() {
    budget = store.read_budget();
    key_budgets.clear();
    for (auto& [key, tokens] : store.read_key_budgets()) key_budgets.emplace(key, tokens);
    open.clear();
    store.for_each_request(
        [&](const RequestRecord& r) {
          open.emplace(r.request_id, OpenRequest{r.key_id, r.reserved_tokens, r.window_start_ms});
        },
        /*open_only=*/true);
    load_windows();
  }

  // The windows' charges from SQLite (which must hold every write: at open, or after an apply with
  // writers kept out), then drops the old ones.
  void load_windows() {
    windows.clear();
    store.for_each_usage_row([&](const LedgerStore::UsageRow& row) {
      WindowCharges& w = windows[row.window_start_ms];
      w.all.reserved += row.reserved_tokens;
      w.all.used += row.used_tokens;
      w.by_key[row.key_id] = {row.reserved_tokens, row.used_tokens};
    });
    for (const auto& [id, r] : open) ++windows[r.window_start_ms].open_requests;
    newest_window = std::numeric_limits<std::int64_t>::min();
    oldest_kept_window = std::numeric_limits<std::int64_t>::min();
    note_window(window_at(clock.now_ms(), budget.window_seconds).start_ms);
  }

  // Memory holds every window from two windows before the newest one reserved in, plus older
  // windows with open requests; older windows without any are dropped (SQLite keeps them). Their
  // charges can never change again unless the clock goes back that far, which reserve() refuses.
  void note_window(std::int64_t start_ms) {
    if (budget.window_seconds <= 0 || start_ms <= newest_window) return;
    newest_window = start_ms;
    oldest_kept_window = start_ms - 2 * budget.window_seconds * 1000;
    for (auto it = windows.begin(); it != windows.end() && it->first < oldest_kept_window;) {
      it = it->second.open_requests == 0 ? windows.erase(it) : std::next(it);
    }
  }

  // Applies batch (journal order) in one SQLite transaction with the last seq applied. Records a
  // transaction already applied (seq <= applied_seq, read inside it) are skipped, so a commit that
  // failed ambiguously and is retried cannot apply anything twice. Throws on failure (rolled back).
  void commit_batch(const std::vector<JournalRecord>& batch) {
    std::lock_guard lock(store_mu);
    sqlite::Transaction tx(store.db());
    const std::uint64_t applied = store.applied_seq();
    for (const JournalRecord& r : batch) {
      if (r.seq > applied) store.apply(r);
    }
    store.set_applied_seq(std::max(applied, batch.back().seq));
    tx.commit();
  }

  // Moves the journaled writes into SQLite in one transaction. rotate: switch appends to the other
  // journal file first, so the one written so far can be emptied once its writes are in SQLite.
  // Requires apply_mu, and state_mu when state_locked (the caller then keeps writers out
  // throughout). Throws when SQLite fails; the writes stay journaled and queued, in order.
  void apply_pending(bool rotate, bool state_locked = false) {
    // state_mu for the bookkeeping below, unless the caller already holds it.
    const auto lock_state = [&] {
      std::unique_lock lock(state_mu, std::defer_lock);
      if (!state_locked) lock.lock();
      return lock;
    };
    std::vector<JournalRecord> batch;
    {
      const auto lock = lock_state();
      batch.assign(std::make_move_iterator(unapplied.begin()),
                   std::make_move_iterator(unapplied.end()));
      unapplied.clear();
      applying = batch.size();
      if (rotate && inactive_empty && !batch.empty()) {
        active = 1 - active;
        inactive_empty = false;
      }
    }
    if (!batch.empty()) {
      try {
        commit_batch(batch);
      } catch (const std::exception& e) {
        const auto lock = lock_state();
        unapplied.insert(unapplied.begin(), std::make_move_iterator(batch.begin()),
                         std::make_move_iterator(batch.end()));
        applying = 0;
        ++stats.apply_failures;
        stats.last_apply_error = e.what();
        throw;
      }
      const auto lock = lock_state();
      for (const JournalRecord& r : batch) {
        if (r.kind == JournalRecord::Kind::kReserve) unapplied_reserve_ids.erase(r.request_id);
      }
      applying = 0;
      ++stats.commits;
      stats.largest_batch = std::max(stats.largest_batch, batch.size());
      room_cv.notify_all();
    }
    // Every write in the inactive file was queued before the switch that retired it, so it is in
    // SQLite now: the file can be emptied. (Only this function, under apply_mu, touches it.)
    if (!inactive_empty) {
      journals[1 - active]->truncate();
      inactive_empty = true;
    }
  }

  // For the rare operations that change SQLite directly (reconcile, a budget change): keeps writers
  // out, applies everything journaled, and holds the store, so memory and SQLite agree throughout.
  struct Exclusive {
    explicit Exclusive(Impl& m) : apply(m.apply_mu), state(m.state_mu) {
      m.apply_pending(true, /*state_locked=*/true);
      store = std::unique_lock(m.store_mu);
    }
    std::lock_guard<std::mutex> apply;
    std::lock_guard<std::mutex> state;
    std::unique_lock<std::mutex> store;
  };

  void run_applier() {
    std::unique_lock lock(state_mu);
    std::chrono::milliseconds backoff{0};  // after failures: waits that grow to a second
    while (!stopping) {
      if (backoff.count() > 0) {
        applier_cv.wait_for(lock, backoff, [&] { return stopping; });
      } else {
        applier_cv.wait_for(lock, kApplyInterval,
                            [&] { return stopping || unapplied.size() >= kApplyBatch; });
      }
      if (stopping) break;
      lock.unlock();
      try {
        std::lock_guard apply_lock(apply_mu);
        apply_pending(true);
        backoff = std::chrono::milliseconds{0};
      } catch (const std::exception&) {
        // SQLite refused (a full disk, say): the writes are safe in the journal and stay queued
        // (apply_pending counted the failure). Retry later and later, not in a loop that would
        // burn a core; reserves stop at kMaxUnapplied (wait_for_room).
        backoff = std::min<std::chrono::milliseconds>(std::max(2 * backoff, kApplyInterval),
                                                      std::chrono::milliseconds{1000});
      }
      lock.lock();
    }
  }

  // Everything acknowledged is in SQLite when this returns (reads of SQLite start with it).
  void flush() const {
    if (options.read_only) return;
    std::lock_guard lock(apply_mu);
    const_cast<Impl*>(this)->apply_pending(true);
  }

  // Waits (releasing the lock) while too many writes are queued for SQLite or being applied; throws
  // LedgerError if the applier does not catch up within kBackpressureTimeout.
  void wait_for_room(std::unique_lock<std::mutex>& lock) {
    const auto full = [&] { return unapplied.size() + applying >= kMaxUnapplied; };
    if (!full()) return;
    applier_cv.notify_one();
    if (!room_cv.wait_for(lock, kBackpressureTimeout, [&] { return !full(); })) {
      throw LedgerError(
          store.path() + ": " + std::to_string(unapplied.size() + applying) +
          " journaled writes are waiting to be applied to SQLite (last error: " +
          (stats.last_apply_error.empty() ? std::string("none") : stats.last_apply_error) + ")");
    }
  }

  // Appends one record to the active journal file; the caller holds state_mu and changes its
  // in-memory state only after this returned.
  // A failed append still uses up its seq: a record it may have left (complete, but not synced)
  // must never share a seq with a later one.
  void journal(JournalRecord& record) {
    record.seq = next_seq++;
    encode_buffer.clear();
    encode_journal_record(record, encode_buffer);
    journals[active]->append(encode_buffer, options.durability == Durability::kPowerLoss);
    ++stats.writes;
  }

  void queue(JournalRecord&& record) {
    unapplied.push_back(std::move(record));
    if (unapplied.size() == kApplyBatch) applier_cv.notify_one();
  }

  Charge window_charge(std::int64_t window_start) const {
    const auto w = windows.find(window_start);
    return w == windows.end() ? Charge{} : w->second.all;
  }

  Charge key_charge(std::int64_t window_start, const std::string& key) const {
    const auto w = windows.find(window_start);
    if (w == windows.end()) return {};
    const auto k = w->second.by_key.find(key);
    return k == w->second.by_key.end() ? Charge{} : k->second;
  }

  std::optional<std::int64_t> key_budget(const std::string& key) const {
    const auto it = key_budgets.find(key);
    if (it == key_budgets.end()) return std::nullopt;
    return it->second;
  }

  // open_delta: +1 for a reserve, -1 for a close.
  void charge(std::int64_t window_start, const std::string& key, std::int64_t reserved,
              std::int64_t used, int open_delta) {
    WindowCharges& w = windows[window_start];
    w.open_requests += open_delta;
    w.all.reserved += reserved;
    w.all.used += used;
    Charge& k = w.by_key[key];
    k.reserved += reserved;
    k.used += used;
  }

  WindowTotals window_totals_from_store(std::optional<std::string_view> key) {
    const BudgetConfig config = store.read_budget();
    const Window w = window_at(clock.now_ms(), config.window_seconds);
    const auto [reserved, used] = store.window_charge(w.start_ms, key);
    return make_window_totals(w, reserved, used,
                              key ? store.read_key_budget(*key) : config.global_tokens);
  }

  WindowTotals window_totals_from_memory(const std::string* key) const {
    const Window w = window_at(clock.now_ms(), budget.window_seconds);
    const Charge c = key ? key_charge(w.start_ms, *key) : window_charge(w.start_ms);
    return make_window_totals(w, c.reserved, c.used, key ? key_budget(*key) : budget.global_tokens);
  }

  // settle() and release(): state is kSettled or kReleased.
  CloseResult close_request(std::string_view request_id, RequestState state, std::int64_t used,
                            double payment) {
    Impl& m = *this;
    m.require_writable();
    const std::string id(request_id);
    {
      std::lock_guard lock(m.state_mu);
      const auto it = m.open.find(id);
      if (it != m.open.end()) {
        const OpenRequest& r = it->second;
        JournalRecord record;
        record.kind = state == RequestState::kSettled ? JournalRecord::Kind::kSettle
                                                      : JournalRecord::Kind::kRelease;
        record.request_id = id;
        record.key_id = r.key_id;
        record.reserved_tokens = r.reserved_tokens;
        record.window_start_ms = r.window_start_ms;
        record.at_ms = m.clock.now_ms();
        record.used_tokens = used;
        record.payment_usd = payment;
        m.journal(record);
        m.charge(r.window_start_ms, r.key_id, -r.reserved_tokens, used, -1);
        RequestRecord closed;
        closed.state = state;
        closed.reserved_tokens = r.reserved_tokens;
        closed.used_tokens = used;
        m.open.erase(it);
        m.queue(std::move(record));
        return describe(closed, CloseStatus::kClosed);
      }
    }
    // Not open: closed before (its record is in SQLite once flushed), or never reserved.
    m.flush();
    std::lock_guard lock(m.store_mu);
    const std::optional<RequestRecord> r = m.store.find(id);
    if (!r) {
      CloseResult c;
      c.status = CloseStatus::kUnknownId;
      return c;
    }
    return describe(
        *r, r->state == RequestState::kOpen ? CloseStatus::kClosed : CloseStatus::kAlreadyClosed);
  }

  const base::Clock& clock;
  LedgerOptions options;

  mutable std::mutex apply_mu;  // one apply at a time, in journal order

  mutable std::mutex state_mu;  // everything below, up to store_mu
  BudgetConfig budget;
  std::map<std::string, std::int64_t, std::less<>> key_budgets;
  std::map<std::int64_t, WindowCharges> windows;  // recent windows with usage (note_window)
  std::int64_t newest_window = std::numeric_limits<std::int64_t>::min();
  std::int64_t oldest_kept_window = std::numeric_limits<std::int64_t>::min();
  std::unordered_map<std::string, OpenRequest> open;
  std::deque<JournalRecord> unapplied;  // journaled, not yet in SQLite, in seq order
  std::size_t applying = 0;             // writes taken from unapplied by the apply running now
  std::unordered_set<std::string> unapplied_reserve_ids;  // until their reserve is in SQLite
  std::uint64_t next_seq = 1;
  std::array<std::unique_ptr<JournalFile>, 2> journals;
  int active = 0;
  bool inactive_empty = true;  // guarded by apply_mu
  std::string encode_buffer;
  LedgerWriteStats stats;
  std::size_t recovered_writes = 0;
  std::unique_ptr<LedgerStore> reader;  // a second connection: duplicate-id checks, off store_mu
  bool stopping = false;
  std::condition_variable applier_cv;
  std::condition_variable room_cv;  // the queue for SQLite shrank (wait_for_room)

  mutable std::mutex store_mu;  // the writer connection
  LedgerStore store;
  // Declared after store: stopped and closed before the writer's connection closes.
  std::unique_ptr<Checkpointer> checkpointer;
  std::thread applier;
  // Released when the members are destroyed, after ~Impl's final apply; also when the constructor
  // fails after taking it.
  struct WriterLock {
    int& fd;
    ~WriterLock() {
      if (fd >= 0) ::close(fd);
    }
  };
  int writer_lock_fd = -1;
  WriterLock writer_lock{writer_lock_fd};
};

}  // namespace clearhouse::ledger
