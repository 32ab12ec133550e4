// The completion path of the gateway, in named steps (gateway.h; docs/architecture.md):
//   admit          authenticate, parse, predict tau_hat, the pacer's cap or a refusal, the auction
//   reserve        the cap x choices in the ledger (shrunk to what is left, or a refusal)
//   forward_whole  one upstream call, the answer returned whole
//   forward_stream the upstream's SSE relayed as it arrives (relay_stream)
// both retried once on the next-best upstream when the call failed before answering (failover.h),
// and both settle through the one rule of charge.h. The forwards are coroutines on the
// server's event loop: a request waiting for its upstream holds no thread.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "gateway/admission.h"
#include "gateway/charge.h"
#include "gateway/failover.h"
#include "gateway/flight.h"
#include "gateway/gateway_impl.h"
#include "http/coro.h"
#include "openai/responses_request.h"
#include "openai/responses_stream.h"
#include "openai/responses_translate.h"
#include "openai/stream_relay.h"

namespace clearhouse::gateway {
namespace {

using nlohmann::json;

double seconds_between(std::int64_t start_ns, std::int64_t end_ns) {
  return static_cast<double>(std::max<std::int64_t>(0, end_ns - start_ns)) * 1e-9;
}

// True when a Responses request goes to an upstream that serves chat completions only: the
// gateway translates the request, the answer and the stream (openai/responses_translate.h).
bool translated(const Gateway::Impl& g, openai::Endpoint endpoint, std::size_t upstream) {
  return endpoint == openai::Endpoint::kResponses &&
         g.config.upstreams[upstream].api == UpstreamApi::kChat;
}

// The OpenAI error body a client gets for an upstream that failed or answered with an error; the
// upstream's `param` is kept (named as the client's field when the request was translated).
json upstream_error_body(std::string_view upstream, const http::UpstreamReply& reply, int status,
                         std::string_view code, bool translated_request = false) {
  std::string message;
  std::string param;
  if (reply.failure != http::UpstreamFailure::kNone) {
    message = fmt::format("upstream '{}': {}", upstream, reply.message);
  } else {
    message = fmt::format("upstream '{}' answered HTTP {}", upstream, reply.status);
    const json body = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_object() && body.contains("error") && body["error"].is_object() &&
        body["error"].contains("message") && body["error"]["message"].is_string()) {
      message += ": " + body["error"]["message"].get<std::string>();
      const auto p = body["error"].find("param");
      if (p != body["error"].end() && p->is_string()) param = p->get<std::string>();
      if (translated_request) param = openai::responses_param_from_chat(param);
    }
  }
  return http::error_body(status, message, {}, param, code);
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

// The upstream's path and body: a Responses request as the upstream's api needs it (translated
// to chat, or passed through with max_output_tokens), other requests as request.h builds them.
std::pair<std::string_view, json> upstream_request(const Gateway::Impl& g, const Admission& a,
                                                   std::size_t upstream,
                                                   openai::Endpoint endpoint) {
  const UpstreamConfig& target = g.config.upstreams[upstream];
  const openai::UpstreamLengths lengths = target.lengths(g.config.limits.extra_length_fields);
  if (translated(g, endpoint, upstream)) {
    return {openai::endpoint_path(openai::Endpoint::kChat),
            openai::chat_body_from_responses(a.request, a.cap, target.model, lengths)};
  }
  if (endpoint == openai::Endpoint::kResponses) {
    return {openai::endpoint_path(endpoint),
            openai::responses_upstream_body(a.request, a.cap, target.model, lengths)};
  }
  return {openai::endpoint_path(endpoint),
          openai::upstream_body(a.request, a.cap, target.model, lengths)};
}

Forward prepare_forward(const Gateway::Impl& g, const Admission& a, const Flight& flight,
                        openai::Endpoint endpoint) {
  const UpstreamConfig& target = g.config.upstreams[flight.upstream()];
  auto [path, body] = upstream_request(g, a, flight.upstream(), endpoint);
  return {std::string(path),
          body.dump(),
          {{"x-clearhouse-request-id", flight.id()},
           {"x-clearhouse-cap", std::to_string(a.cap)},
           {"x-clearhouse-upstream", target.name}}};
}

http::Task<http::HttpResponse> forward_whole(Gateway::Impl& g, Admission& a,
                                             std::shared_ptr<Flight> flight, Forward forward,
                                             openai::Endpoint endpoint, std::int64_t start_ns) {
  http::UpstreamReply reply;
  double upstream_seconds = 0.0;
  for (;;) {  // a second round when the upstream failed before answering (failover.h)
    reply = co_await g.call_upstream_collect(flight->upstream(), forward.path, forward.body);
    g.metrics.observe_upstream_seconds(flight->name(), reply.seconds);
    upstream_seconds += reply.seconds;
    if (!fail_over(g, a, *flight, reply)) break;
    forward = prepare_forward(g, a, *flight, endpoint);
  }
  const std::string& name = flight->name();
  const bool ok =
      reply.failure == http::UpstreamFailure::kNone && reply.status >= 200 && reply.status < 300;
  const bool translate = translated(g, endpoint, flight->upstream());
  const bool responses_api = endpoint == openai::Endpoint::kResponses && !translate;
  UpstreamCall call{reply.failure, reply.status, {}, std::nullopt, flight->tokens()};
  // Only the usage is read from an answer passed on as bytes; a DOM only when the answer is
  // translated, or its text must be counted for lack of usage.
  call.reported = openai::reported_usage_in(reply.body);
  json parsed;
  if (translate || (ok && call.reported.absent())) {
    parsed = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  }
  if (ok && call.reported.absent()) {
    // No usage: the charge is estimated from the answer's text (charge.h), gathered only then.
    std::string text;
    if (responses_api) {
      text = openai::responses_output_text(parsed);
    } else {
      (void)openai::completion_usage_parsed(parsed, &text);
    }
    call.observed = openai::estimate_tokens_from_text(text);
  }
  const Charge charge = charge_for(call);
  flight->close(charge);

  http::HttpResponse response;
  if (ok) {
    response.status = reply.status;
    // Translated: the client is told the output tokens it was charged.
    response.body = translate ? openai::response_from_chat(parsed, a.request,
                                                           "resp_" + flight->id(), charge.tokens)
                                    .dump()
                              : std::move(reply.body);
  } else {
    g.metrics.count_upstream_error(name, upstream_error_kind(reply.failure));
    const UpstreamErrorReport report = report_upstream_error(reply);
    response.status = report.status;
    response.body = upstream_error_body(name, reply, report.status, report.code, translate).dump();
  }
  response.headers = std::move(forward.headers);
  g.metrics.observe_added_seconds(
      std::max(0.0, seconds_between(start_ns, g.clock.monotonic_ns()) - upstream_seconds));
  co_return response;
}

// What one stream's producer keeps: the flight (so the request stays in flight, and reserved,
// until the stream ends; a producer that never runs releases the reservation when the response
// is dropped), the upstream body, and what the metrics need.
struct StreamState {
  Admission admission;
  std::shared_ptr<Flight> flight;
  Forward forward;
  openai::Endpoint endpoint;
  std::string route;
  std::int64_t start_ns = 0;
};

// The relay of one upstream call's stream, by what the client asked and what the upstream serves:
// chat and completions streams pass through StreamRelay; a Responses stream passes a Responses
// upstream's typed events through, or is made from a chat upstream's chunks
// (openai/responses_stream.h). Built anew for each call (a failover may reach another api).
class StreamRelays {
 public:
  StreamRelays(const Gateway::Impl& g, const StreamState& state, const Flight& flight)
      : relay_(make(g, state, flight)) {}

  std::string feed(std::string_view bytes) {
    return std::visit([&](auto& r) { return r.feed(bytes); }, relay_);
  }
  [[nodiscard]] bool done() const {
    return std::visit([](const auto& r) { return r.done(); }, relay_);
  }
  [[nodiscard]] const openai::ReportedUsage& reported() const {
    return std::visit([](const auto& r) -> const openai::ReportedUsage& { return r.reported(); },
                      relay_);
  }
  [[nodiscard]] std::int64_t content_chunks() const {
    return std::visit([](const auto& r) { return r.content_chunks(); }, relay_);
  }
  [[nodiscard]] std::int64_t tokens_generated(std::int64_t cap) const {
    return std::visit([&](const auto& r) { return r.tokens_generated(cap); }, relay_);
  }
  // The event that tells the client its stream failed.
  [[nodiscard]] std::string error_event(const json& error_body) const {
    return std::visit(
        [&](const auto& r) {
          if constexpr (std::is_same_v<std::decay_t<decltype(r)>, openai::StreamRelay>) {
            return http::sse_data(error_body.dump());
          } else {
            return r.error_event(error_body);
          }
        },
        relay_);
  }
  // What ends a complete stream, for the message of one cut short.
  [[nodiscard]] std::string_view end_name() const {
    return std::holds_alternative<openai::ResponsesStreamRelay>(relay_) ? "response.completed"
                                                                        : "[DONE]";
  }

 private:
  using Relay = std::variant<openai::StreamRelay, openai::ResponsesStreamRelay,
                             openai::ChatToResponsesStream>;
  static Relay make(const Gateway::Impl& g, const StreamState& state, const Flight& flight) {
    const openai::CompletionRequest& request = state.admission.request;
    if (state.endpoint != openai::Endpoint::kResponses)
      return openai::StreamRelay(request.include_usage);
    if (!translated(g, state.endpoint, flight.upstream())) return openai::ResponsesStreamRelay();
    return openai::ChatToResponsesStream(request, "resp_" + flight.id(), flight.tokens());
  }

  Relay relay_;
};

// Relays one upstream stream to the client. A client that leaves mid-stream is not charged less
// than the upstream generated: the rest of the upstream's stream (at most the cap) is read and
// counted without being forwarded, then settled. A shutdown's abort stops reading at once and
// charges the whole reservation (nothing tells what the upstream generates after it).
http::Task<bool> relay_stream(Gateway::Impl& g, StreamState& state, http::AsyncBodyWriter& out) {
  g.metrics.stream_opened();
  Flight& flight = *state.flight;
  StreamRelays relay(g, state, flight);
  std::string error_bytes;
  bool client_gone = false;
  bool aborted = false;
  bool over_cap = false;  // the upstream streamed more chunks than it was allowed tokens
  // What the stream says so far: usage reported, or the chunks that arrived.
  const auto call_so_far = [&](http::UpstreamFailure failure, int status) {
    return UpstreamCall{failure, status, relay.reported(), relay.tokens_generated(flight.tokens()),
                        flight.tokens()};
  };
  const http::AsyncUpstreamSink sink = [&](int status, std::string_view bytes) -> http::Task<bool> {
    if (g.aborting) {
      aborted = true;
      co_return false;
    }
    if (status < 200 || status >= 300) {
      error_bytes.append(bytes.substr(0, 65536 - std::min<std::size_t>(65536, error_bytes.size())));
      co_return true;
    }
    const std::string relayed = relay.feed(bytes);
    if (relay.content_chunks() > flight.tokens()) {
      // The upstream ignored its cap: cut here, close its connection, charge the reservation.
      over_cap = true;
      co_return false;
    }
    if (relay.done()) {
      // Settled before the client sees [DONE]: a client holding a complete stream has been
      // charged exactly the usage it was told, even if the gateway dies right after.
      flight.close(charge_for(call_so_far(http::UpstreamFailure::kNone, status)));
    }
    if (!client_gone && !relayed.empty()) {
      // (co_await kept out of &&: GCC 12 miscompiles it in a short-circuit operand)
      const bool written = co_await out.write(relayed);
      if (!written) {
        client_gone = true;  // read on, forward nothing
        g.metrics.count_client_abort();
      }
    }
    co_return true;
  };
  http::UpstreamReply reply;
  for (;;) {  // a second round when the upstream failed before answering (failover.h)
    reply =
        co_await g.call_upstream(flight.upstream(), state.forward.path, state.forward.body, sink);
    g.metrics.observe_upstream_seconds(flight.name(), reply.seconds);
    if (!fail_over(g, state.admission, flight, reply)) break;
    Forward next = prepare_forward(g, state.admission, flight, state.endpoint);
    state.forward.path = std::move(next.path);
    state.forward.body = std::move(next.body);
    relay = StreamRelays(g, state, flight);
  }
  const std::string& name = flight.name();
  const bool error_answer =
      reply.failure == http::UpstreamFailure::kNone && (reply.status < 200 || reply.status >= 300);
  UpstreamCall call = call_so_far(reply.failure, reply.status);
  const bool translate = translated(g, state.endpoint, flight.upstream());
  if (error_answer) {
    const json error_json = json::parse(error_bytes, nullptr, /*allow_exceptions=*/false);
    call.reported = state.endpoint == openai::Endpoint::kResponses && !translate
                        ? openai::reported_usage(error_json)
                        : openai::completion_usage_parsed(error_json, nullptr);
  }
  if (aborted) call.observed.reset();  // the whole reservation (charge.h)
  if (over_cap) {
    // A protocol error of the upstream: the whole reservation, logged and counted by the Flight.
    call.reported =
        openai::ReportedUsage::implausible_because("it streamed past the cap it was sent");
  }
  flight.close(charge_for(call));
  const bool complete =
      reply.failure == http::UpstreamFailure::kNone && !error_answer && relay.done();
  if (!complete && !client_gone && !aborted) {
    http::UpstreamReply described = reply;
    described.body = error_bytes;
    const UpstreamErrorReport report = report_upstream_error(reply);
    if (over_cap) {
      described.failure = http::UpstreamFailure::kClosed;
      described.message = "it streamed past the cap it was sent; the stream was cut";
    } else if (reply.failure == http::UpstreamFailure::kNone && !relay.done() &&
               reply.status == 200) {
      described.failure = http::UpstreamFailure::kClosed;
      described.message = fmt::format("the stream ended without {}", relay.end_name());
    }
    g.metrics.count_upstream_error(name, upstream_error_kind(described.failure));
    const std::string event = relay.error_event(
        upstream_error_body(name, described, report.status, report.code, translate));
    const bool written = co_await out.write(event);
    client_gone = !written;
  }
  g.metrics.stream_closed();
  g.metrics.observe_request_seconds(state.route,
                                    seconds_between(state.start_ns, g.clock.monotonic_ns()));
  // A stream that failed ends cleanly after its error event, so the client reads why (dropping the
  // connection made clients report a reset instead); only a client that left, or a gateway that
  // is aborting, has its connection dropped.
  co_return !client_gone && !aborted;
}

http::HttpResponse forward_stream(Gateway::Impl& g, Admission a, std::shared_ptr<Flight> flight,
                                  Forward forward, openai::Endpoint endpoint, std::string route,
                                  std::int64_t start_ns) {
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
  response.async_stream = [&g, state](http::AsyncBodyWriter& out) -> http::Task<bool> {
    co_return co_await relay_stream(g, *state, out);
  };
  return response;
}

}  // namespace

http::Task<http::HttpResponse> Gateway::Impl::completion(const http::HttpRequest& request,
                                                         openai::Endpoint endpoint,
                                                         std::string_view route) {
  const std::int64_t start_ns = clock.monotonic_ns();
  auto admission = admit(*this, request, endpoint);
  if (auto* refused = std::get_if<http::HttpResponse>(&admission)) co_return std::move(*refused);
  Admission& a = std::get<Admission>(admission);
  auto flight = std::make_shared<Flight>(*this);
  if (auto refused = reserve(*this, a, *flight)) co_return std::move(*refused);
  Forward forward = prepare_forward(*this, a, *flight, endpoint);
  if (!a.request.stream) {
    co_return co_await forward_whole(*this, a, std::move(flight), std::move(forward), endpoint,
                                     start_ns);
  }
  co_return forward_stream(*this, std::move(a), std::move(flight), std::move(forward), endpoint,
                           std::string(route), start_ns);
}

http::Task<http::UpstreamReply> Gateway::Impl::call_upstream(std::size_t i, std::string_view path,
                                                             std::string_view body,
                                                             const http::AsyncUpstreamSink& sink) {
  if (async_upstreams[i]) co_return co_await async_upstreams[i]->post(path, body, sink);
  // https: the blocking client on a pool thread; each piece is handed back to this loop's sink.
  const auto loop = co_await boost::asio::this_coro::executor;
  co_return co_await blocking.run<http::UpstreamReply>([&] {
    return upstreams[i]->post(path, std::string(body), [&](int status, std::string_view bytes) {
      return http::wait_on_loop(loop, sink(status, bytes));
    });
  });
}

http::Task<http::UpstreamReply> Gateway::Impl::call_upstream_collect(std::size_t i,
                                                                     std::string_view path,
                                                                     std::string_view body) {
  if (async_upstreams[i]) co_return co_await async_upstreams[i]->post_collect(path, body);
  co_return co_await blocking.run<http::UpstreamReply>(
      [&] { return upstreams[i]->post_collect(path, std::string(body)); });
}

}  // namespace clearhouse::gateway
