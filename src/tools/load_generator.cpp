#include "tools/load_generator.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "http/upstream_client.h"

namespace clearhouse::tools {
namespace {

using TimePoint = PacingClock::Duration;  // since the clock's origin
using Milliseconds = std::chrono::duration<double, std::milli>;

constexpr std::string_view kDoneMarker = "data: [DONE]";

// What one worker measured; merged after the workers are joined (no sharing while they run).
struct WorkerTally {
  std::vector<double> latency_ms, first_byte_ms, send_lag_ms;
  std::map<std::string, std::int64_t> outcomes;
  std::int64_t sent = 0, ok = 0, bytes = 0;
  TimePoint last_done{};
};

std::string outcome_of(const http::UpstreamReply& reply, bool stream, bool saw_done) {
  switch (reply.failure) {
    case http::UpstreamFailure::kNone: break;
    case http::UpstreamFailure::kConnect: return "connect";
    case http::UpstreamFailure::kTimeout: return "timeout";
    case http::UpstreamFailure::kClosed:
    case http::UpstreamFailure::kCanceled: return "closed";
  }
  if (stream && reply.status >= 200 && reply.status < 300 && !saw_done) return "no_done";
  return std::to_string(reply.status);
}

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double nearest_rank(const std::vector<double>& sorted, double q) {
  const auto n = static_cast<double>(sorted.size());
  const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(q * n)));
  return sorted[std::min(sorted.size(), rank) - 1];
}

void raise_peak(std::atomic<std::int64_t>& peak, std::int64_t value) {
  std::int64_t seen = peak.load();
  while (value > seen && !peak.compare_exchange_weak(seen, value)) {
  }
}

}  // namespace

LatencySummary summarize_latencies(std::vector<double>& samples_ms) {
  LatencySummary s;
  if (samples_ms.empty()) return s;
  std::sort(samples_ms.begin(), samples_ms.end());
  s.count = static_cast<std::int64_t>(samples_ms.size());
  double sum = 0;
  for (const double v : samples_ms) sum += v;
  s.mean_ms = sum / static_cast<double>(samples_ms.size());
  s.p50_ms = nearest_rank(samples_ms, 0.50);
  s.p90_ms = nearest_rank(samples_ms, 0.90);
  s.p99_ms = nearest_rank(samples_ms, 0.99);
  s.p999_ms = nearest_rank(samples_ms, 0.999);
  s.max_ms = samples_ms.back();
  return s;
}

LoadReport run_load(const LoadOptions& o) {
  if (o.connections == 0) throw std::invalid_argument("loadgen: connections must be at least 1");
  if (!(o.rate >= 0)) throw std::invalid_argument("loadgen: rate must be >= 0");
  if (o.body.empty()) throw std::invalid_argument("loadgen: empty request body");
  if (o.requests <= 0 && !(o.duration_seconds > 0)) {
    throw std::invalid_argument("loadgen: give a positive duration or request count");
  }
  http::UpstreamEndpoint endpoint;
  endpoint.name = "loadgen";
  endpoint.base_url = o.base_url;
  endpoint.api_key = o.api_key;
  endpoint.connect_timeout_seconds = std::min(5.0, o.timeout_seconds);
  endpoint.read_timeout_seconds = o.timeout_seconds;
  endpoint.total_timeout_seconds = o.timeout_seconds;
  endpoint.max_idle_connections = o.connections;
  http::UpstreamClient client(
      endpoint);  // throws http::UpstreamUrlError (an invalid_argument) for a bad URL

  SteadyPacingClock default_clock;
  PacingClock& clock = o.clock ? *o.clock : default_clock;
  const double cpu_at_start = process_cpu_seconds();
  const bool open_loop = o.rate > 0;
  const auto start = clock.now() + std::chrono::milliseconds(5);
  const auto measure_start = start + std::chrono::duration_cast<TimePoint>(
                                         std::chrono::duration<double>(o.warmup_seconds));
  const auto measure_end =
      measure_start + std::chrono::duration_cast<TimePoint>(
                          std::chrono::duration<double>(std::max(0.0, o.duration_seconds)));
  // Open loop: request i is due at start + i / rate; the first `warm` of them are the warm-up.
  const auto warm = open_loop ? static_cast<std::int64_t>(std::ceil(o.rate * o.warmup_seconds)) : 0;
  const std::int64_t measured_total =
      o.requests > 0
          ? o.requests
          : (open_loop ? static_cast<std::int64_t>(std::ceil(o.rate * o.duration_seconds)) : -1);

  std::atomic<std::int64_t> next_index{0};     // open loop: the next request to send
  std::atomic<std::int64_t> next_measured{0};  // closed loop with a request count
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> sent_with_warmup{0};
  std::atomic<std::int64_t> peak{0};

  const auto due_of = [&](std::int64_t i) {
    return start + std::chrono::duration_cast<TimePoint>(
                       std::chrono::duration<double>(static_cast<double>(i) / o.rate));
  };

  const auto send_one = [&](WorkerTally& tally, bool measured, TimePoint due) {
    const auto sent_at = clock.now();
    raise_peak(peak, ++in_flight);
    ++sent_with_warmup;
    std::optional<TimePoint> first_byte;
    std::string tail;  // the last bytes seen, so a [DONE] split across reads is still found
    bool saw_done = false;
    std::int64_t bytes = 0;
    const http::UpstreamReply reply = client.post(o.path, o.body, [&](int, std::string_view data) {
      if (!first_byte) first_byte = clock.now();
      bytes += static_cast<std::int64_t>(data.size());
      if (o.stream && !saw_done) {
        tail.append(data);
        saw_done = tail.find(kDoneMarker) != std::string::npos;
        if (tail.size() > kDoneMarker.size()) tail.erase(0, tail.size() - kDoneMarker.size());
      }
      return true;
    });
    const auto done = clock.now();
    --in_flight;
    if (!measured) return;
    ++tally.sent;
    tally.bytes += bytes;
    tally.last_done = std::max(tally.last_done, done);
    if (open_loop) tally.send_lag_ms.push_back(std::max(0.0, Milliseconds(sent_at - due).count()));
    const std::string outcome = outcome_of(reply, o.stream, saw_done);
    ++tally.outcomes[outcome];
    const bool success = reply.failure == http::UpstreamFailure::kNone && reply.status >= 200 &&
                         reply.status < 300 && (!o.stream || saw_done);
    if (!success) return;
    ++tally.ok;
    tally.latency_ms.push_back(Milliseconds(done - sent_at).count());
    tally.first_byte_ms.push_back(Milliseconds(first_byte.value_or(done) - sent_at).count());
  };

  const auto open_worker = [&](WorkerTally& tally) {
    for (;;) {
      const std::int64_t i = next_index.fetch_add(1);
      if (i >= warm + measured_total) return;
      const auto due = due_of(i);
      clock.wait_until(due);
      send_one(tally, i >= warm, due);
    }
  };
  const auto closed_worker = [&](WorkerTally& tally) {
    clock.wait_until(start);
    for (;;) {
      const auto now = clock.now();
      if (now < measure_start) {
        send_one(tally, false, now);
        continue;
      }
      if (o.requests > 0 ? next_measured.fetch_add(1) >= o.requests : now >= measure_end) return;
      send_one(tally, true, now);
    }
  };

  std::vector<WorkerTally> tallies(o.connections);
  {
    std::vector<std::thread> workers;
    workers.reserve(o.connections);
    for (WorkerTally& tally : tallies) {
      workers.emplace_back([&, &t = tally] { open_loop ? open_worker(t) : closed_worker(t); });
    }
    for (auto& w : workers) w.join();
  }

  LoadReport report;
  std::vector<double> latency, first_byte, lag;
  TimePoint last_done = measure_start;
  for (WorkerTally& t : tallies) {
    latency.insert(latency.end(), t.latency_ms.begin(), t.latency_ms.end());
    first_byte.insert(first_byte.end(), t.first_byte_ms.begin(), t.first_byte_ms.end());
    lag.insert(lag.end(), t.send_lag_ms.begin(), t.send_lag_ms.end());
    for (const auto& [k, v] : t.outcomes) report.outcomes[k] += v;
    report.sent += t.sent;
    report.ok += t.ok;
    report.response_bytes += t.bytes;
    last_done = std::max(last_done, t.last_done);
  }
  report.seconds = std::chrono::duration<double>(last_done - measure_start).count();
  if (report.seconds > 0) {
    report.achieved_rate = static_cast<double>(report.sent) / report.seconds;
    report.ok_rate = static_cast<double>(report.ok) / report.seconds;
  }
  report.latency = summarize_latencies(latency);
  report.first_byte = summarize_latencies(first_byte);
  report.send_lag = summarize_latencies(lag);
  report.peak_in_flight = peak.load();
  report.sent_with_warmup = sent_with_warmup.load();
  report.cpu_seconds = process_cpu_seconds() - cpu_at_start;
  return report;
}

nlohmann::json to_json(const LatencySummary& s) {
  return {{"count", s.count},   {"mean_ms", s.mean_ms}, {"p50_ms", s.p50_ms}, {"p90_ms", s.p90_ms},
          {"p99_ms", s.p99_ms}, {"p999_ms", s.p999_ms}, {"max_ms", s.max_ms}};
}

nlohmann::json to_json(const LoadReport& r) {
  nlohmann::json outcomes = nlohmann::json::object();
  for (const auto& [k, v] : r.outcomes) outcomes[k] = v;
  return {{"seconds", r.seconds},
          {"sent", r.sent},
          {"ok", r.ok},
          {"achieved_rate", r.achieved_rate},
          {"ok_rate", r.ok_rate},
          {"outcomes", outcomes},
          {"latency", to_json(r.latency)},
          {"first_byte", to_json(r.first_byte)},
          {"send_lag", to_json(r.send_lag)},
          {"peak_in_flight", r.peak_in_flight},
          {"response_bytes", r.response_bytes},
          {"sent_with_warmup", r.sent_with_warmup},
          {"cpu_seconds", r.cpu_seconds}};
}

}  // namespace clearhouse::tools
