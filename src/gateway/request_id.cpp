#include "gateway/request_id.h"

namespace clearhouse::gateway {

std::string format_request_id(std::uint64_t high, std::uint64_t low) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kRequestIdHexLength, '0');
  for (std::size_t i = 0; i < 16; ++i) {
    out[15 - i] = kHex[(high >> (4 * i)) & 0xF];
    out[31 - i] = kHex[(low >> (4 * i)) & 0xF];
  }
  return out;
}

bool is_request_id(std::string_view id) {
  if (id.size() != kRequestIdHexLength) return false;
  for (const char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace clearhouse::gateway
