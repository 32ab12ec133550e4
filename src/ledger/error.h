// The exception the ledger throws for failures of its file: missing, not a ledger, corrupt, a newer
// schema, a full disk, an I/O error. The message names the database file and says what went wrong.
// Budget decisions (over budget, duplicate id, already settled) are not errors: they are statuses
// in the results of Ledger's operations. Misuse (negative tokens, an empty request id) throws
// std::invalid_argument instead: that is a bug in the caller.
#pragma once

#include <stdexcept>
#include <string>

namespace clearhouse::ledger {

class LedgerError : public std::runtime_error {
 public:
  explicit LedgerError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace clearhouse::ledger
