// GatewayMetrics: the gateway's catalogue of Prometheus metrics, served as the body of GET /metrics
// (text exposition format 0.0.4, content type kPrometheusContentType). The request path counts and
// observes; render() writes every family with its HELP and TYPE lines, reading the pacer's and the
// ledger's current state from the Gauges the caller passes.
//
// Catalogue (all names start with clearhouse_; units are in the names):
//   requests_total{route,code}               counter    finished requests by HTTP status
//   request_duration_seconds{route}          histogram  whole request, 100 us .. 600 s
//   added_latency_seconds                    histogram  time in the gateway itself, 50 us .. 100 ms
//   upstream_duration_seconds{upstream}      histogram  one upstream call, 100 us .. 600 s
//   upstream_errors_total{upstream,kind}     counter    kind: connect|timeout|status|protocol
//   upstream_protocol_errors_total{upstream} counter    usage reported that cannot be true
//                                                       (charged the whole reservation)
//   upstream_retries_total{upstream}         counter    requests moved away after it failed
//   upstream_up{upstream}                    gauge      1 while its circuit is closed
//   upstream_consecutive_failures{upstream}  gauge      failed calls in a row
//   upstream_circuit_transitions_total{upstream,state}
//                                            counter    state: closed|open|half_open
//   upstream_payment_usd_total{upstream}     counter    USD paid to the upstream
//   tokens_reserved_total, tokens_used_total, tokens_released_total
//                                            counter    output tokens through the ledger
//   reasoning_tokens_total                   counter    of tokens_used_total, those the upstream
//                                                       reported as reasoning (not extra spend)
//   abandoned_requests_total{action}         counter    CLEAR abandoned: reject|degrade
//   budget_rejections_total                  counter    the ledger had no room
//   ledger_close_failures_total              counter    closes the ledger refused, also as fully
//                                                       used (left open for the next start)
//   open_streams                             gauge      SSE responses being written
//   shadow_price, allowance_tokens, budget_tokens, budget_remaining_tokens, reserved_tokens,
//   open_reservations, in_flight_requests, usage_ratio
//                                            gauges     read at scrape time (Gauges)
//
// Label values come only from fixed sets and the operator's config, never from clients: there is no
// per-key label and nothing secret. route is one of the route labels given at construction; an
// unknown route, error kind or abandon action is a programmer error (assert) and is counted under
// "other" in release builds. HTTP statuses outside 100..599 are counted as code="other". Upstream
// names are best declared at construction (their series then exist from the start and are found
// without a lock); others are added on first use under a small mutex, up to kMaxUpstreamSeries,
// after which they share one series labelled upstream="overflow" (a bound against a bug passing
// unbounded strings, not a feature).
//
// Units: seconds (double) for durations, whole output tokens, USD. NaN observations are dropped and
// negative durations count as 0 (see prometheus.h); negative token counts or payments are ignored
// (counters only go up).
//
// Thread-safety: every member function is safe from any number of threads. Counting and observing
// is lock-free (relaxed atomics, pre-created series) except for the first use of an undeclared
// upstream.
//
// Example:
//   GatewayMetrics metrics(router.labels(), {"vllm", "openai"});
//   metrics.count_request("chat_completions", 200);
//   metrics.observe_request_seconds("chat_completions", 0.84);
//   metrics.observe_upstream_seconds("vllm", 0.83);
//   metrics.observe_added_seconds(0.0004);
//   std::string body = metrics.render({.shadow_price = pacer.lambda(), ...});
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/upstream_health.h"
#include "metrics/prometheus.h"

namespace clearhouse::gateway {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

inline constexpr std::array<std::string_view, 4> kUpstreamErrorKinds = {"connect", "timeout",
                                                                        "status", "protocol"};
inline constexpr std::array<std::string_view, 2> kAbandonActions = {"reject", "degrade"};
inline constexpr std::size_t kMaxUpstreamSeries = 64;

// Bucket upper bounds in seconds.
inline constexpr std::array<double, 21> kRequestSecondsBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5,    1,       2.5,    5,     10,     25,    50,   100,   300,  600};
inline constexpr std::array<double, 16> kAddedSecondsBuckets = {
    0.00005, 0.000075, 0.0001, 0.00015, 0.00025, 0.0005, 0.00075, 0.001,
    0.0015,  0.0025,   0.005,  0.0075,  0.01,    0.025,  0.05,    0.1};

class GatewayMetrics {
 public:
  // route_labels: the route table's labels (http::Router::labels()), the last one the label of
  // every unknown route. Pre-creates the series of these upstreams (the names in the gateway's
  // config; others are added on first use); duplicates are merged.
  GatewayMetrics(std::vector<std::string> route_labels,
                 const std::vector<std::string>& upstream_names = {});
  ~GatewayMetrics();
  GatewayMetrics(const GatewayMetrics&) = delete;
  GatewayMetrics& operator=(const GatewayMetrics&) = delete;

  void count_request(std::string_view route, int status);
  void observe_request_seconds(std::string_view route, double seconds);
  // Time spent in the gateway itself: the whole request minus the time waiting on the upstream.
  void observe_added_seconds(double seconds);
  void observe_upstream_seconds(std::string_view upstream, double seconds);
  // kind is one of kUpstreamErrorKinds.
  void count_upstream_error(std::string_view upstream, std::string_view kind);
  // The upstream reported usage that cannot be true (gateway/charge.h).
  void count_upstream_protocol_error(std::string_view upstream);
  void add_tokens_reserved(std::int64_t tokens);
  void add_tokens_used(std::int64_t tokens);
  void add_reasoning_tokens(std::int64_t tokens);
  void add_tokens_released(std::int64_t tokens);
  // action is one of kAbandonActions.
  void count_abandoned(std::string_view action);
  void count_budget_rejection();
  // A client that left mid-stream (the rest of the upstream's stream is read, not forwarded).
  void count_client_abort();
  // The ledger refused to close a reservation, also as fully used (gateway/flight.h).
  void count_ledger_close_failure();
  void add_payment_usd(std::string_view upstream, double usd);
  // A request moved away from this upstream after it failed before answering (failover.h).
  void count_upstream_retry(std::string_view upstream);
  void stream_opened();
  void stream_closed();

  // State owned by the pacer and the ledger, read by the caller at scrape time.
  struct Gauges {
    double shadow_price = 0.0;
    double allowance_tokens = 0.0;  // the pacer's allowance line minus committed spend
    std::int64_t budget_tokens = 0;
    std::int64_t budget_remaining_tokens = 0;
    std::int64_t reserved_tokens = 0;
    std::int64_t open_reservations = 0;
    std::int64_t in_flight_requests = 0;
    double usage_ratio = 1.0;
    std::int64_t ledger_unapplied_writes = 0;
    std::uint64_t ledger_apply_failures = 0;
    // Each upstream's circuit breaker (upstream_health.h), by upstream name.
    std::vector<std::pair<std::string, HealthSnapshot>> upstream_health;
  };
  // The whole /metrics body.
  [[nodiscard]] std::string render(const Gauges& gauges) const;

 private:
  struct UpstreamSeries;
  UpstreamSeries& upstream(std::string_view name);
  void render_requests(prometheus::TextWriter& out) const;
  void render_upstreams(prometheus::TextWriter& out) const;
  static void render_health(prometheus::TextWriter& out,
                            const std::vector<std::pair<std::string, HealthSnapshot>>& health);
  [[nodiscard]] std::vector<const UpstreamSeries*> upstreams_in_order() const;

  // Codes 100..599 and one slot for anything else.
  static constexpr int kFirstCode = 100;
  static constexpr std::size_t kCodeSlots = 501;

  [[nodiscard]] std::size_t route_index(std::string_view route) const;

  const std::vector<std::string> routes_;            // the last: unknown routes
  std::unique_ptr<prometheus::Counter[]> requests_;  // [route * kCodeSlots + code slot]
  std::vector<std::unique_ptr<prometheus::Histogram>> request_seconds_;  // per route
  prometheus::Histogram added_seconds_;
  prometheus::Counter tokens_reserved_, tokens_used_, tokens_released_, reasoning_tokens_;
  std::array<prometheus::Counter, kAbandonActions.size() + 1> abandoned_;  // the last: "other"
  prometheus::Counter budget_rejections_;
  prometheus::Counter client_aborts_;
  prometheus::Counter ledger_close_failures_;
  std::atomic<std::int64_t> open_streams_{0};

  std::vector<std::unique_ptr<UpstreamSeries>> declared_upstreams_;  // fixed at construction
  mutable std::mutex added_upstreams_mutex_;
  std::vector<std::unique_ptr<UpstreamSeries>> added_upstreams_;  // guarded by the mutex
};

}  // namespace clearhouse::gateway
