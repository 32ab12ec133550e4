// The ledger's journal applier: appends each acknowledged write (reserve, settle, release) to a
// journal file, and moves the journaled writes into the SQLite store on a background thread, in one
// transaction every kApplyInterval (or sooner once kApplyBatch writes are queued). Two journal
// files alternate: appends go to the active one while the other, whose writes are all in SQLite, is
// emptied, so an append never waits for an apply. At construction it applies what a crash (or a
// failed final apply) left in the journal files, exactly once (journal_state.applied_seq); at
// stop() it applies everything and empties both files.
//
// Units: kApplyInterval and kBackpressureTimeout are durations; batches are counted in writes.
//
// Thread-safety: the Ledger's state mutex (state_mu) orders the writes: journal(), queue(),
// wait_for_room(), is_reserve_unapplied() and stats() require the caller to hold it, so a write's
// decision and its place in the journal are one step. The applier takes state_mu itself only for
// its bookkeeping, and the store mutex (store_mu) around each SQLite transaction. Locks are always
// taken in the order: applies (internal), state_mu, store_mu. flush() and apply_all_and_hold() may
// be called from any thread.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "ledger/journal.h"
#include "ledger/ledger.h"
#include "ledger/store.h"

namespace clearhouse::ledger {

// The journal file with index 0 or 1 of the ledger at db_path.
[[nodiscard]] std::string journal_path(const std::string& db_path, int index);

class JournalApplier {
 public:
  // How often the applier moves journaled writes into SQLite, and how many writes wake it sooner.
  static constexpr std::chrono::milliseconds kApplyInterval{20};
  static constexpr std::size_t kApplyBatch = 1024;
  // Backpressure: a reserve waits while this many writes are queued for SQLite (the applier takes
  // hundreds of thousands per second, so only a failing SQLite gets here), and fails after the
  // timeout.
  static constexpr std::size_t kMaxUnapplied = std::size_t{1} << 16;
  static constexpr std::chrono::seconds kBackpressureTimeout{10};

  // Opens the journal files of store's ledger and applies what they hold. store, store_mu and
  // state_mu must outlive the applier. Throws LedgerError.
  JournalApplier(LedgerStore& store, std::mutex& store_mu, std::mutex& state_mu,
                 Durability durability);
  ~JournalApplier();  // stop()
  JournalApplier(const JournalApplier&) = delete;
  JournalApplier& operator=(const JournalApplier&) = delete;

  // Starts the background thread.
  void start();
  // Stops the thread, applies everything queued and empties the journal files. If SQLite refuses,
  // the journal keeps the writes and the next open applies them. Idempotent.
  void stop() noexcept;

  // Appends record to the active journal file, giving it the next seq; the caller (holding
  // state_mu) changes its in-memory state only after this returned. Throws LedgerError, changing
  // nothing but using up the seq: a record a failed append may have left (complete, but not synced)
  // must never share a seq with a later one.
  void journal(JournalRecord& record);
  // Queues a journaled record for SQLite. Requires state_mu.
  void queue(JournalRecord&& record);
  // Waits (releasing state_lock) while too many writes are queued for SQLite or being applied;
  // throws LedgerError if the applier does not catch up within kBackpressureTimeout.
  void wait_for_room(std::unique_lock<std::mutex>& state_lock);
  // True while a reserve of request_id is journaled but not yet in SQLite. Requires state_mu.
  [[nodiscard]] bool is_reserve_unapplied(const std::string& request_id) const {
    return unapplied_reserve_ids_.contains(request_id);
  }
  // The write statistics since open. Requires state_mu.
  [[nodiscard]] LedgerWriteStats stats() const;

  // Everything journaled is in SQLite when this returns. Throws LedgerError when SQLite fails.
  void flush();

  // For the rare operations that change SQLite directly (reconcile, a budget change): keeps writers
  // out (holds the apply and state locks) and applies everything journaled, so memory and SQLite
  // agree while the locks are held.
  struct Quiesced {
    std::unique_lock<std::mutex> applies;
    std::unique_lock<std::mutex> state;
  };
  [[nodiscard]] Quiesced apply_all_and_hold();

 private:
  void recover();
  void commit_batch(const std::vector<JournalRecord>& batch);
  void apply_pending(bool state_locked);
  [[nodiscard]] std::vector<JournalRecord> take_batch(bool state_locked);
  void run();

  LedgerStore& store_;
  std::mutex& store_mu_;
  std::mutex& state_mu_;
  const Durability durability_;

  std::mutex apply_mu_;  // one apply at a time, in journal order
  std::array<std::unique_ptr<JournalFile>, 2> journals_;
  bool inactive_empty_ = true;  // guarded by apply_mu_

  // Guarded by state_mu:
  int active_ = 0;
  std::deque<JournalRecord> unapplied_;  // journaled, not yet in SQLite, in seq order
  std::size_t applying_ = 0;             // writes taken from unapplied_ by the apply running now
  std::unordered_set<std::string> unapplied_reserve_ids_;  // until their reserve is in SQLite
  std::uint64_t next_seq_ = 1;
  std::string encode_buffer_;
  LedgerWriteStats stats_;
  std::size_t recovered_writes_ = 0;
  bool stopping_ = false;
  std::condition_variable wake_cv_;
  std::condition_variable room_cv_;  // the queue for SQLite shrank (wait_for_room)

  std::thread thread_;
};

}  // namespace clearhouse::ledger
