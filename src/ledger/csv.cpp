#include "ledger/csv.h"

#include <charconv>
#include <system_error>

namespace clearhouse::ledger {

namespace {

std::string shortest(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) return "nan";
  return std::string(buffer, end);
}

std::string optional_number(const std::optional<std::int64_t>& value) {
  return value ? std::to_string(*value) : std::string();
}

}  // namespace

std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string ledger_csv_header() {
  return "request_id,key_id,upstream,state,reserved_tokens,used_tokens,payment_usd,"
         "window_start_ms,reserved_at_ms,closed_at_ms,reasoning_tokens\n";
}

std::string ledger_csv_row(const RequestRecord& r) {
  std::string row;
  row += csv_field(r.request_id) + ',';
  row += csv_field(r.key_id) + ',';
  row += csv_field(r.upstream) + ',';
  row += std::string(to_string(r.state)) + ',';
  row += std::to_string(r.reserved_tokens) + ',';
  row += optional_number(r.used_tokens) + ',';
  row += shortest(r.payment_usd) + ',';
  row += std::to_string(r.window_start_ms) + ',';
  row += std::to_string(r.reserved_at_ms) + ',';
  row += optional_number(r.closed_at_ms) + ',';
  row += std::to_string(r.reasoning_tokens) + '\n';
  return row;
}

std::string ledger_csv(const Ledger& ledger) {
  std::string out = ledger_csv_header();
  ledger.for_each_request([&](const RequestRecord& r) { out += ledger_csv_row(r); });
  return out;
}

}  // namespace clearhouse::ledger
