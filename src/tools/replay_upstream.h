// ReplayUpstream: an OpenAI-compatible mock server that answers with recorded real model outputs
// (ReplayStore) cut at the request's token cap, streaming at a set rate and reporting usage like a
// real server. Used by the gateway's tests and demos, and to evaluate the pacer offline. The user
// guide is docs/replay-upstream.md.
//
// Endpoints (through handle(), which needs no socket; HttpServer serves it over HTTP):
//   POST /v1/chat/completions   the last user message is the prompt
//   POST /v1/completions        `prompt` (a string, or an array of one string)
//   POST /v1/responses          the Responses API: `input` (its last user message) and
//                               `max_output_tokens` (replay_upstream_responses.h)
//   GET  /v1/models, GET /health
//
// Prompt lookup, for the request's `model` (an unknown model name is served by the default model):
// the qid from header `x-replay-qid` or body `metadata.qid` when given, else the exact prompt text
// (surrounding whitespace ignored). An unknown prompt gets `lorem_tokens` words of lorem ipsum, or
// a 404 `prompt_not_recorded` error with UnknownPrompt::kError. Response headers `x-replay-match`
// (qid | text | none) and `x-replay-qid` (dataset/qid) tell what was served.
//
// Cap: the smaller of max_tokens and max_completion_tokens (responses: max_output_tokens); see
// replay_upstream_answer.h for the cut and the token estimates. Streams send one chunk per token,
// the k-th token at k / tokens_per_second after the start, measured on a PacingClock that tests
// replace with InstantPacingClock. Faults: replay_upstream_fault.h.
//
// Usage (options): chat and completions streams report it in the UsageShape of a real server
// (OpenAI, llama.cpp, vLLM's continuous usage, or none; replay_upstream_format.h). Reasoning mode
// reports round(reasoning_share · completion tokens) of each answer as reasoning tokens (chat and
// completions: usage.completion_tokens_details.reasoning_tokens; responses:
// output_tokens_details.reasoning_tokens), still inside completion/output tokens and the cap; the
// text served is the whole answer either way.
//
// Thread-safety: handle() is const and safe from many threads; the stream producers it returns hold
// shared pointers to the store and the clock, so they may outlive nothing but the process.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "http/http.h"
#include "tools/replay_upstream_fault.h"
#include "tools/replay_upstream_format.h"
#include "tools/replay_upstream_store.h"

namespace clearhouse::tools {

// The time base of pacing and delays. Durations are since an arbitrary fixed origin.
class PacingClock {
 public:
  using Duration = std::chrono::nanoseconds;
  virtual ~PacingClock() = default;
  virtual Duration now() = 0;
  // Blocks until now() >= deadline. Returns false at once, without waiting, after interrupt().
  virtual bool wait_until(Duration deadline) = 0;
  // Wakes every waiter and makes all later waits return at once (shutdown: streams finish at full
  // speed, delays end).
  virtual void interrupt() = 0;
};

// std::chrono::steady_clock, waits on a condition variable.
class SteadyPacingClock final : public PacingClock {
 public:
  Duration now() override;
  bool wait_until(Duration deadline) override;
  void interrupt() override;

 private:
  std::mutex mutex_;
  std::condition_variable cond_;
  bool interrupted_ = false;
};

// For tests: a wait returns at once and moves the clock forward to its deadline, so paced streams
// and delays take no real time while their schedule stays observable through now().
class InstantPacingClock final : public PacingClock {
 public:
  Duration now() override;
  bool wait_until(Duration deadline) override;
  void interrupt() override;
  // Number of waits that moved the clock forward.
  [[nodiscard]] std::int64_t waits() const { return waits_.load(); }

 private:
  std::atomic<Duration::rep> now_{0};
  std::atomic<std::int64_t> waits_{0};
  std::atomic<bool> interrupted_{false};
};

struct ReplayRequest;  // replay_upstream_request.h

enum class UnknownPrompt { kLorem, kError };

struct ReplayUpstreamOptions {
  double tokens_per_second = 0;  // stream pacing; 0 = as fast as possible
  UnknownPrompt unknown_prompt = UnknownPrompt::kLorem;
  std::int64_t lorem_tokens = 128;  // length of the answer to an unknown prompt
  FaultSpec fault;                  // for requests that name no fault
  std::string default_model;        // serves unknown model names; "" = first model
  UsageShape usage_shape = UsageShape::kOpenAI;
  double reasoning_share = 0;   // in [0, 1]; 0 = not a reasoning model (no reasoning counts)
  bool reasoning_item = false;  // responses: output starts with a reasoning item
};

class ReplayUpstream {
 public:
  // Throws std::invalid_argument for a negative rate or lorem length, a reasoning share outside
  // [0, 1], or a default_model the store does not have. A null clock means SteadyPacingClock.
  ReplayUpstream(std::shared_ptr<const ReplayStore> store, ReplayUpstreamOptions options,
                 std::shared_ptr<PacingClock> clock = nullptr);

  // Answers one request (any path; unknown paths get 404).
  [[nodiscard]] http::HttpResponse handle(const http::HttpRequest& request) const;

  // Ends pacing and delays at once (interrupts the clock); streams in flight finish at full speed.
  void shutdown();

  [[nodiscard]] const ReplayStore& store() const { return *store_; }
  [[nodiscard]] const ReplayUpstreamOptions& options() const { return options_; }
  [[nodiscard]] const std::string& default_model() const { return default_model_; }

 private:
  struct Selected;
  Selected select(const ReplayRequest& request) const;
  http::HttpResponse answer(const http::HttpRequest& request, ApiKind api) const;
  http::HttpResponse models() const;

  std::shared_ptr<const ReplayStore> store_;
  ReplayUpstreamOptions options_;
  std::shared_ptr<PacingClock> clock_;
  std::string default_model_;
  http::Router router_;
  mutable std::atomic<std::int64_t> next_id_{1};
};

}  // namespace clearhouse::tools
