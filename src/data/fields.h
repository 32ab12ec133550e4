// Field parsing helpers shared by the loaders: strict number parsing (std::from_chars, whole field
// must be consumed) that throws DataError naming file, line and field, and a whole-file reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace clearhouse::data {

// Where a field came from, for error messages.
struct FieldSite {
  const std::string& file;
  std::size_t line;
  std::string_view field;
};

// A non-negative integer that fits in int64 ("12", not "12.0", "-3" or "1e3").
std::int64_t parse_count(std::string_view text, const FieldSite& site);
// A finite decimal number ("0.25", "1e-3"); NaN and infinities are rejected.
double parse_real(std::string_view text, const FieldSite& site);
// "0"/"1" or "true"/"false" (case-sensitive).
bool parse_flag(std::string_view text, const FieldSite& site);

// Reads a whole file; throws DataError(file, 0, "", "cannot read ...") if it cannot.
std::string read_whole_file(const std::filesystem::path& path);

}  // namespace clearhouse::data
