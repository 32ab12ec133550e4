// What a request is charged once its upstream call ends: the one rule for every path (a whole
// response or a stream; usage reported, estimated, a timeout, a refused connection, the client
// gone). Pure: the completion path gathers what it saw into an UpstreamCall and applies the Charge.
//
//   refused connection (nothing was sent)        release the reservation
//   usage reported that cannot be true: not a    the whole reservation, as the upstream's protocol
//   whole number >= 0, reported twice with       error (Charge::protocol_error; the Flight logs and
//   different values, or more than the request   counts it): an upstream that lies about usage is
//   could generate (the reservation, cap x       never believed, in either direction
//   choices)
//   usage reported by the upstream               that usage (completion tokens, which include
//                                                reasoning; the reasoning count is passed on to
//                                                be recorded apart, never added)
//   an error answer (4xx/5xx) without usage      0 (the upstream refused the request)
//   sent, then no response head at all          the whole reservation (nothing tells what was
//                                                generated; spend that may have happened is never
//                                                forgotten)
//   a complete answer without usage              the tokens observed (estimated from the text or
//                                                counted in stream chunks), at most the reservation
//   cut after the head (timeout, closed, client  the tokens observed when counted (a stream's
//   gone)                                        chunks); the whole reservation when not (a body
//                                                that never arrived whole)
//
// Units: tokens. Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "http/upstream_client.h"
#include "openai/usage.h"

namespace clearhouse::gateway {

struct UpstreamCall {
  http::UpstreamFailure failure = http::UpstreamFailure::kNone;
  int status = 0;                        // the upstream's HTTP status; 0 = no response head
  openai::ReportedUsage reported = {};   // completion (and reasoning) tokens it reported
  std::optional<std::int64_t> observed;  // tokens counted or estimated from what arrived
  std::int64_t reserved = 0;             // the reservation, tokens
};

struct Charge {
  bool release = false;     // true: release the reservation (nothing was spent)
  std::int64_t tokens = 0;  // else: settle this many tokens
  // Of `tokens`, reasoning: only from a report that is settled as it came (else 0).
  std::int64_t reasoning_tokens = 0;
  // Not empty: the upstream broke the protocol (what it did, for a log line: no bytes of its
  // answer, no secrets); `tokens` is then the whole reservation.
  std::string protocol_error = {};
};

[[nodiscard]] Charge charge_for(const UpstreamCall& call);

}  // namespace clearhouse::gateway
