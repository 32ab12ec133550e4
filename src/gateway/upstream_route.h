// UpstreamRoute: the upstreams one request may be served by, the one it is on, and its one retry.
//
// Made at admission from the upstreams serving the request's model (model_routes.h). choose() runs
// the auction (upstream_auction.h) among those not tried yet whose circuit lets a call through
// (upstream_health.h), and claims the winner's breaker: for a half-open upstream the request is its
// probe. finished() records how the call went in the breaker. A call that failed before its
// response head (refused, timed out or closed before answering: nothing of it reached the client)
// may be retried once: choose() again gives the next best, which is the first call's runner-up
// whenever that one can still be called.
//
//   failure (opens the circuit after failure_threshold in a row): no connection, any timeout, the
//            connection closed before the response head
//   success: a response head arrived (an error status too: the upstream is up; a stream cut after
//            its head is the upstream's protocol error, not its absence)
//   neutral: the caller stopped before a head, or the gateway itself failed (out of descriptors)
//
// Thread-safety: one request's route, used by one thread at a time (its handler, then its stream);
// the health it claims in is shared and thread-safe.
//
// Example:
//   UpstreamRoute route(health, *routes.find(request.model));
//   std::optional<AuctionPick> pick = route.choose(auction, cap);   // nullopt: all down, 503
//   UpstreamReply reply = call(pick->winner);
//   route.finished(reply);
//   if (route.may_retry(reply)) pick = route.choose(auction, cap);  // the next best, or nullopt
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "gateway/upstream_auction.h"
#include "gateway/upstream_health.h"
#include "http/upstream_client.h"

namespace clearhouse::gateway {

// Upstream calls one request may make: the first and one retry.
inline constexpr std::size_t kMaxUpstreamCalls = 2;

// True when the call failed before any response head arrived (so nothing reached the client).
[[nodiscard]] bool failed_before_head(const http::UpstreamReply& reply);
// What the call says of the upstream's health (see above).
[[nodiscard]] CallOutcome call_outcome(const http::UpstreamReply& reply);

class UpstreamRoute {
 public:
  UpstreamRoute() = default;  // routes nothing (for default-constructed admissions)
  // served: config indices of the upstreams serving the request's model, ascending, not empty.
  // health must outlive the route.
  UpstreamRoute(UpstreamHealth& health, std::vector<std::size_t> served);
  ~UpstreamRoute();  // a claim not finished is finished as CallOutcome::kNeutral
  UpstreamRoute(UpstreamRoute&& other) noexcept;
  UpstreamRoute& operator=(UpstreamRoute&& other) noexcept;
  UpstreamRoute(const UpstreamRoute&) = delete;
  UpstreamRoute& operator=(const UpstreamRoute&) = delete;

  // Whether some served upstream not tried yet may be called now (claims nothing).
  [[nodiscard]] bool any_callable() const;
  // Seconds until some served upstream may be called (0 if one may now; while a probe runs, 1).
  [[nodiscard]] double seconds_until_callable() const;
  // The auction at `cap` among the served upstreams not tried yet that may be called now, with the
  // winner claimed; nullopt when there is none. A claim of an earlier choose() that was not
  // finished (the cap changed before any call) is given back first.
  [[nodiscard]] std::optional<AuctionPick> choose(const UpstreamAuction& auction, std::int64_t cap);
  // Records the chosen upstream's call in its breaker; it is not chosen again for this request.
  void finished(const http::UpstreamReply& reply);
  // Whether to try the next best after `reply` (the last call's, finished): it failed before its
  // response head and fewer than kMaxUpstreamCalls calls were made.
  [[nodiscard]] bool may_retry(const http::UpstreamReply& reply) const;

  // Gives back the claim of the last choose() when no call follows (finished as kNeutral).
  void give_back();

  [[nodiscard]] const std::vector<std::size_t>& served() const { return served_; }
  [[nodiscard]] std::size_t calls() const { return tried_.size(); }

 private:
  UpstreamHealth* health_ = nullptr;
  std::vector<std::size_t> served_;
  std::vector<std::size_t> tried_;
  std::size_t chosen_ = 0;
  HealthClaim claim_ = HealthClaim::kRefused;  // kRefused: no claim pending
};

}  // namespace clearhouse::gateway
