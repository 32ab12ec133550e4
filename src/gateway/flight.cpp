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
  if (reserved_ && !closed_) release();  // never throws: close_in_ledger catches the ledger's
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

void Flight::settle(std::int64_t used, std::int64_t reasoning) {
  finish(/*release=*/false, used, reasoning);
}

void Flight::close(const Charge& charge) {
  if (!charge.protocol_error.empty() && reserved_ && !closed_) {
    g_.metrics.count_upstream_protocol_error(name());
    std::fprintf(stderr,
                 "gateway: upstream '%s' broke the protocol on request %s: %s; charged its whole "
                 "reservation (%lld tokens)\n",
                 name().c_str(), id_.c_str(), charge.protocol_error.c_str(),
                 static_cast<long long>(tokens_));
  }
  finish(charge.release, charge.tokens, charge.reasoning_tokens);
}

void Flight::release() {
  finish(/*release=*/true, 0, 0);
}

void Flight::finish(bool release, std::int64_t used, std::int64_t reasoning) {
  if (!reserved_ || closed_) return;
  closed_ = true;
  // Counted open while the ledger holds it open: only a close the ledger took ends it.
  if (close_in_ledger(release, used, reasoning)) g_.open_reservations.fetch_sub(1);
}

bool Flight::close_in_ledger(bool release, std::int64_t used, std::int64_t reasoning) {
  try {
    if (release) {
      const ledger::CloseResult r = g_.ledger.release(id_);
      if (r.status == ledger::CloseStatus::kClosed) {
        g_.metrics.add_tokens_released(r.released_tokens);
      }
    } else {
      settle_in_ledger(used, reasoning);
    }
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "gateway: request %s: the ledger refused to %s it (%s); charging its whole "
                 "reservation (%lld tokens) instead\n",
                 id_.c_str(), release ? "release" : "settle", e.what(),
                 static_cast<long long>(tokens_));
  }
  try {
    settle_in_ledger(tokens_, 0);
    return true;
  } catch (const std::exception& e) {
    g_.metrics.count_ledger_close_failure();
    std::fprintf(stderr,
                 "gateway: request %s: the ledger refused its whole reservation too (%s); it stays "
                 "open until the next start reconciles it (counted in full)\n",
                 id_.c_str(), e.what());
  }
  return false;
}

void Flight::settle_in_ledger(std::int64_t used, std::int64_t reasoning) {
  const double usd = g_.auction.payment_usd(pick_, cap_, used);
  const ledger::CloseResult r = g_.ledger.settle(id_, used, usd, reasoning);
  if (r.status != ledger::CloseStatus::kClosed) return;  // closed before: counted then
  g_.metrics.add_tokens_used(r.used_tokens);
  g_.metrics.add_reasoning_tokens(r.reasoning_tokens);
  g_.metrics.add_tokens_released(r.released_tokens);
  g_.metrics.add_payment_usd(name(), usd);
  g_.pacer.record_usage(tokens_, r.used_tokens);
}

const std::string& Flight::name() const {
  return g_.config.upstreams[upstream_].name;
}

}  // namespace clearhouse::gateway
