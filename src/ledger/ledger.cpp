#include "ledger/ledger.h"

#include <sys/stat.h>

#include <stdexcept>
#include <utility>

#include "ledger/ledger_impl.h"
#include "ledger/schema.h"

namespace clearhouse::ledger {

namespace {

void check_id(std::string_view value, const char* what, bool allow_empty) {
  if ((!allow_empty && value.empty()) || value.size() > kMaxLedgerIdLength) {
    throw std::invalid_argument(std::string("ledger: ") + what + " must be 1.." +
                                std::to_string(kMaxLedgerIdLength) + " bytes");
  }
}

void check_tokens(std::int64_t tokens, const char* what) {
  if (tokens < 0 || tokens > kMaxLedgerTokens) {
    throw std::invalid_argument(std::string("ledger: ") + what +
                                " out of range: " + std::to_string(tokens));
  }
}

}  // namespace

std::string_view to_string(RequestState state) {
  switch (state) {
    case RequestState::kOpen: return "open";
    case RequestState::kSettled: return "settled";
    case RequestState::kReleased: return "released";
    case RequestState::kReconciled: return "reconciled";
  }
  return "?";
}

std::string_view to_string(ReserveStatus status) {
  switch (status) {
    case ReserveStatus::kReserved: return "reserved";
    case ReserveStatus::kOverGlobalBudget: return "over global budget";
    case ReserveStatus::kOverKeyBudget: return "over key budget";
    case ReserveStatus::kDuplicateId: return "duplicate request id";
  }
  return "?";
}

std::string_view to_string(CloseStatus status) {
  switch (status) {
    case CloseStatus::kClosed: return "closed";
    case CloseStatus::kAlreadyClosed: return "already settled";
    case CloseStatus::kUnknownId: return "unknown request id";
  }
  return "?";
}

Ledger Ledger::open(const std::string& path, const base::Clock& clock,
                    const LedgerOptions& options) {
  return Ledger(std::make_unique<Impl>(path, clock, options));
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::Ledger(Ledger&&) noexcept = default;
Ledger& Ledger::operator=(Ledger&&) noexcept = default;
Ledger::~Ledger() = default;

int Ledger::current_schema_version() {
  return kLedgerSchemaVersion;
}

int Ledger::schema_version() const {
  std::lock_guard lock(impl_->store_mu);
  return impl_->store.schema_version();
}

void Ledger::configure_budget(const BudgetConfig& config) {
  if (config.window_seconds < 0 || config.window_seconds > (std::int64_t{1} << 40)) {
    throw std::invalid_argument("ledger: window_seconds out of range");
  }
  if (config.global_tokens) check_tokens(*config.global_tokens, "global budget");
  Impl& m = *impl_;
  m.require_writable();
  const Impl::Exclusive exclusive(m);  // the windows may be reloaded under a new length
  m.store.write_budget(config);
  const bool new_length = config.window_seconds != m.budget.window_seconds;
  m.budget = config;
  if (new_length) m.load_windows();
}

BudgetConfig Ledger::budget() const {
  Impl& m = *impl_;
  if (!m.options.read_only) {
    std::lock_guard lock(m.state_mu);
    return m.budget;
  }
  std::lock_guard lock(m.store_mu);
  return m.store.read_budget();
}

void Ledger::set_key_budget(std::string_view key_id, std::optional<std::int64_t> tokens) {
  check_id(key_id, "key id", true);
  if (tokens) check_tokens(*tokens, "key budget");
  Impl& m = *impl_;
  m.require_writable();
  std::lock_guard state_lock(m.state_mu);
  std::lock_guard store_lock(m.store_mu);
  m.store.write_key_budget(key_id, tokens);
  if (tokens) {
    m.key_budgets.insert_or_assign(std::string(key_id), *tokens);
  } else if (const auto it = m.key_budgets.find(key_id); it != m.key_budgets.end()) {
    m.key_budgets.erase(it);
  }
}

std::map<std::string, std::int64_t> Ledger::key_budgets() const {
  Impl& m = *impl_;
  if (!m.options.read_only) {
    std::lock_guard lock(m.state_mu);
    return {m.key_budgets.begin(), m.key_budgets.end()};
  }
  std::lock_guard lock(m.store_mu);
  return m.store.read_key_budgets();
}

ReserveResult Ledger::reserve(std::string_view request_id, std::string_view key_id,
                              std::string_view upstream, std::int64_t tokens) {
  check_id(request_id, "request id", false);
  check_id(key_id, "key id", true);
  check_id(upstream, "upstream", true);
  check_tokens(tokens, "reserved tokens");
  Impl& m = *impl_;
  m.require_writable();
  std::string id(request_id);
  std::string key(key_id);
  std::unique_lock lock(m.state_mu);
  m.wait_for_room(lock);
  const std::int64_t now = m.clock.now_ms();
  const Window w = window_at(now, m.budget.window_seconds);
  if (w.start_ms < m.oldest_kept_window && !m.windows.contains(w.start_ms)) {
    throw LedgerError(m.store.path() + ": the clock went back more than two budget windows (to " +
                      std::to_string(now) + " ms, after a reserve in the window starting at " +
                      std::to_string(m.newest_window) + " ms); refusing to charge a window whose " +
                      "usage is no longer in memory");
  }
  ReserveResult result;
  result.window_start_ms = w.start_ms;
  result.window_end_ms = w.end_ms;
  const std::int64_t global_charged = m.window_charge(w.start_ms).total();
  const std::int64_t key_charged = m.key_charge(w.start_ms, key).total();
  const std::optional<std::int64_t> key_budget = m.key_budget(key);
  result.global_remaining = remaining(m.budget.global_tokens, global_charged);
  result.key_remaining = remaining(key_budget, key_charged);

  // An id is taken if it is open, or its reserve is journaled but not yet in SQLite, or it is in
  // SQLite (read on the second connection: a reserve removed from the unapplied set is committed).
  if (m.open.contains(id) || m.unapplied_reserve_ids.contains(id) || m.reader->exists(id)) {
    result.status = ReserveStatus::kDuplicateId;
    return result;
  }
  if (m.budget.global_tokens && global_charged + tokens > *m.budget.global_tokens) {
    result.status = ReserveStatus::kOverGlobalBudget;
    return result;
  }
  if (key_budget && key_charged + tokens > *key_budget) {
    result.status = ReserveStatus::kOverKeyBudget;
    return result;
  }
  JournalRecord record;
  record.kind = JournalRecord::Kind::kReserve;
  record.request_id = id;
  record.key_id = key;
  record.upstream = std::string(upstream);
  record.reserved_tokens = tokens;
  record.window_start_ms = w.start_ms;
  record.at_ms = now;
  m.journal(record);  // durable from here on; throws (changing nothing) when it cannot be
  m.charge(w.start_ms, key, tokens, 0, +1);
  m.note_window(w.start_ms);
  m.open.emplace(id, Impl::OpenRequest{key, tokens, w.start_ms});
  m.unapplied_reserve_ids.insert(std::move(id));
  m.queue(std::move(record));
  result.status = ReserveStatus::kReserved;
  result.global_remaining = remaining(m.budget.global_tokens, global_charged + tokens);
  result.key_remaining = remaining(key_budget, key_charged + tokens);
  return result;
}

CloseResult Ledger::settle(std::string_view request_id, std::int64_t used_tokens,
                           double payment_usd) {
  check_id(request_id, "request id", false);
  check_tokens(used_tokens, "used tokens");
  if (!(payment_usd >= 0.0) || payment_usd > 1e15) {
    throw std::invalid_argument("ledger: payment_usd must be finite and >= 0");
  }
  return impl_->close_request(request_id, RequestState::kSettled, used_tokens, payment_usd);
}

CloseResult Ledger::release(std::string_view request_id) {
  check_id(request_id, "request id", false);
  return impl_->close_request(request_id, RequestState::kReleased, 0, 0.0);
}

ReconcileReport Ledger::reconcile_after_restart(
    ReconcilePolicy policy, const std::map<std::string, double>& usd_per_token) {
  Impl& m = *impl_;
  m.require_writable();
  const Impl::Exclusive exclusive(
      m);  // no write may close a request between the reads and the closes
  std::vector<RequestRecord> open;
  m.store.for_each_request([&](const RequestRecord& r) { open.push_back(r); }, /*open_only=*/true);
  ReconcileReport report;
  sqlite::Transaction tx(m.store.db());
  const std::int64_t now = m.clock.now_ms();
  for (RequestRecord& r : open) {
    if (policy == ReconcilePolicy::kCountAsFullyUsed) {
      const auto price = usd_per_token.find(r.upstream);
      const double payment = price == usd_per_token.end()
                                 ? 0.0
                                 : price->second * static_cast<double>(r.reserved_tokens);
      m.store.close(r, RequestState::kReconciled, r.reserved_tokens, payment, now);
      r.state = RequestState::kReconciled;
      r.used_tokens = r.reserved_tokens;
      r.payment_usd = payment;
      report.counted_tokens += r.reserved_tokens;
    } else {
      m.store.close(r, RequestState::kReleased, 0, 0.0, now);
      r.state = RequestState::kReleased;
      r.used_tokens = 0;
      report.released_tokens += r.reserved_tokens;
    }
    r.closed_at_ms = now;
  }
  tx.commit();
  for (const RequestRecord& r : open) {
    m.charge(r.window_start_ms, r.key_id, -r.reserved_tokens, r.used_tokens.value_or(0), -1);
    m.open.erase(r.request_id);
  }
  report.requests = std::move(open);
  return report;
}

std::optional<RequestRecord> Ledger::find(std::string_view request_id) const {
  impl_->flush();
  std::lock_guard lock(impl_->store_mu);
  return impl_->store.find(request_id);
}

LedgerTotals Ledger::totals() const {
  Impl& m = *impl_;
  m.flush();
  std::lock_guard lock(m.store_mu);
  // One read transaction, so every figure comes from the same snapshot.
  m.store.db().exec("BEGIN");
  try {
    LedgerTotals out;
    m.store.fill_totals(out);
    out.window = m.window_totals_from_store(std::nullopt);
    for (const std::string& k : m.store.window_keys(out.window.window_start_ms)) {
      out.key_windows[k] = m.window_totals_from_store(k);
    }
    m.store.db().exec("COMMIT");
    return out;
  } catch (...) {
    m.store.db().exec("ROLLBACK");
    throw;
  }
}

WindowTotals Ledger::window_totals() const {
  Impl& m = *impl_;
  if (!m.options.read_only) {
    std::lock_guard lock(m.state_mu);
    return m.window_totals_from_memory(nullptr);
  }
  std::lock_guard lock(m.store_mu);
  return m.window_totals_from_store(std::nullopt);
}

WindowTotals Ledger::key_window_totals(std::string_view key_id) const {
  Impl& m = *impl_;
  if (!m.options.read_only) {
    const std::string key(key_id);
    std::lock_guard lock(m.state_mu);
    return m.window_totals_from_memory(&key);
  }
  std::lock_guard lock(m.store_mu);
  return m.window_totals_from_store(key_id);
}

LedgerWriteStats Ledger::write_stats() const {
  std::lock_guard lock(impl_->state_mu);
  LedgerWriteStats s = impl_->stats;
  s.recovered_writes = impl_->recovered_writes;
  s.unapplied_writes = impl_->unapplied.size();
  return s;
}

std::uint64_t Ledger::unapplied_journal_bytes() const {
  std::uint64_t bytes = 0;
  for (int i = 0; i < 2; ++i) {
    struct stat st {};
    if (::stat(journal_path(impl_->store.path(), i).c_str(), &st) == 0) {
      bytes += static_cast<std::uint64_t>(st.st_size);
    }
  }
  return bytes;
}

void Ledger::for_each_request(const std::function<void(const RequestRecord&)>& visit) const {
  impl_->flush();
  std::lock_guard lock(impl_->store_mu);
  impl_->store.for_each_request(visit);
}

}  // namespace clearhouse::ledger
