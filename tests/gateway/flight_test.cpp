// Flight (gateway/flight.h) when the ledger refuses to close a reservation: nothing escapes the
// request; the Flight charges the whole reservation instead, and when the ledger refuses that too
// the reservation stays open, counted in clearhouse_open_reservations and in
// clearhouse_ledger_close_failures_total, never hidden behind a gauge that says 0.
#include "gateway/flight.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "gateway/gateway_impl.h"
#include "gateway_test_util.h"

namespace clearhouse::gateway::testing {
namespace {

constexpr std::int64_t kReserved = 100;

struct FlightRig {
  explicit FlightRig(double price_per_mtok = 1.0) : clock(kClockStartMs) {
    GatewayConfig config = GatewayRig::default_config(
        unused_port(), clearhouse::testing::scratch_dir("flight") / "ledger.db");
    config.upstreams[0].price_per_mtok = price_per_mtok;
    ledger.emplace(ledger::Ledger::open(config.ledger_path, clock));
    impl.emplace(config, *ledger, clock, std::nullopt);
  }

  // A Flight holding a reservation of kReserved tokens made in the ledger as the gateway makes it.
  std::unique_ptr<Flight> reserved_flight(const std::string& id) {
    EXPECT_EQ(ledger->reserve(id, "alice", kUpstreamName, kReserved).status,
              ledger::ReserveStatus::kReserved);
    auto flight = std::make_unique<Flight>(*impl);
    flight->reserved(id, 0, impl->auction.pick(kReserved), kReserved, kReserved);
    return flight;
  }

  [[nodiscard]] double metric(const std::string& name) const {
    return metric_value(impl->metrics_text(), name).value_or(-1);
  }

  base::ManualClock clock;
  std::optional<ledger::Ledger> ledger;
  std::optional<Gateway::Impl> impl;
};

TEST(Flight, ALedgerRefusalChargesTheWholeReservationInstead) {
  FlightRig rig;
  auto flight = rig.reserved_flight("r1");
  EXPECT_EQ(rig.impl->open_reservations.load(), 1);
  // More than the ledger takes in one call (kMaxLedgerTokens): it throws std::invalid_argument.
  EXPECT_NO_THROW(flight->settle(ledger::kMaxLedgerTokens + 1));
  const auto record = rig.ledger->find("r1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->state, ledger::RequestState::kSettled);
  EXPECT_EQ(record->used_tokens, kReserved);
  EXPECT_EQ(rig.impl->open_reservations.load(), 0);
  EXPECT_EQ(rig.metric("clearhouse_open_reservations"), 0);
  EXPECT_EQ(rig.metric("clearhouse_ledger_close_failures_total"), 0);
  EXPECT_EQ(rig.metric("clearhouse_tokens_used_total"), kReserved);
  flight.reset();  // closed: the destructor leaves the ledger alone
  EXPECT_EQ(rig.ledger->find("r1")->used_tokens, kReserved);
}

TEST(Flight, ALedgerRefusingEvenTheWholeReservationLeavesItOpenAndCounted) {
  // A price so high that every payment is beyond what the ledger records (1e15 USD).
  FlightRig rig(/*price_per_mtok=*/1e30);
  auto flight = rig.reserved_flight("r2");
  EXPECT_NO_THROW(flight->settle(10));
  EXPECT_EQ(rig.ledger->find("r2")->state, ledger::RequestState::kOpen);
  EXPECT_EQ(rig.impl->open_reservations.load(), 1);
  EXPECT_EQ(rig.metric("clearhouse_open_reservations"), 1);
  EXPECT_EQ(rig.metric("clearhouse_ledger_close_failures_total"), 1);
  EXPECT_NO_THROW(flight->settle(10));  // closed once: no second attempt, no second count
  EXPECT_EQ(rig.metric("clearhouse_ledger_close_failures_total"), 1);
  flight.reset();
  EXPECT_EQ(rig.impl->open_reservations.load(), 1);
  EXPECT_EQ(rig.impl->in_flight.load(), 0);
}

TEST(Flight, AProtocolErrorIsCountedAgainstItsUpstream) {
  FlightRig rig;
  auto flight = rig.reserved_flight("r3");
  flight->close(Charge{.tokens = kReserved, .protocol_error = "completion_tokens is negative"});
  EXPECT_EQ(rig.ledger->find("r3")->used_tokens, kReserved);
  EXPECT_EQ(metric_value(rig.impl->metrics_text(), "clearhouse_upstream_protocol_errors_total",
                         std::string("upstream=\"") + kUpstreamName + "\""),
            1);
  flight->close(Charge{.tokens = 1, .protocol_error = "again"});  // closed: not counted twice
  EXPECT_EQ(metric_value(rig.impl->metrics_text(), "clearhouse_upstream_protocol_errors_total",
                         std::string("upstream=\"") + kUpstreamName + "\""),
            1);
}

}  // namespace
}  // namespace clearhouse::gateway::testing
