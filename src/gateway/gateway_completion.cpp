// The completion path of the gateway: decide, reserve, forward, relay, settle (gateway.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "gateway/gateway_impl.h"
#include "gateway/refusal.h"
#include "openai/stream_relay.h"

namespace clearhouse::gateway {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

refusal::ExhaustedBudget exhausted(const Gateway::Impl& g, refusal::BudgetScope scope,
                                   std::int64_t now_ms, std::optional<std::int64_t> window_end_ms) {
  return {scope, now_ms, window_end_ms, g.open_reservations.load() > 0, g.config.window_seconds};
}

// One admitted request: counted in flight from admission until it is closed and gone, and, once
// reserved, closed in the ledger exactly once. Whoever ends the request calls settle() or release();
// a Flight destroyed without either (a stream whose producer never ran) releases its reservation.
class Flight {
 public:
  explicit Flight(Gateway::Impl& g) : g_(g) { g_.enter(); }
  ~Flight() {
    if (reserved_ && !closed_) {
      try {
        release();
      } catch (const std::exception& e) {
        // Nowhere to report it from a destructor: the reservation stays open, and the next start
        // reconciles it (counted in full: the safe side). The ledger's metrics show the failure.
        std::fprintf(stderr, "gateway: request %s: could not release its reservation: %s\n",
                     id_.c_str(), e.what());
      }
    }
    g_.leave();
  }
  Flight(const Flight&) = delete;
  Flight& operator=(const Flight&) = delete;

  void reserved(std::string id, std::size_t upstream, AuctionPick pick, std::int64_t cap,
                std::int64_t tokens) {
    id_ = std::move(id);
    upstream_ = upstream;
    pick_ = pick;
    cap_ = cap;
    tokens_ = tokens;
    reserved_ = true;
    g_.open_reservations.fetch_add(1);
    g_.metrics.add_tokens_reserved(tokens);
  }

  // used: tokens the upstream generated (may exceed the reservation only if it ignored the cap).
  void settle(std::int64_t used) {
    if (closed_) return;
    closed_ = true;
    g_.open_reservations.fetch_sub(1);
    const double usd = g_.auction.payment_usd(pick_, cap_, used);
    const ledger::CloseResult r = g_.ledger.settle(id_, used, usd);
    g_.metrics.add_tokens_used(r.used_tokens);
    g_.metrics.add_tokens_released(r.released_tokens);
    g_.metrics.add_payment_usd(name(), usd);
    g_.pacer.record_usage(tokens_, r.used_tokens);
  }

  void release() {
    if (closed_) return;
    closed_ = true;
    g_.open_reservations.fetch_sub(1);
    const ledger::CloseResult r = g_.ledger.release(id_);
    g_.metrics.add_tokens_released(r.released_tokens);
  }

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] std::int64_t tokens() const { return tokens_; }
  [[nodiscard]] std::int64_t cap() const { return cap_; }
  [[nodiscard]] std::size_t upstream() const { return upstream_; }
  [[nodiscard]] const std::string& name() const { return g_.config.upstreams[upstream_].name; }

 private:
  Gateway::Impl& g_;
  std::string id_;
  std::size_t upstream_ = 0;
  AuctionPick pick_;
  std::int64_t cap_ = 0;
  std::int64_t tokens_ = 0;
  bool reserved_ = false;
  bool closed_ = false;
};

// The OpenAI error body a client gets for an upstream that failed or answered with an error.
json upstream_error_body(std::string_view upstream, const http::UpstreamReply& reply, int status,
                         std::string_view code) {
  std::string message;
  if (reply.failure != http::UpstreamFailure::kNone) {
    message = fmt::format("upstream '{}': {}", upstream, reply.message);
  } else {
    message = fmt::format("upstream '{}' answered HTTP {}", upstream, reply.status);
    const json body = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_object() && body.contains("error") && body["error"].is_object() &&
        body["error"].contains("message") && body["error"]["message"].is_string()) {
      message += ": " + body["error"]["message"].get<std::string>();
    }
  }
  return http::error_body(status, message, {}, {}, code);
}

std::string_view failure_kind(http::UpstreamFailure failure) {
  switch (failure) {
    case http::UpstreamFailure::kConnect: return "connect";
    case http::UpstreamFailure::kTimeout: return "timeout";
    case http::UpstreamFailure::kClosed: return "protocol";
    default: return "status";
  }
}

// How an upstream's failure or error answer reaches the client: the status and the OpenAI error
// code, for a whole response and for a stream's error event alike.
struct UpstreamErrorReport {
  int status = 502;
  std::string_view code = "upstream_error";
};

UpstreamErrorReport report_upstream_error(const http::UpstreamReply& reply) {
  // A 4xx other than 429 is about the request (context too long, a bad field): passed on as is.
  if (reply.failure == http::UpstreamFailure::kNone && reply.status >= 400 && reply.status < 500 &&
      reply.status != 429) {
    return {reply.status, "upstream_error"};
  }
  if (reply.failure == http::UpstreamFailure::kTimeout) return {504, "upstream_timeout"};
  if (reply.failure == http::UpstreamFailure::kConnect) return {502, "upstream_unavailable"};
  return {};
}

// What a failed or erroring upstream call used, when no usage was reported: nothing when it never
// connected or refused the request; the whole reservation when it may have generated (a timeout or a
// broken connection with nothing counted), since spend that may have happened is never forgotten.
std::int64_t tokens_without_usage(const http::UpstreamReply& reply, std::int64_t reserved) {
  if (reply.failure == http::UpstreamFailure::kConnect) return 0;
  if (reply.failure == http::UpstreamFailure::kNone) return 0;
  return reserved;
}

}  // namespace

http::HttpResponse Gateway::Impl::completion(const http::HttpRequest& request, openai::Endpoint endpoint) {
  const auto start = SteadyClock::now();
  if (draining) {
    throw http::HttpError(503, "the gateway is shutting down; retry on another instance", {}, {},
                    "shutting_down");
  }
  const std::string key_id = authenticate(request);
  openai::CompletionRequest req = openai::parse_completion_request(request.body, endpoint, config.limits.max_json_depth);
  const std::string_view dataset_header = request.header("x-clearhouse-dataset");
  const std::string dataset = dataset_header.empty() ? req.dataset : std::string(dataset_header);
  const double tau_hat = predictor ? predictor->predict(req.prompt, dataset) : config.pacer.default_tau;

  const std::int64_t now_ms = clock.now_ms();
  const BudgetView view = budget_view.get(now_ms);
  const PacerDecision decision = pacer.decide(tau_hat, now_ms, view);
  std::int64_t cap = decision.cap;
  const std::int64_t generations = req.generations();
  AuctionPick pick = auction.pick(std::max<std::int64_t>(cap, 1));
  if (view.remaining_tokens < config.pacer.min_tokens * generations) {
    metrics.count_budget_rejection();
    return refusal::budget_exhausted(
        exhausted(*this, refusal::BudgetScope::kGlobal, now_ms, view.window_end_ms));
  }
  if (!decision.funded || !pick.sold) {
    if (config.on_abandon == AbandonAction::kReject) {
      metrics.count_abandoned("reject");
      return refusal::query_abandoned(
          {.reason = decision.abandonment,
           .no_upstream = decision.funded && !pick.sold,
           .lambda = decision.lambda,
           .tau_hat = tau_hat,
           .cap_at_price = decision.cap_at_price,
           .largest_funded_tau = pacer.largest_funded_tau(decision.lambda, decision.beta),
           .remaining_tokens = decision.remaining_tokens,
           .min_tokens = config.pacer.min_tokens,
           .degrade_tokens = config.degrade_tokens});
    }
    metrics.count_abandoned("degrade");
    cap = config.degrade_tokens;
    pick = auction.pick(cap);
  }
  if (const auto client_cap = req.client_cap()) cap = std::min(cap, *client_cap);

  const auto flight = std::make_shared<Flight>(*this);
  std::string id = next_request_id();
  std::size_t upstream = pick.winner;
  ledger::ReserveResult reserve = ledger.reserve(id, key_id, config.upstreams[upstream].name, cap * generations);
  if (reserve.status == ledger::ReserveStatus::kOverGlobalBudget ||
      reserve.status == ledger::ReserveStatus::kOverKeyBudget) {
    // Racing requests took the tokens since the pacer looked, or the key has less left than the
    // cap: fit what is left, if it is worth sending.
    const auto remaining = reserve.status == ledger::ReserveStatus::kOverGlobalBudget ? reserve.global_remaining
                                                                             : reserve.key_remaining;
    const std::int64_t fit = remaining.value_or(0) / generations;
    if (fit >= config.pacer.min_tokens && fit < cap) {
      cap = fit;
      reserve = ledger.reserve(id, key_id, config.upstreams[upstream].name, cap * generations);
    }
  }
  budget_view.observe(reserve, now_ms);
  switch (reserve.status) {
    case ledger::ReserveStatus::kReserved: break;
    case ledger::ReserveStatus::kOverGlobalBudget:
      metrics.count_budget_rejection();
      return refusal::budget_exhausted(
          exhausted(*this, refusal::BudgetScope::kGlobal, now_ms, reserve.window_end_ms));
    case ledger::ReserveStatus::kOverKeyBudget:
      metrics.count_budget_rejection();
      return refusal::budget_exhausted(
          exhausted(*this, refusal::BudgetScope::kKey, now_ms, reserve.window_end_ms));
    case ledger::ReserveStatus::kDuplicateId:
      throw http::HttpError(500, "request id collision in the ledger; retry");
  }
  flight->reserved(std::move(id), upstream, pick, cap, cap * generations);

  http::UpstreamClient& client = *upstreams[upstream];
  const UpstreamConfig& target = config.upstreams[upstream];
  std::string body = openai::upstream_body(req, cap, target.model).dump();
  http::HttpHeaders headers = {{"x-clearhouse-request-id", flight->id()},
                         {"x-clearhouse-cap", std::to_string(cap)},
                         {"x-clearhouse-upstream", target.name}};

  if (!req.stream) {
    const http::UpstreamReply reply = client.post_collect(openai::endpoint_path(endpoint), std::move(body));
    metrics.observe_upstream_seconds(target.name, reply.seconds);
    http::HttpResponse response;
    const bool ok = reply.failure == http::UpstreamFailure::kNone && reply.status >= 200 && reply.status < 300;
    if (ok) {
      std::string text;
      const auto reported = openai::completion_usage(reply.body, &text);
      flight->settle(reported.value_or(std::min(flight->tokens(), openai::estimate_tokens_from_text(text))));
      response.status = reply.status;
      response.body = reply.body;
    } else {
      metrics.count_upstream_error(target.name, failure_kind(reply.failure));
      const auto reported = openai::completion_usage(reply.body, nullptr);
      if (reply.failure == http::UpstreamFailure::kConnect) {
        flight->release();
      } else {
        flight->settle(reported.value_or(tokens_without_usage(reply, flight->tokens())));
      }
      const UpstreamErrorReport report = report_upstream_error(reply);
      response.status = report.status;
      response.body = upstream_error_body(target.name, reply, report.status, report.code).dump();
    }
    response.headers = std::move(headers);
    metrics.observe_added_seconds(std::max(0.0, seconds_since(start) - reply.seconds));
    return response;
  }

  // Streaming: the producer runs after this handler returns, on the connection's thread; it shares
  // the flight, so the request stays in flight (and reserved) until the stream ends, and a producer
  // that never runs releases the reservation when the response is dropped.
  struct StreamState {
    std::shared_ptr<Flight> flight;
    std::string body;
    bool client_wants_usage = false;
    openai::Endpoint endpoint = openai::Endpoint::kChat;
    SteadyClock::time_point start;
  };
  auto state = std::make_shared<StreamState>(
      StreamState{flight, std::move(body), req.include_usage, endpoint, start});

  http::HttpResponse response;
  response.content_type = std::string(http::kSseContentType);
  response.headers = std::move(headers);
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.stream = [this, state, &client](http::BodyWriter& out) -> bool {
    metrics.stream_opened();
    const std::string& name = state->flight->name();
    openai::StreamRelay relay(state->client_wants_usage);
    const std::int64_t reserved = state->flight->tokens();
    // The usage the upstream reported; without it, the chunks that arrived (a cut stream generated
    // about that many tokens).
    const auto usage_so_far = [&] {
      return relay.reported_completion_tokens().value_or(relay.tokens_generated(reserved));
    };
    std::string error_bytes;
    bool client_gone = false;
    const http::UpstreamReply reply = client.post(
        openai::endpoint_path(state->endpoint), std::move(state->body),
        [&](int status, std::string_view bytes) {
          if (aborting) return false;
          if (status < 200 || status >= 300) {
            error_bytes.append(bytes.substr(0, 65536 - std::min<std::size_t>(65536, error_bytes.size())));
            return true;
          }
          const std::string forward = relay.feed(bytes);
          if (relay.done()) {
            // Settled before the client sees [DONE]: a client holding a complete stream has been
            // charged exactly the usage it was told, even if the gateway dies right after.
            state->flight->settle(usage_so_far());
          }
          if (!forward.empty() && !out.write(forward)) {
            client_gone = true;
            return false;
          }
          return true;
        });
    metrics.observe_upstream_seconds(name, reply.seconds);
    bool complete = false;
    if (reply.failure == http::UpstreamFailure::kConnect) {
      state->flight->release();
    } else if (reply.status == 0 && (reply.failure == http::UpstreamFailure::kTimeout ||
                                     reply.failure == http::UpstreamFailure::kClosed)) {
      // Sent, then no response head at all: nothing tells what was generated, so the whole
      // reservation counts, as for a non-streamed call (an absent chunk is no proof of no token).
      state->flight->settle(reserved);
    } else if (reply.failure == http::UpstreamFailure::kNone && (reply.status < 200 || reply.status >= 300)) {
      state->flight->settle(openai::completion_usage(error_bytes, nullptr).value_or(0));
    } else {
      state->flight->settle(usage_so_far());
      complete = reply.failure == http::UpstreamFailure::kNone && relay.done();
    }
    if (!complete && !client_gone && !aborting) {
      metrics.count_upstream_error(name, failure_kind(reply.failure));
      http::UpstreamReply described = reply;
      described.body = error_bytes;
      const UpstreamErrorReport report = report_upstream_error(reply);
      if (reply.failure == http::UpstreamFailure::kNone && !relay.done() && reply.status == 200) {
        described.failure = http::UpstreamFailure::kClosed;
        described.message = "the stream ended without [DONE]";
      }
      (void)out.write(
          http::sse_data(upstream_error_body(name, described, report.status, report.code).dump()));
    }
    metrics.stream_closed();
    metrics.observe_request_seconds(state->endpoint == openai::Endpoint::kChat ? "chat_completions" : "completions",
                                    seconds_since(state->start));
    return complete;
  };
  return response;
}

}  // namespace clearhouse::gateway
