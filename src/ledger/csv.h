// CSV export of the ledger: one row per request in the order they were reserved, with a header:
//
//   request_id,key_id,upstream,state,reserved_tokens,used_tokens,payment_usd,window_start_ms,
//   reserved_at_ms,closed_at_ms
//
// Tokens are whole completion tokens, payment_usd is USD (shortest round-trip decimal), times are
// milliseconds since the Unix epoch. used_tokens and closed_at_ms are empty while a request is
// open. Fields holding a comma, quote or line break are quoted RFC 4180-style.
//
// Thread-safety: as Ledger (reads one snapshot under the ledger's lock).
#pragma once

#include <string>
#include <string_view>

#include "ledger/ledger.h"

namespace clearhouse::ledger {

[[nodiscard]] std::string csv_field(std::string_view value);
[[nodiscard]] std::string ledger_csv_header();
[[nodiscard]] std::string ledger_csv_row(const RequestRecord& record);
[[nodiscard]] std::string ledger_csv(const Ledger& ledger);

}  // namespace clearhouse::ledger
