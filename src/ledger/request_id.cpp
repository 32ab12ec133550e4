#include "ledger/request_id.h"

#include <algorithm>

namespace clearhouse::ledger {

std::string format_request_id(std::uint64_t high, std::uint64_t low) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kRequestIdHexLength, '0');
  for (std::size_t i = 0; i < 16; ++i) {
    out[15 - i] = kHex[(high >> (4 * i)) & 0xF];
    out[31 - i] = kHex[(low >> (4 * i)) & 0xF];
  }
  return out;
}

std::pair<std::uint64_t, std::uint64_t> request_id_words(std::int64_t now_ms,
                                                         std::uint64_t random_high16,
                                                         std::uint64_t random_low64) {
  constexpr std::int64_t kMaxTime = (std::int64_t{1} << 48) - 1;
  const auto time = static_cast<std::uint64_t>(std::clamp<std::int64_t>(now_ms, 0, kMaxTime));
  return {(time << 16) | (random_high16 & 0xFFFF), random_low64};
}

bool is_request_id(std::string_view id) {
  if (id.size() != kRequestIdHexLength) return false;
  for (const char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace clearhouse::ledger
