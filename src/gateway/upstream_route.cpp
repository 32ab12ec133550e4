#include "gateway/upstream_route.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace clearhouse::gateway {

bool failed_before_head(const http::UpstreamReply& reply) {
  using http::UpstreamFailure;
  return reply.status == 0 &&
         (reply.failure == UpstreamFailure::kConnect ||
          reply.failure == UpstreamFailure::kTimeout || reply.failure == UpstreamFailure::kClosed);
}

CallOutcome call_outcome(const http::UpstreamReply& reply) {
  using http::UpstreamFailure;
  if (reply.gateway_side) return CallOutcome::kNeutral;
  switch (reply.failure) {
    case UpstreamFailure::kNone: return CallOutcome::kSuccess;
    case UpstreamFailure::kConnect:
    case UpstreamFailure::kTimeout: return CallOutcome::kFailure;
    case UpstreamFailure::kClosed:
      return reply.status == 0 ? CallOutcome::kFailure : CallOutcome::kSuccess;
    case UpstreamFailure::kCanceled:
      return reply.status == 0 ? CallOutcome::kNeutral : CallOutcome::kSuccess;
  }
  return CallOutcome::kNeutral;
}

UpstreamRoute::UpstreamRoute(UpstreamHealth& health, std::vector<std::size_t> served)
    : health_(&health), served_(std::move(served)) {
  assert(!served_.empty() && std::is_sorted(served_.begin(), served_.end()));
}

UpstreamRoute::~UpstreamRoute() {
  give_back();
}

UpstreamRoute::UpstreamRoute(UpstreamRoute&& other) noexcept
    : health_(other.health_),
      served_(std::move(other.served_)),
      tried_(std::move(other.tried_)),
      chosen_(other.chosen_),
      claim_(std::exchange(other.claim_, HealthClaim::kRefused)) {}

UpstreamRoute& UpstreamRoute::operator=(UpstreamRoute&& other) noexcept {
  if (this != &other) {
    give_back();
    health_ = other.health_;
    served_ = std::move(other.served_);
    tried_ = std::move(other.tried_);
    chosen_ = other.chosen_;
    claim_ = std::exchange(other.claim_, HealthClaim::kRefused);
  }
  return *this;
}

void UpstreamRoute::give_back() {
  if (claim_ == HealthClaim::kRefused) return;
  health_->finish(chosen_, std::exchange(claim_, HealthClaim::kRefused), CallOutcome::kNeutral);
}

bool UpstreamRoute::any_callable() const {
  return std::any_of(served_.begin(), served_.end(), [&](std::size_t k) {
    return std::find(tried_.begin(), tried_.end(), k) == tried_.end() && health_->may_call(k);
  });
}

double UpstreamRoute::seconds_until_callable() const {
  double soonest = -1.0;
  for (const std::size_t k : served_) {
    const HealthSnapshot s = health_->snapshot(k);
    double wait = 0.0;
    if (s.state == CircuitState::kOpen) wait = s.probe_in_seconds;
    if (s.state == CircuitState::kHalfOpen && s.probe_in_flight) wait = 1.0;
    if (soonest < 0.0 || wait < soonest) soonest = wait;
  }
  return std::max(soonest, 0.0);
}

std::optional<AuctionPick> UpstreamRoute::choose(const UpstreamAuction& auction, std::int64_t cap) {
  give_back();
  std::vector<std::size_t> eligible;
  for (const std::size_t k : served_) {
    if (std::find(tried_.begin(), tried_.end(), k) == tried_.end() && health_->may_call(k)) {
      eligible.push_back(k);
    }
  }
  // A racing request may take a half-open upstream's probe between may_call and claim: the auction
  // then runs again without it.
  while (!eligible.empty()) {
    const AuctionPick pick = auction.pick(cap, eligible, served_.size() == 1);
    const HealthClaim claim = health_->claim(pick.winner);
    if (claim != HealthClaim::kRefused) {
      chosen_ = pick.winner;
      claim_ = claim;
      return pick;
    }
    eligible.erase(std::find(eligible.begin(), eligible.end(), pick.winner));
  }
  return std::nullopt;
}

void UpstreamRoute::finished(const http::UpstreamReply& reply) {
  assert(claim_ != HealthClaim::kRefused && "finished() after a choose() that chose");
  health_->finish(chosen_, std::exchange(claim_, HealthClaim::kRefused), call_outcome(reply));
  tried_.push_back(chosen_);
}

bool UpstreamRoute::may_retry(const http::UpstreamReply& reply) const {
  return failed_before_head(reply) && tried_.size() < kMaxUpstreamCalls;
}

}  // namespace clearhouse::gateway
