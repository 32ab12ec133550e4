#include "ledger/ledger.h"

#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "ledger/budget_book.h"
#include "ledger/checkpointer.h"
#include "ledger/journal_applier.h"
#include "ledger/request_id.h"
#include "ledger/schema.h"
#include "ledger/store.h"
#include "ledger/writer_lock.h"

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

CloseResult describe(const RequestRecord& r, CloseStatus status) {
  CloseResult c;
  c.status = status;
  c.state = r.state;
  c.reserved_tokens = r.reserved_tokens;
  c.used_tokens = r.used_tokens.value_or(0);
  c.released_tokens = std::max<std::int64_t>(0, c.reserved_tokens - c.used_tokens);
  c.overrun_tokens = std::max<std::int64_t>(0, c.used_tokens - c.reserved_tokens);
  c.reasoning_tokens = r.reasoning_tokens;
  return c;
}

WindowTotals window_totals_from_store(LedgerStore& store, std::int64_t now_ms,
                                      std::optional<std::string_view> key) {
  const BudgetConfig config = store.read_budget();
  const BudgetWindow w = window_at(now_ms, config.window_seconds);
  const auto [reserved, used] = store.window_charge(w.start_ms, key);
  return make_window_totals(w, reserved, used,
                            key ? store.read_key_budget(*key) : config.global_tokens);
}

}  // namespace

// The Ledger's parts (see ledger.h, "Storage"): decisions are made in the budget book, under
// state_mu; each write is journaled by the applier before the book changes, and the applier moves
// journaled writes into the store. Locks, always taken in this order: the applier's, state_mu,
// store_mu. A read-only ledger has only the store.
struct Ledger::Impl {
  Impl(const std::string& path, const base::Clock& c, const LedgerOptions& o)
      : clock(c),
        options(o),
        writer_lock(o.read_only ? nullptr : std::make_unique<LedgerWriterLock>(path)),
        store(path, o) {
    if (o.read_only) return;
    applier = std::make_unique<JournalApplier>(store, store_mu, state_mu, o.durability);
    book.load(store, clock.now_ms());
    reader = std::make_unique<LedgerStore>(path, LedgerOptions{.read_only = true});
    checkpointer = std::make_unique<Checkpointer>(path, store.db());
    applier->start();
  }

  ~Impl() {
    if (applier) applier->stop();
  }

  void require_writable() const {
    if (options.read_only) throw LedgerError(store.path() + ": ledger opened read-only");
  }

  // Everything acknowledged is in SQLite when this returns (reads of SQLite start with it).
  void flush() {
    if (applier) applier->flush();
  }

  // For the rare operations that change SQLite directly (reconcile, a budget change): keeps writers
  // out, applies everything journaled, and holds the store, so memory and SQLite agree throughout.
  struct Exclusive {
    explicit Exclusive(Impl& m) : quiesced(m.applier->apply_all_and_hold()), store(m.store_mu) {}
    JournalApplier::Quiesced quiesced;
    std::unique_lock<std::mutex> store;
  };

  CloseResult close_request(std::string_view request_id, RequestState state, std::int64_t used,
                            double payment, std::int64_t reasoning);

  const base::Clock& clock;
  LedgerOptions options;
  std::mutex state_mu;  // the book, and the applier's queue (journal_applier.h)
  std::mutex store_mu;  // the writer connection
  // Taken before anything of the ledger is touched (a refused writer changes nothing), and released
  // after every SQLite connection below is closed (writer_lock.h: closing its descriptor drops the
  // process's fcntl locks on the file). Null when read-only.
  std::unique_ptr<LedgerWriterLock> writer_lock;
  LedgerStore store;
  BudgetBook book;
  std::unique_ptr<JournalApplier> applier;
  std::unique_ptr<LedgerStore> reader;  // a second connection: duplicate-id checks, off store_mu
  std::unique_ptr<Checkpointer> checkpointer;
};

// settle() and release(): state is kSettled or kReleased.
CloseResult Ledger::Impl::close_request(std::string_view request_id, RequestState state,
                                        std::int64_t used, double payment, std::int64_t reasoning) {
  require_writable();
  const std::string id(request_id);
  {
    std::lock_guard lock(state_mu);
    if (const BudgetBook::OpenRequest* found = book.find_open(id)) {
      const BudgetBook::OpenRequest r = *found;
      JournalRecord record;
      record.kind = state == RequestState::kSettled ? JournalRecord::Kind::kSettle
                                                    : JournalRecord::Kind::kRelease;
      record.request_id = id;
      record.key_id = r.key_id;
      record.reserved_tokens = r.reserved_tokens;
      record.window_start_ms = r.window_start_ms;
      record.at_ms = clock.now_ms();
      record.used_tokens = used;
      record.payment_usd = payment;
      record.reasoning_tokens = reasoning;
      applier->journal(record);
      book.close_request(id, r.key_id, r.window_start_ms, r.reserved_tokens, used);
      RequestRecord closed;
      closed.state = state;
      closed.reserved_tokens = r.reserved_tokens;
      closed.used_tokens = used;
      closed.reasoning_tokens = reasoning;
      applier->queue(std::move(record));
      return describe(closed, CloseStatus::kClosed);
    }
  }
  // Not open: closed before (its record is in SQLite once flushed), or never reserved.
  flush();
  std::lock_guard lock(store_mu);
  const std::optional<RequestRecord> r = store.find(id);
  if (!r) {
    CloseResult c;
    c.status = CloseStatus::kUnknownId;
    return c;
  }
  return describe(
      *r, r->state == RequestState::kOpen ? CloseStatus::kClosed : CloseStatus::kAlreadyClosed);
}

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
  m.book.set_config(config, m.store, m.clock.now_ms());
}

BudgetConfig Ledger::budget() const {
  Impl& m = *impl_;
  if (!m.options.read_only) {
    std::lock_guard lock(m.state_mu);
    return m.book.config();
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
  m.book.set_key_budget(key_id, tokens);
}

std::map<std::string, std::int64_t> Ledger::key_budgets() const {
  Impl& m = *impl_;
  if (!m.options.read_only) {
    std::lock_guard lock(m.state_mu);
    return m.book.key_budgets();
  }
  std::lock_guard lock(m.store_mu);
  return m.store.read_key_budgets();
}

ReserveResult Ledger::reserve(std::string_view request_id, std::string_view key_id,
                              std::string_view upstream, std::int64_t tokens, IdCheck id_check) {
  check_id(request_id, "request id", false);
  if (id_check == IdCheck::kFreshId && !is_request_id(request_id)) {
    throw std::invalid_argument("request id: IdCheck::kFreshId needs an id of make_request_id");
  }
  check_id(key_id, "key id", true);
  check_id(upstream, "upstream", true);
  check_tokens(tokens, "reserved tokens");
  Impl& m = *impl_;
  m.require_writable();
  std::string id(request_id);
  std::string key(key_id);
  std::unique_lock lock(m.state_mu);
  m.applier->wait_for_room(lock);
  const std::int64_t now = m.clock.now_ms();
  const BudgetBook& book = m.book;
  const BudgetWindow w = window_at(now, book.config().window_seconds);
  if (book.window_forgotten(w.start_ms)) {
    throw LedgerError(m.store.path() + ": the clock went back more than two budget windows (to " +
                      std::to_string(now) + " ms, after a reserve in the window starting at " +
                      std::to_string(book.newest_window()) +
                      " ms); refusing to charge a window whose " + "usage is no longer in memory");
  }
  ReserveResult result;
  result.window_start_ms = w.start_ms;
  result.window_end_ms = w.end_ms;
  const std::optional<std::int64_t> global_budget = book.config().global_tokens;
  const std::int64_t global_charged = book.window_charge(w.start_ms).total();
  const std::int64_t key_charged = book.key_charge(w.start_ms, key).total();
  const std::optional<std::int64_t> key_budget = book.key_budget(key);
  result.global_remaining = tokens_remaining(global_budget, global_charged);
  result.key_remaining = tokens_remaining(key_budget, key_charged);

  // An id is taken if it is open, or its reserve is journaled but not yet in SQLite, or it is in
  // SQLite (read on the second connection: a reserve removed from the unapplied set is committed;
  // not read for a fresh id, see IdCheck).
  if (book.is_open(id) || m.applier->is_reserve_unapplied(id) ||
      (id_check == IdCheck::kEveryRequest && m.reader->exists(id))) {
    result.status = ReserveStatus::kDuplicateId;
    return result;
  }
  if (global_budget && global_charged + tokens > *global_budget) {
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
  m.applier->journal(record);  // durable from here on; throws (changing nothing) when it cannot be
  m.book.open_request(std::move(id), BudgetBook::OpenRequest{std::move(key), tokens, w.start_ms});
  m.applier->queue(std::move(record));  // and remembers its id until the reserve is in SQLite
  result.status = ReserveStatus::kReserved;
  result.global_remaining = tokens_remaining(global_budget, global_charged + tokens);
  result.key_remaining = tokens_remaining(key_budget, key_charged + tokens);
  return result;
}

CloseResult Ledger::settle(std::string_view request_id, std::int64_t used_tokens,
                           double payment_usd, std::int64_t reasoning_tokens) {
  check_id(request_id, "request id", false);
  check_tokens(used_tokens, "used tokens");
  if (reasoning_tokens < 0 || reasoning_tokens > used_tokens) {
    throw std::invalid_argument("ledger: reasoning tokens (" + std::to_string(reasoning_tokens) +
                                ") must be in [0, used tokens (" + std::to_string(used_tokens) +
                                ")]");
  }
  if (!(payment_usd >= 0.0) || payment_usd > 1e15) {
    throw std::invalid_argument("ledger: payment_usd must be finite and >= 0");
  }
  return impl_->close_request(request_id, RequestState::kSettled, used_tokens, payment_usd,
                              reasoning_tokens);
}

CloseResult Ledger::release(std::string_view request_id) {
  check_id(request_id, "request id", false);
  return impl_->close_request(request_id, RequestState::kReleased, 0, 0.0, 0);
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
    m.book.close_request(r.request_id, r.key_id, r.window_start_ms, r.reserved_tokens,
                         r.used_tokens.value_or(0));
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
    out.window = window_totals_from_store(m.store, m.clock.now_ms(), std::nullopt);
    for (const std::string& k : m.store.window_keys(out.window.window_start_ms)) {
      out.key_windows[k] = window_totals_from_store(m.store, m.clock.now_ms(), k);
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
    return m.book.window_totals(m.clock.now_ms(), nullptr);
  }
  std::lock_guard lock(m.store_mu);
  return window_totals_from_store(m.store, m.clock.now_ms(), std::nullopt);
}

WindowTotals Ledger::key_window_totals(std::string_view key_id) const {
  Impl& m = *impl_;
  if (!m.options.read_only) {
    const std::string key(key_id);
    std::lock_guard lock(m.state_mu);
    return m.book.window_totals(m.clock.now_ms(), &key);
  }
  std::lock_guard lock(m.store_mu);
  return window_totals_from_store(m.store, m.clock.now_ms(), key_id);
}

LedgerWriteStats Ledger::write_stats() const {
  if (!impl_->applier) return {};  // read-only: nothing is written
  std::lock_guard lock(impl_->state_mu);
  return impl_->applier->stats();
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
