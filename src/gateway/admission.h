// Admission: the first two steps of the completion path (docs/architecture.md). admit()
// authenticates, parses, finds the upstreams serving the requested model, predicts tau_hat and asks
// the pacer and the auction for a cap and an upstream; reserve() books cap x choices in the ledger.
// Each returns the refusal to send instead when the request cannot go on.
//
// Units: tokens. Thread-safety: both may run concurrently for different requests (the pacer, the
// auction and the ledger are thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "gateway/flight.h"
#include "gateway/gateway_impl.h"
#include "gateway/upstream_route.h"
#include "http/http.h"
#include "openai/request.h"

namespace clearhouse::gateway {

// An admitted request: who asks, what, and the cap and upstream the pacer and the auction chose.
struct Admission {
  std::string key_id;
  openai::CompletionRequest request;
  double tau_hat = 0.0;
  std::int64_t now_ms = 0;
  std::int64_t cap = 0;  // tokens per choice, the client's own cap applied
  AuctionPick pick;
  // The upstreams serving request.model, with pick.winner claimed (upstream_route.h); the forward
  // steps record each call in it and fail over along it (failover.h).
  UpstreamRoute route;
};

// Authenticate, parse, route by model, predict, decide the cap: an Admission, or the refusal to
// send. A request without `model` is a 400 (param "model", code missing_required_parameter); a
// model no upstream serves (by model or alias) is a 404 model_not_found; when every upstream
// serving it has an open circuit, a 503 upstream_unavailable with Retry-After (the time to the next
// probe).
std::variant<Admission, http::HttpResponse> admit(Gateway::Impl& g,
                                                  const http::HttpRequest& request,
                                                  openai::Endpoint endpoint);

// Reserves cap x choices for the admitted request in the ledger and records it on the flight;
// racing requests may have taken tokens since the pacer looked, or the key may have less left
// than the cap: the cap then shrinks to what is left, if that is still worth sending. Returns the
// refusal to send when nothing fits.
std::optional<http::HttpResponse> reserve(Gateway::Impl& g, Admission& a, Flight& flight);

}  // namespace clearhouse::gateway
