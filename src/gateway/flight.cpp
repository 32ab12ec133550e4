#include "gateway/flight.h"

#include <cassert>
#include <cstdio>
#include <exception>
#include <utility>

namespace clearhouse::gateway {

Flight::Flight(Gateway::Impl& g) : g_(g) {
  g_.enter();
}

Flight::~Flight() {
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

void Flight::reserved(std::string id, std::size_t upstream, AuctionPick pick, std::int64_t cap,
                      std::int64_t tokens) {
  assert((!reserved_ || closed_) && "one open reservation per flight");
  id_ = std::move(id);
  upstream_ = upstream;
  pick_ = pick;
  cap_ = cap;
  tokens_ = tokens;
  reserved_ = true;
  closed_ = false;
  g_.open_reservations.fetch_add(1);
  g_.metrics.add_tokens_reserved(tokens);
}

void Flight::settle(std::int64_t used) {
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

void Flight::close(const Charge& charge) {
  if (charge.release) {
    release();
  } else {
    settle(charge.tokens);
  }
}

void Flight::release() {
  if (closed_) return;
  closed_ = true;
  g_.open_reservations.fetch_sub(1);
  const ledger::CloseResult r = g_.ledger.release(id_);
  g_.metrics.add_tokens_released(r.released_tokens);
}

const std::string& Flight::name() const {
  return g_.config.upstreams[upstream_].name;
}

}  // namespace clearhouse::gateway
