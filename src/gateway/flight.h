// Flight: one admitted request of the gateway, from admission until it is closed and gone.
// Counted in flight (Gateway::Impl::enter/leave) for its whole life and, once reserved, closed in
// the ledger exactly once: whoever ends the request calls settle(), close() or release(); a Flight
// destroyed without either (a stream whose producer never ran) releases its reservation.
//
// Closing never throws what the ledger throws (a refused journal write, a value out of its range):
// when the ledger refuses the close, the Flight settles the whole reservation instead (the safe
// side); when it refuses that too, the reservation stays open in the ledger (the next start
// reconciles it, counted in full), and the Flight logs it, counts it
// (clearhouse_ledger_close_failures_total) and keeps counting it in open_reservations, so the
// gauge says what the ledger holds. A Charge carrying an upstream's protocol error (charge.h) is
// logged (one stderr line: request id, upstream, what it did) and counted
// (clearhouse_upstream_protocol_errors_total{upstream}).
//
// Units: tokens; USD for the auction's payment. Thread-safety: one Flight is used by one request at
// a time (its handler, then its stream), never concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/charge.h"
#include "gateway/gateway_impl.h"
#include "gateway/upstream_auction.h"

namespace clearhouse::gateway {

class Flight {
 public:
  explicit Flight(Gateway::Impl& g);
  ~Flight();
  Flight(const Flight&) = delete;
  Flight& operator=(const Flight&) = delete;

  // Records the reservation `id` for `upstream`. Again after the reservation was closed when the
  // request fails over to another upstream (failover.h): the flight then stands for the new one.
  void reserved(std::string id, std::size_t upstream, AuctionPick pick, std::int64_t cap,
                std::int64_t tokens);
  // used: tokens the upstream generated (may exceed the reservation only if it ignored the cap);
  // reasoning: how many of them were reasoning (recorded apart, 0 <= reasoning <= used).
  void settle(std::int64_t used, std::int64_t reasoning = 0);
  // Settles or releases, as the charge says; logs and counts its protocol error, if any.
  void close(const Charge& charge);
  void release();

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] std::int64_t tokens() const { return tokens_; }
  [[nodiscard]] std::int64_t cap() const { return cap_; }
  [[nodiscard]] std::size_t upstream() const { return upstream_; }
  [[nodiscard]] const std::string& name() const;

 private:
  // Closes the reservation in the ledger (settles `used`, or releases), falling back to settling
  // the whole reservation; false when the ledger refused both (the reservation is still open).
  bool close_in_ledger(bool release, std::int64_t used, std::int64_t reasoning);
  void settle_in_ledger(std::int64_t used, std::int64_t reasoning);
  void finish(bool release, std::int64_t used, std::int64_t reasoning);

  Gateway::Impl& g_;
  std::string id_;
  std::size_t upstream_ = 0;
  AuctionPick pick_;
  std::int64_t cap_ = 0;
  std::int64_t tokens_ = 0;
  bool reserved_ = false;
  bool closed_ = false;
};

}  // namespace clearhouse::gateway
