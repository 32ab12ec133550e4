// File helpers shared by the subcommands: whole-file reads with clear errors, atomic writes (a plan
// is written to a temporary file beside the target and renamed, so a reader never sees half of it),
// and strict number parsing for option values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace clearhouse::cli {

// Reads a whole file, or standard input when path is "-" or empty. Throws UsageError naming the
// path.
[[nodiscard]] std::string read_text(const std::string& path);

// Splits text into lines (without the newline; a trailing "\r" is dropped).
[[nodiscard]] std::vector<std::string_view> split_lines(std::string_view text);

// Writes content to path atomically (temporary file + rename), or to stdout when path is "-" or
// empty. Throws UsageError naming the path on failure.
void write_text_atomic(const std::string& path, std::string_view content);

// "a, b,,c" -> {"a", "b", "c"}: items split at `separator`, spaces trimmed, empty items dropped.
[[nodiscard]] std::vector<std::string> split_list(std::string_view text, char separator = ',');

// "12000", "1.2e4" -> 12000. Throws UsageError("<what>: ...") unless a finite whole number > 0.
[[nodiscard]] std::int64_t parse_positive_tokens(std::string_view text, std::string_view what);

// Peak resident memory of this process in MiB (from /proc/self/status), 0 if unknown.
[[nodiscard]] double peak_rss_mib();

}  // namespace clearhouse::cli
