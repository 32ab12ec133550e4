// The one exception type subcommands use for expected failures. main() turns it into a one-line
// message on stderr and exit status 2.
#pragma once

#include <stdexcept>
#include <string>

namespace clearhouse::cli {

class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

// Exit statuses of the binary: 0 success, 1 internal failure (a bug), 2 bad input or usage.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitUsage = 2;

}  // namespace clearhouse::cli
