#include "gateway/metrics.h"

#include <algorithm>
#include <cassert>

namespace clearhouse::gateway {

using prometheus::Counter;
using prometheus::Histogram;
using prometheus::TextWriter;

namespace {

constexpr std::string_view kOther = "other";
constexpr std::string_view kOverflowUpstream = "overflow";

// The index of `value` in `names`, or names.size() (the "other" slot) when absent.
template <std::size_t N>
std::size_t index_of(const std::array<std::string_view, N>& names, std::string_view value) {
  const auto it = std::find(names.begin(), names.end(), value);
  assert(it != names.end() && "label value outside its fixed set");
  return static_cast<std::size_t>(it - names.begin());
}

std::uint64_t token_count(std::int64_t tokens) {
  assert(tokens >= 0 && "token counts only go up");
  return tokens > 0 ? static_cast<std::uint64_t>(tokens) : 0;
}

}  // namespace

struct GatewayMetrics::UpstreamSeries {
  explicit UpstreamSeries(std::string upstream_name)
      : name(std::move(upstream_name)), seconds(kRequestSecondsBuckets) {}
  const std::string name;
  Histogram seconds;
  std::array<Counter, kUpstreamErrorKinds.size() + 1> errors;  // the last: "other"
  Counter protocol_errors;
  prometheus::DoubleCounter payment_usd;
  Counter retries;
};

GatewayMetrics::GatewayMetrics(std::vector<std::string> route_labels,
                               const std::vector<std::string>& upstream_names)
    : routes_(std::move(route_labels)),
      requests_(std::make_unique<Counter[]>(routes_.size() * kCodeSlots)),
      added_seconds_(kAddedSecondsBuckets) {
  assert(!routes_.empty() && "the last route label is the one of unknown routes");
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    request_seconds_.push_back(std::make_unique<Histogram>(kRequestSecondsBuckets));
  }
  for (const std::string& name : upstream_names) {
    const bool seen = std::any_of(declared_upstreams_.begin(), declared_upstreams_.end(),
                                  [&](const auto& series) { return series->name == name; });
    if (!seen) declared_upstreams_.push_back(std::make_unique<UpstreamSeries>(name));
  }
}

GatewayMetrics::~GatewayMetrics() = default;

GatewayMetrics::UpstreamSeries& GatewayMetrics::upstream(std::string_view name) {
  // Declared upstreams never change after construction: found without a lock.
  for (const auto& series : declared_upstreams_) {
    if (series->name == name) return *series;
  }
  const std::lock_guard lock(added_upstreams_mutex_);
  const auto find_added = [this](std::string_view wanted) -> UpstreamSeries* {
    for (const auto& series : added_upstreams_) {
      if (series->name == wanted) return series.get();
    }
    return nullptr;
  };
  if (UpstreamSeries* series = find_added(name)) return *series;
  // The last free series is kept for "overflow".
  if (declared_upstreams_.size() + added_upstreams_.size() + 1 >= kMaxUpstreamSeries) {
    if (UpstreamSeries* overflow = find_added(kOverflowUpstream)) return *overflow;
    name = kOverflowUpstream;
  }
  added_upstreams_.push_back(std::make_unique<UpstreamSeries>(std::string(name)));
  return *added_upstreams_.back();
}

std::size_t GatewayMetrics::route_index(std::string_view route) const {
  const auto it = std::find(routes_.begin(), routes_.end(), route);
  assert(it != routes_.end() && "route label outside the route table");
  return it != routes_.end() ? static_cast<std::size_t>(it - routes_.begin()) : routes_.size() - 1;
}

void GatewayMetrics::count_request(std::string_view route, int status) {
  const bool known = status >= kFirstCode && status < kFirstCode + static_cast<int>(kCodeSlots) - 1;
  const std::size_t code_slot =
      known ? static_cast<std::size_t>(status - kFirstCode) : kCodeSlots - 1;
  requests_[route_index(route) * kCodeSlots + code_slot].add();
}

void GatewayMetrics::observe_request_seconds(std::string_view route, double seconds) {
  request_seconds_[route_index(route)]->observe(seconds);
}

void GatewayMetrics::observe_added_seconds(double seconds) {
  added_seconds_.observe(seconds);
}

void GatewayMetrics::observe_upstream_seconds(std::string_view upstream_name, double seconds) {
  upstream(upstream_name).seconds.observe(seconds);
}

void GatewayMetrics::count_upstream_error(std::string_view upstream_name, std::string_view kind) {
  upstream(upstream_name).errors[index_of(kUpstreamErrorKinds, kind)].add();
}

void GatewayMetrics::count_upstream_protocol_error(std::string_view upstream_name) {
  upstream(upstream_name).protocol_errors.add();
}

void GatewayMetrics::add_tokens_reserved(std::int64_t tokens) {
  tokens_reserved_.add(token_count(tokens));
}
void GatewayMetrics::add_tokens_used(std::int64_t tokens) {
  tokens_used_.add(token_count(tokens));
}
void GatewayMetrics::add_reasoning_tokens(std::int64_t tokens) {
  reasoning_tokens_.add(token_count(tokens));
}
void GatewayMetrics::add_tokens_released(std::int64_t tokens) {
  tokens_released_.add(token_count(tokens));
}

void GatewayMetrics::count_abandoned(std::string_view action) {
  abandoned_[index_of(kAbandonActions, action)].add();
}

void GatewayMetrics::count_budget_rejection() {
  budget_rejections_.add();
}

void GatewayMetrics::count_client_abort() {
  client_aborts_.add();
}

void GatewayMetrics::count_ledger_close_failure() {
  ledger_close_failures_.add();
}

void GatewayMetrics::add_payment_usd(std::string_view upstream_name, double usd) {
  upstream(upstream_name).payment_usd.add(usd);
}

void GatewayMetrics::count_upstream_retry(std::string_view upstream_name) {
  upstream(upstream_name).retries.add();
}

void GatewayMetrics::stream_opened() {
  open_streams_.fetch_add(1, std::memory_order_relaxed);
}
void GatewayMetrics::stream_closed() {
  open_streams_.fetch_sub(1, std::memory_order_relaxed);
}

std::vector<const GatewayMetrics::UpstreamSeries*> GatewayMetrics::upstreams_in_order() const {
  std::vector<const UpstreamSeries*> all;
  for (const auto& series : declared_upstreams_) all.push_back(series.get());
  const std::lock_guard lock(added_upstreams_mutex_);
  for (const auto& series : added_upstreams_) all.push_back(series.get());
  return all;  // the series themselves never move or die before *this
}

void GatewayMetrics::render_requests(TextWriter& out) const {
  out.family("clearhouse_requests_total", "counter",
             "Requests answered, by route and HTTP status code.");
  for (std::size_t route = 0; route < routes_.size(); ++route) {
    for (std::size_t slot = 0; slot < kCodeSlots; ++slot) {
      const std::uint64_t n = requests_[route * kCodeSlots + slot].value();
      if (n == 0) continue;  // 7 x 501 mostly empty series would drown the page
      const std::string code =
          slot + 1 < kCodeSlots ? std::to_string(kFirstCode + static_cast<int>(slot)) : "other";
      out.sample("clearhouse_requests_total", {{"route", routes_[route]}, {"code", code}}, n);
    }
  }
  out.family("clearhouse_request_duration_seconds", "histogram",
             "Whole request time in the gateway, from the request read to the last byte written.");
  for (std::size_t route = 0; route < routes_.size(); ++route) {
    out.histogram("clearhouse_request_duration_seconds", {{"route", routes_[route]}},
                  request_seconds_[route]->snapshot());
  }
  out.family("clearhouse_added_latency_seconds", "histogram",
             "Time spent in the gateway itself: request time minus time waiting on the upstream.");
  out.histogram("clearhouse_added_latency_seconds", {}, added_seconds_.snapshot());
}

void GatewayMetrics::render_upstreams(TextWriter& out) const {
  const std::vector<const UpstreamSeries*> upstreams = upstreams_in_order();
  out.family("clearhouse_upstream_duration_seconds", "histogram",
             "Time of one call to an upstream, from sending the request to its last byte.");
  for (const UpstreamSeries* series : upstreams) {
    out.histogram("clearhouse_upstream_duration_seconds", {{"upstream", series->name}},
                  series->seconds.snapshot());
  }
  out.family("clearhouse_upstream_errors_total", "counter",
             "Failed upstream calls, by upstream and kind (connect, timeout, status, protocol).");
  for (const UpstreamSeries* series : upstreams) {
    for (std::size_t kind = 0; kind < series->errors.size(); ++kind) {
      const std::uint64_t n = series->errors[kind].value();
      const bool is_other = kind == kUpstreamErrorKinds.size();
      if (is_other && n == 0) continue;
      out.sample(
          "clearhouse_upstream_errors_total",
          {{"upstream", series->name}, {"kind", is_other ? kOther : kUpstreamErrorKinds[kind]}}, n);
    }
  }
  out.family("clearhouse_upstream_protocol_errors_total", "counter",
             "Answers whose reported usage cannot be true (negative, not a whole number, more than "
             "the request could generate, revised in a stream); each is charged its whole "
             "reservation.");
  for (const UpstreamSeries* series : upstreams) {
    out.sample("clearhouse_upstream_protocol_errors_total", {{"upstream", series->name}},
               series->protocol_errors.value());
  }
  out.family("clearhouse_upstream_retries_total", "counter",
             "Requests moved to the next-best upstream after this one failed before answering.");
  for (const UpstreamSeries* series : upstreams) {
    out.sample("clearhouse_upstream_retries_total", {{"upstream", series->name}},
               series->retries.value());
  }
  out.family("clearhouse_upstream_payment_usd_total", "counter",
             "Money paid to each upstream, in US dollars.");
  for (const UpstreamSeries* series : upstreams) {
    out.sample("clearhouse_upstream_payment_usd_total", {{"upstream", series->name}},
               series->payment_usd.value());
  }
}

void GatewayMetrics::render_health(
    TextWriter& out, const std::vector<std::pair<std::string, HealthSnapshot>>& health) {
  out.family("clearhouse_upstream_up", "gauge",
             "1 while the upstream's circuit is closed; 0 while open (no calls) or half-open "
             "(one probe call).");
  for (const auto& [name, s] : health) {
    out.sample("clearhouse_upstream_up", {{"upstream", name}},
               std::int64_t{s.state == CircuitState::kClosed ? 1 : 0});
  }
  out.family("clearhouse_upstream_consecutive_failures", "gauge",
             "The upstream's failed calls in a row (refused, timed out, closed before answering).");
  for (const auto& [name, s] : health) {
    out.sample("clearhouse_upstream_consecutive_failures", {{"upstream", name}},
               std::int64_t{s.consecutive_failures});
  }
  out.family("clearhouse_upstream_circuit_transitions_total", "counter",
             "Times the upstream's circuit breaker went into each state.");
  for (const auto& [name, s] : health) {
    for (std::size_t i = 0; i < kCircuitStates.size(); ++i) {
      out.sample("clearhouse_upstream_circuit_transitions_total",
                 {{"upstream", name}, {"state", to_string(kCircuitStates[i])}}, s.transitions[i]);
    }
  }
}

std::string GatewayMetrics::render(const Gauges& gauges) const {
  TextWriter out;
  render_requests(out);
  render_upstreams(out);
  render_health(out, gauges.upstream_health);

  const auto counter = [&out](std::string_view name, std::string_view help, const Counter& c) {
    out.family(name, "counter", help);
    out.sample(name, {}, c.value());
  };
  counter("clearhouse_tokens_reserved_total",
          "Output tokens reserved in the ledger (request caps).", tokens_reserved_);
  counter("clearhouse_tokens_used_total", "Output tokens settled as used.", tokens_used_);
  counter("clearhouse_reasoning_tokens_total",
          "Output tokens settled as used that the upstream reported as reasoning (part of "
          "clearhouse_tokens_used_total, not added to it).",
          reasoning_tokens_);
  counter("clearhouse_tokens_released_total",
          "Output tokens returned to the budget (unused reservations).", tokens_released_);
  out.family("clearhouse_abandoned_requests_total", "counter",
             "Requests CLEAR abandoned, by the action taken (reject, degrade).");
  for (std::size_t action = 0; action < abandoned_.size(); ++action) {
    const std::uint64_t n = abandoned_[action].value();
    const bool is_other = action == kAbandonActions.size();
    if (is_other && n == 0) continue;
    out.sample("clearhouse_abandoned_requests_total",
               {{"action", is_other ? kOther : kAbandonActions[action]}}, n);
  }
  counter("clearhouse_budget_rejections_total",
          "Requests refused because the ledger had no room in the budget.", budget_rejections_);
  counter("clearhouse_client_aborts_total",
          "Streams whose client left before the end (the upstream's rest was read and charged).",
          client_aborts_);
  counter("clearhouse_ledger_close_failures_total",
          "Reservations the ledger refused to close, also as fully used; they stay open (and in "
          "clearhouse_open_reservations) until the next start reconciles them.",
          ledger_close_failures_);

  const auto gauge = [&out](std::string_view name, std::string_view help, auto value) {
    out.family(name, "gauge", help);
    out.sample(name, {}, value);
  };
  gauge("clearhouse_open_streams", "Streamed (SSE) responses being written.",
        open_streams_.load(std::memory_order_relaxed));
  gauge("clearhouse_shadow_price", "The pacer's current shadow price (lambda) of an output token.",
        gauges.shadow_price);
  gauge("clearhouse_allowance_tokens",
        "Tokens the pacer's allowance line (plan line plus burst headroom) admits beyond committed "
        "spend now; negative while spending runs ahead of it.",
        gauges.allowance_tokens);
  gauge("clearhouse_budget_tokens", "Output-token budget of the current window.",
        gauges.budget_tokens);
  gauge("clearhouse_budget_remaining_tokens",
        "Output tokens of the current window's budget neither used nor reserved.",
        gauges.budget_remaining_tokens);
  gauge("clearhouse_reserved_tokens", "Output tokens held by open reservations.",
        gauges.reserved_tokens);
  gauge("clearhouse_open_reservations", "Ledger reservations not yet settled or released.",
        gauges.open_reservations);
  gauge("clearhouse_in_flight_requests", "Requests being handled.", gauges.in_flight_requests);
  gauge("clearhouse_usage_ratio",
        "Spend over the spend the budget's rate allows so far (1 = on pace).", gauges.usage_ratio);
  gauge("clearhouse_ledger_unapplied_writes",
        "Acknowledged ledger writes in the journal, not yet applied to the SQLite file.",
        gauges.ledger_unapplied_writes);
  out.family("clearhouse_ledger_apply_failures_total", "counter",
             "Times SQLite refused the ledger's journaled writes (they stay journaled and are "
             "retried; reserves stop after 65,536 queued).");
  out.sample("clearhouse_ledger_apply_failures_total", {}, gauges.ledger_apply_failures);
  return out.take();
}

}  // namespace clearhouse::gateway
