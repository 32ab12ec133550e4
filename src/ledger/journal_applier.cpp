#include "ledger/journal_applier.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <utility>

#include "ledger/error.h"

namespace clearhouse::ledger {

std::string journal_path(const std::string& db_path, int index) {
  return db_path + "-writes-" + std::to_string(index);
}

JournalApplier::JournalApplier(LedgerStore& store, std::mutex& store_mu, std::mutex& state_mu,
                               Durability durability)
    : store_(store), store_mu_(store_mu), state_mu_(state_mu), durability_(durability) {
  for (int i = 0; i < 2; ++i) {
    journals_[static_cast<std::size_t>(i)] =
        std::make_unique<JournalFile>(journal_path(store.path(), i));
  }
  if (durability == Durability::kPowerLoss) sync_directory_of(store.path());  // the files' names
  recover();
}

JournalApplier::~JournalApplier() {
  stop();
}

void JournalApplier::start() {
  thread_ = std::thread([this] { run(); });
}

void JournalApplier::stop() noexcept {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(state_mu_);
    stopping_ = true;
  }
  wake_cv_.notify_one();
  thread_.join();
  try {
    std::lock_guard lock(apply_mu_);
    apply_pending(/*state_locked=*/false);
    // Everything is in SQLite now: neither journal file holds anything the next open needs.
    for (auto& journal : journals_) journal->truncate();
  } catch (const std::exception&) {
    // The journal keeps what could not be applied; the next open applies it.
  }
}

// Applies what a crash (or a failed final apply) left in the journal files, then empties them.
void JournalApplier::recover() {
  const std::uint64_t applied = store_.applied_seq();
  std::vector<JournalRecord> records;
  std::uint64_t last_seq = applied;
  for (int i = 0; i < 2; ++i) {
    JournalContents contents = read_journal_file(journal_path(store_.path(), i));
    for (JournalRecord& r : contents.records) {
      last_seq = std::max(last_seq, r.seq);
      if (r.seq > applied) records.push_back(std::move(r));
    }
  }
  std::sort(records.begin(), records.end(),
            [](const JournalRecord& a, const JournalRecord& b) { return a.seq < b.seq; });
  if (!records.empty()) commit_batch(records);
  recovered_writes_ = records.size();
  next_seq_ = last_seq + 1;
  for (auto& journal : journals_) journal->truncate();
}

void JournalApplier::journal(JournalRecord& record) {
  record.seq = next_seq_++;
  encode_buffer_.clear();
  encode_journal_record(record, encode_buffer_);
  journals_[static_cast<std::size_t>(active_)]->append(encode_buffer_,
                                                       durability_ == Durability::kPowerLoss);
  ++stats_.writes;
}

void JournalApplier::queue(JournalRecord&& record) {
  if (record.kind == JournalRecord::Kind::kReserve)
    unapplied_reserve_ids_.insert(record.request_id);
  unapplied_.push_back(std::move(record));
  if (unapplied_.size() == kApplyBatch) wake_cv_.notify_one();
}

void JournalApplier::wait_for_room(std::unique_lock<std::mutex>& state_lock) {
  const auto full = [&] { return unapplied_.size() + applying_ >= kMaxUnapplied; };
  if (!full()) return;
  wake_cv_.notify_one();
  if (!room_cv_.wait_for(state_lock, kBackpressureTimeout, [&] { return !full(); })) {
    throw LedgerError(
        store_.path() + ": " + std::to_string(unapplied_.size() + applying_) +
        " journaled writes are waiting to be applied to SQLite (last error: " +
        (stats_.last_apply_error.empty() ? std::string("none") : stats_.last_apply_error) + ")");
  }
}

LedgerWriteStats JournalApplier::stats() const {
  LedgerWriteStats s = stats_;
  s.recovered_writes = recovered_writes_;
  s.unapplied_writes = unapplied_.size();
  return s;
}

void JournalApplier::flush() {
  std::lock_guard lock(apply_mu_);
  apply_pending(/*state_locked=*/false);
}

JournalApplier::Quiesced JournalApplier::apply_all_and_hold() {
  Quiesced held{std::unique_lock(apply_mu_), std::unique_lock(state_mu_)};
  apply_pending(/*state_locked=*/true);
  return held;
}

// Applies batch (journal order) in one SQLite transaction with the last seq applied. Records a
// transaction already applied (seq <= applied_seq, read inside it) are skipped, so a commit that
// failed ambiguously and is retried cannot apply anything twice. Throws on failure (rolled back).
void JournalApplier::commit_batch(const std::vector<JournalRecord>& batch) {
  std::lock_guard lock(store_mu_);
  sqlite::Transaction tx(store_.db());
  const std::uint64_t applied = store_.applied_seq();
  store_.apply_batch(batch, applied);
  store_.set_applied_seq(std::max(applied, batch.back().seq));
  tx.commit();
}

// Takes the queued writes as the next batch, and switches appends to the other journal file first,
// so the one written so far can be emptied once its writes are in SQLite.
std::vector<JournalRecord> JournalApplier::take_batch(bool state_locked) {
  std::unique_lock lock(state_mu_, std::defer_lock);
  if (!state_locked) lock.lock();
  std::vector<JournalRecord> batch(std::make_move_iterator(unapplied_.begin()),
                                   std::make_move_iterator(unapplied_.end()));
  unapplied_.clear();
  applying_ = batch.size();
  if (inactive_empty_ && !batch.empty()) {
    active_ = 1 - active_;
    inactive_empty_ = false;
  }
  return batch;
}

// Moves the journaled writes into SQLite in one transaction. Requires apply_mu_, and state_mu when
// state_locked (the caller then keeps writers out throughout). Throws when SQLite fails; the writes
// stay journaled and queued, in order.
void JournalApplier::apply_pending(bool state_locked) {
  // state_mu for the bookkeeping below, unless the caller already holds it.
  const auto lock_state = [&] {
    std::unique_lock lock(state_mu_, std::defer_lock);
    if (!state_locked) lock.lock();
    return lock;
  };
  std::vector<JournalRecord> batch = take_batch(state_locked);
  if (!batch.empty()) {
    try {
      commit_batch(batch);
    } catch (const std::exception& e) {
      const auto lock = lock_state();
      unapplied_.insert(unapplied_.begin(), std::make_move_iterator(batch.begin()),
                        std::make_move_iterator(batch.end()));
      applying_ = 0;
      ++stats_.apply_failures;
      stats_.last_apply_error = e.what();
      throw;
    }
    const auto lock = lock_state();
    for (const JournalRecord& r : batch) {
      if (r.kind == JournalRecord::Kind::kReserve) unapplied_reserve_ids_.erase(r.request_id);
    }
    applying_ = 0;
    ++stats_.commits;
    stats_.largest_batch = std::max(stats_.largest_batch, batch.size());
    room_cv_.notify_all();
  }
  // Every write in the inactive file was queued before the switch that retired it, so it is in
  // SQLite now: the file can be emptied. (Only this function, under apply_mu_, touches it.)
  if (!inactive_empty_) {
    journals_[static_cast<std::size_t>(1 - active_)]->truncate();
    inactive_empty_ = true;
  }
}

void JournalApplier::run() {
  std::unique_lock lock(state_mu_);
  std::chrono::milliseconds backoff{0};  // after failures: waits that grow to a second
  while (!stopping_) {
    if (backoff.count() > 0) {
      wake_cv_.wait_for(lock, backoff, [&] { return stopping_; });
    } else {
      wake_cv_.wait_for(lock, kApplyInterval,
                        [&] { return stopping_ || unapplied_.size() >= kApplyBatch; });
    }
    if (stopping_) break;
    lock.unlock();
    try {
      std::lock_guard apply_lock(apply_mu_);
      apply_pending(/*state_locked=*/false);
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

}  // namespace clearhouse::ledger
