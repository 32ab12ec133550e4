#include "data/fields.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "base/file.h"
#include "data/data_error.h"

namespace clearhouse::data {
namespace {

[[noreturn]] void fail(const FieldSite& site, const std::string& what, std::string_view text) {
  throw DataError(site.file, site.line, std::string(site.field),
                  what + ": '" + std::string(text.substr(0, 40)) + "'");
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::int64_t parse_count(std::string_view text, const FieldSite& site) {
  const std::string_view t = trim(text);
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || value < 0) {
    fail(site, "not a non-negative integer", text);
  }
  return value;
}

double parse_real(std::string_view text, const FieldSite& site) {
  const std::string_view t = trim(text);
  double value = 0.0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(value)) {
    fail(site, "not a finite number", text);
  }
  return value;
}

bool parse_flag(std::string_view text, const FieldSite& site) {
  const std::string_view t = trim(text);
  if (t == "1" || t == "true") return true;
  if (t == "0" || t == "false") return false;
  fail(site, "not 0/1 or true/false", text);
}

std::string read_whole_file(const std::filesystem::path& path) {
  try {
    return base::read_whole_file(path);
  } catch (const base::FileError& e) {
    throw DataError(path.string(), 0, "", e.reason());
  }
}

}  // namespace clearhouse::data
