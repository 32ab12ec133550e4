// The completion path of the gateway, in named steps (gateway.h; docs/architecture.md):
//   admit          authenticate, parse, predict tau_hat, the pacer's cap or a refusal, the auction
//   reserve        the cap x choices in the ledger (shrunk to what is left, or a refusal)
//   forward_whole  one upstream call, the answer returned whole
//   forward_stream the upstream's SSE relayed as it arrives
// both retried once on the next-best upstream when the call failed before answering (failover.h),
// and both settle through the one rule of charge.h.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

#include "gateway/admission.h"
#include "gateway/charge.h"
#include "gateway/failover.h"
#include "gateway/flight.h"
#include "gateway/gateway_impl.h"
#include "openai/stream_relay.h"

namespace clearhouse::gateway {
namespace {

using nlohmann::json;

double seconds_between(std::int64_t start_ns, std::int64_t end_ns) {
  return static_cast<double>(std::max<std::int64_t>(0, end_ns - start_ns)) * 1e-9;
}

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

// What goes to the upstream, and the headers the client gets back.
struct Forward {
  std::string path;
  std::string body;
  http::HttpHeaders headers;
};

Forward prepare_forward(const Gateway::Impl& g, const Admission& a, const Flight& flight,
                        openai::Endpoint endpoint) {
  const UpstreamConfig& target = g.config.upstreams[flight.upstream()];
  return {std::string(openai::endpoint_path(endpoint)),
          openai::upstream_body(a.request, a.cap, target.model).dump(),
          {{"x-clearhouse-request-id", flight.id()},
           {"x-clearhouse-cap", std::to_string(a.cap)},
           {"x-clearhouse-upstream", target.name}}};
}

http::HttpResponse forward_whole(Gateway::Impl& g, Admission& a, Flight& flight, Forward forward,
                                 openai::Endpoint endpoint, std::int64_t start_ns) {
  http::UpstreamReply reply;
  double upstream_seconds = 0.0;
  for (;;) {  // a second round when the upstream failed before answering (failover.h)
    reply = g.upstreams[flight.upstream()]->post_collect(forward.path, std::move(forward.body));
    g.metrics.observe_upstream_seconds(flight.name(), reply.seconds);
    upstream_seconds += reply.seconds;
    if (!fail_over(g, a, flight, reply)) break;
    forward = prepare_forward(g, a, flight, endpoint);
  }
  const std::string& name = flight.name();
  const bool ok =
      reply.failure == http::UpstreamFailure::kNone && reply.status >= 200 && reply.status < 300;
  std::string text;
  UpstreamCall call{reply.failure, reply.status,
                    openai::completion_usage(reply.body, ok ? &text : nullptr), std::nullopt,
                    flight.tokens()};
  if (ok) call.observed = openai::estimate_tokens_from_text(text);
  flight.close(charge_for(call));

  http::HttpResponse response;
  if (ok) {
    response.status = reply.status;
    response.body = reply.body;
  } else {
    g.metrics.count_upstream_error(name, upstream_error_kind(reply.failure));
    const UpstreamErrorReport report = report_upstream_error(reply);
    response.status = report.status;
    response.body = upstream_error_body(name, reply, report.status, report.code).dump();
  }
  response.headers = std::move(forward.headers);
  g.metrics.observe_added_seconds(
      std::max(0.0, seconds_between(start_ns, g.clock.monotonic_ns()) - upstream_seconds));
  return response;
}

// The stream's producer runs after the handler returned, on the connection's thread; it shares
// the flight, so the request stays in flight (and reserved) until the stream ends, and a producer
// that never runs releases the reservation when the response is dropped.
http::HttpResponse forward_stream(Gateway::Impl& g, Admission a, std::shared_ptr<Flight> flight,
                                  Forward forward, openai::Endpoint endpoint, std::string route,
                                  std::int64_t start_ns) {
  struct StreamState {
    Admission admission;
    std::shared_ptr<Flight> flight;
    Forward forward;
    openai::Endpoint endpoint;
    std::string route;
    std::int64_t start_ns = 0;
  };
  auto state = std::make_shared<StreamState>(
      StreamState{std::move(a),
                  std::move(flight),
                  {std::move(forward.path), std::move(forward.body), {}},
                  endpoint,
                  std::move(route),
                  start_ns});

  http::HttpResponse response;
  response.content_type = std::string(http::kSseContentType);
  response.headers = std::move(forward.headers);
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.stream = [&g, state](http::BodyWriter& out) -> bool {
    g.metrics.stream_opened();
    Flight& stream_flight = *state->flight;
    openai::StreamRelay relay(state->admission.request.include_usage);
    std::string error_bytes;
    bool client_gone = false;
    // What the stream says so far: usage reported, or the chunks that arrived.
    const auto call_so_far = [&](http::UpstreamFailure failure, int status) {
      return UpstreamCall{failure, status, relay.reported_completion_tokens(),
                          relay.tokens_generated(stream_flight.tokens()), stream_flight.tokens()};
    };
    const auto relay_to_client = [&](int status, std::string_view bytes) {
      if (g.aborting) return false;
      if (status < 200 || status >= 300) {
        error_bytes.append(
            bytes.substr(0, 65536 - std::min<std::size_t>(65536, error_bytes.size())));
        return true;
      }
      const std::string relayed = relay.feed(bytes);
      if (relay.done()) {
        // Settled before the client sees [DONE]: a client holding a complete stream has been
        // charged exactly the usage it was told, even if the gateway dies right after.
        stream_flight.close(charge_for(call_so_far(http::UpstreamFailure::kNone, status)));
      }
      if (!relayed.empty() && !out.write(relayed)) {
        client_gone = true;
        return false;
      }
      return true;
    };
    http::UpstreamReply reply;
    for (;;) {  // a second round when the upstream failed before answering (failover.h)
      reply = g.upstreams[stream_flight.upstream()]->post(
          state->forward.path, std::move(state->forward.body), relay_to_client);
      g.metrics.observe_upstream_seconds(stream_flight.name(), reply.seconds);
      if (!fail_over(g, state->admission, stream_flight, reply)) break;
      state->forward.body =
          prepare_forward(g, state->admission, stream_flight, state->endpoint).body;
    }
    const std::string& name = stream_flight.name();
    const bool error_answer = reply.failure == http::UpstreamFailure::kNone &&
                              (reply.status < 200 || reply.status >= 300);
    UpstreamCall call = call_so_far(reply.failure, reply.status);
    if (error_answer) call.reported = openai::completion_usage(error_bytes, nullptr);
    stream_flight.close(charge_for(call));
    const bool complete =
        reply.failure == http::UpstreamFailure::kNone && !error_answer && relay.done();
    if (!complete && !client_gone && !g.aborting) {
      g.metrics.count_upstream_error(name, upstream_error_kind(reply.failure));
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
    g.metrics.stream_closed();
    g.metrics.observe_request_seconds(state->route,
                                      seconds_between(state->start_ns, g.clock.monotonic_ns()));
    return complete;
  };
  return response;
}

}  // namespace

http::HttpResponse Gateway::Impl::completion(const http::HttpRequest& request,
                                             openai::Endpoint endpoint, std::string_view route) {
  const std::int64_t start_ns = clock.monotonic_ns();
  auto admission = admit(*this, request, endpoint);
  if (auto* refused = std::get_if<http::HttpResponse>(&admission)) return std::move(*refused);
  Admission& a = std::get<Admission>(admission);
  auto flight = std::make_shared<Flight>(*this);
  if (auto refused = reserve(*this, a, *flight)) return std::move(*refused);
  Forward forward = prepare_forward(*this, a, *flight, endpoint);
  if (!a.request.stream) {
    return forward_whole(*this, a, *flight, std::move(forward), endpoint, start_ns);
  }
  return forward_stream(*this, std::move(a), std::move(flight), std::move(forward), endpoint,
                        std::string(route), start_ns);
}

}  // namespace clearhouse::gateway
