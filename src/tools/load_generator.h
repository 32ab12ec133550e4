// LoadGenerator: drives an OpenAI-compatible server (the gateway, or an upstream directly) with one
// request body over keep-alive HTTP/1.1 connections and measures what each request took, for
// `clearhouse loadgen` and scripts/bench-gateway.sh.
//
// Two ways to load:
//  * open loop (rate > 0): request i is due at start + i / rate, whatever the server does. Each of
//    `connections` workers takes the next due request, waits for its time and sends it, so at most
//    `connections` requests are outstanding; a request sent after its time because every worker was
//    busy counts in `send_lag` (the generator fell behind: the rate was not really offered).
//  * closed loop (rate == 0): each of `connections` workers sends its next request as soon as the
//    last one is answered; the achieved rate is the server's throughput at that concurrency.
// Streams (stream = true): the body is server-sent events; a request succeeds when it answers 2xx
// and its body carries `data: [DONE]`. With connections = requests = K every stream is sent at
// once, so K streams are held open together (peak_in_flight shows how many really were).
//
// Latencies are milliseconds measured on LoadOptions::clock (the steady clock unless a test injects
// one) from the moment the request is handed to the connection to the last byte (`latency`) and to
// the first body byte (`first_byte`). Requests that failed (no HTTP response, a non-2xx status, a
// stream without [DONE]) are counted in `outcomes` and left out of the latency summaries. A warm-up
// (requests sent in the first warmup_seconds) opens the connections and is not measured.
//
// Thread-safety: run_load() is a blocking call that starts and joins its own threads; concurrent
// calls are independent.
//
//   LoadOptions o{.base_url = "http://127.0.0.1:8080", .body = R"({"messages": ...})", .rate =
//   500}; LoadReport r = run_load(o); fmt::print("p99 {} ms\n", r.latency.p99_ms);
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/replay_upstream.h"

namespace clearhouse::tools {

struct LoadOptions {
  std::string base_url;  // http://host:port[/prefix]
  std::string path = "/v1/chat/completions";
  std::string api_key;           // "" = no Authorization header
  std::string body;              // the JSON body every request sends
  bool stream = false;           // the response is SSE: success needs [DONE]
  double rate = 0;               // requests per second (open loop); 0 = closed loop
  std::size_t connections = 16;  // workers, each with its own keep-alive connection
  double duration_seconds = 10;  // measured phase (ignored when requests > 0)
  std::int64_t requests = 0;     // measured requests; 0 = as many as fit the duration
  double warmup_seconds = 0;     // unmeasured phase before, at the same load
  double timeout_seconds = 60;   // per request (read silence and total)
  // The time base of the schedule and the measurements; nullptr: the steady clock. Tests pass an
  // InstantPacingClock, so the schedule is followed without waiting in real time.
  std::shared_ptr<PacingClock> clock;
};

// Milliseconds. Percentiles are nearest-rank over the measured successful requests.
struct LatencySummary {
  std::int64_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

// Summarises samples (milliseconds; reorders them). An empty vector gives all zeros.
[[nodiscard]] LatencySummary summarize_latencies(std::vector<double>& samples_ms);

struct LoadReport {
  double seconds = 0;        // wall time of the measured phase
  std::int64_t sent = 0;     // measured requests sent
  std::int64_t ok = 0;       // of which succeeded
  double achieved_rate = 0;  // requests answered (any outcome) per second
  double ok_rate = 0;        // successful requests per second
  // "200", "429", ... by HTTP status; "connect", "timeout", "closed" without a response;
  // "no_done" for a 2xx stream that ended without [DONE].
  std::map<std::string, std::int64_t> outcomes;
  LatencySummary latency;
  LatencySummary first_byte;
  LatencySummary send_lag;            // open loop: how late requests were sent
  std::int64_t peak_in_flight = 0;    // most requests outstanding at once
  std::int64_t response_bytes = 0;    // body bytes received by measured requests
  std::int64_t sent_with_warmup = 0;  // every request sent, warm-up included
  double cpu_seconds = 0;             // user + system CPU of this process during run_load
};

// Throws std::invalid_argument for a bad base_url, no connections, a negative rate or an empty
// body.
[[nodiscard]] LoadReport run_load(const LoadOptions& options);

[[nodiscard]] nlohmann::json to_json(const LatencySummary& summary);
[[nodiscard]] nlohmann::json to_json(const LoadReport& report);

}  // namespace clearhouse::tools
