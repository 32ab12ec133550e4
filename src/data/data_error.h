// DataError: the one exception type the data loaders throw for bad input files.
//
// Every message names the file, the 1-based line (0 when the problem concerns the whole file) and
// the field, e.g. "data/zeroeval/runs.csv:17: field 'output_tokens': not a non-negative integer:
// '12x'". The CLI turns it into a UsageError (exit status 2); library callers can read the parts.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace clearhouse::data {

class DataError : public std::runtime_error {
 public:
  DataError(std::string file, std::size_t line, std::string field, const std::string& message);

  const std::string& file() const { return file_; }
  std::size_t line() const { return line_; }  // 1-based; 0 = the whole file
  const std::string& field() const { return field_; }

 private:
  std::string file_;
  std::size_t line_;
  std::string field_;
};

}  // namespace clearhouse::data
