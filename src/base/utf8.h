// UTF-8 text measured in Unicode code points, the unit the gateway and the replay upstream count
// characters in (prompt sizes, token estimates, cutting answers).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace clearhouse::base {

// Number of code points: bytes that are not UTF-8 continuation bytes (10xxxxxx), so invalid input
// is counted, never rejected.
[[nodiscard]] inline std::int64_t count_code_points(std::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0u) != 0x80u; });
}

}  // namespace clearhouse::base
