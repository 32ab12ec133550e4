#include "data/data_error.h"

#include <utility>

namespace clearhouse::data {
namespace {

std::string format_message(const std::string& file, std::size_t line, const std::string& field,
                           const std::string& message) {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!field.empty()) out += "field '" + field + "': ";
  out += message;
  return out;
}

}  // namespace

DataError::DataError(std::string file, std::size_t line, std::string field,
                     const std::string& message)
    : std::runtime_error(format_message(file, line, field, message)),
      file_(std::move(file)),
      line_(line),
      field_(std::move(field)) {}

}  // namespace clearhouse::data
