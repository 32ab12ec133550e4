// Helpers shared by the ledger tests: a per-test ledger file in a fresh temporary directory and a
// simulated clock.
#pragma once

#include <filesystem>
#include <string>

#include "ledger/ledger.h"
#include "support/run_binary.h"

namespace clearhouse::ledger::testing {

// Simulated time starts here (2023-11-14T22:13:20Z), well inside any window arithmetic.
inline constexpr std::int64_t kT0 = 1'700'000'000'000;

inline std::string ledger_path(const std::string& name = "ledger.db") {
  return (clearhouse::testing::scratch_dir() / name).string();
}

// Totals of the current window must equal the sums of the open and closed requests charged to it.
inline Totals sum_of_records(const Ledger& ledger) {
  Totals t;
  ledger.for_each_request([&](const RequestRecord& r) {
    ++t.requests;
    if (r.state == RequestState::kOpen) {
      ++t.open_requests;
      t.reserved_tokens += r.reserved_tokens;
    } else {
      t.spent_tokens += r.used_tokens.value_or(0);
    }
    t.payment_usd += r.payment_usd;
  });
  return t;
}

}  // namespace clearhouse::ledger::testing
