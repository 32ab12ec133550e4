#include "tools/replay_upstream_fault.h"

#include <charconv>
#include <vector>

#include "tools/replay_upstream_store.h"

namespace clearhouse::tools {
namespace {

std::int64_t parse_count(std::string_view item, std::string_view value, std::int64_t max) {
  std::int64_t n = -1;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < 0 || n > max) {
    throw std::invalid_argument("fault '" + std::string(item) +
                                "': expected an integer from 0 to " + std::to_string(max));
  }
  return n;
}

}  // namespace

FaultSpec parse_fault_spec(std::string_view spec) {
  FaultSpec fault;
  while (!spec.empty()) {
    const auto sep = spec.find_first_of(",;|");
    const std::string_view item = trim(spec.substr(0, sep));
    spec = sep == std::string_view::npos ? std::string_view{} : spec.substr(sep + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string_view name = trim(item.substr(0, eq));
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : trim(item.substr(eq + 1));
    if (name == "no-usage" && eq == std::string_view::npos) {
      fault.no_usage = true;
    } else if (name == "status" && eq != std::string_view::npos) {
      const auto code = parse_count(item, value, 599);
      if (code < 400) {
        throw std::invalid_argument("fault '" + std::string(item) +
                                    "': status must be from 400 to 599");
      }
      fault.status = static_cast<int>(code);
    } else if (name == "delay-ms" && eq != std::string_view::npos) {
      fault.delay = std::chrono::milliseconds(parse_count(item, value, 3'600'000));
    } else if (name == "close-after" && eq != std::string_view::npos) {
      fault.close_after = parse_count(item, value, 1'000'000'000);
    } else {
      throw std::invalid_argument("unknown fault '" + std::string(item) +
                                  "' (expected status=CODE, delay-ms=D, close-after=N or "
                                  "no-usage)");
    }
  }
  return fault;
}

std::string to_string(const FaultSpec& fault) {
  std::vector<std::string> items;
  if (fault.delay.count() > 0) items.push_back("delay-ms=" + std::to_string(fault.delay.count()));
  if (fault.status) items.push_back("status=" + std::to_string(*fault.status));
  if (fault.close_after) items.push_back("close-after=" + std::to_string(*fault.close_after));
  if (fault.no_usage) items.emplace_back("no-usage");
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) text += ',';
    text += item;
  }
  return text;
}

}  // namespace clearhouse::tools
