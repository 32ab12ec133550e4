#include "data/jsonl.h"

#include <cmath>

#include "data/data_error.h"

namespace clearhouse::data {
namespace {

const nlohmann::json& field(const nlohmann::json& object, std::string_view key,
                            const std::string& file, std::size_t line) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    throw DataError(file, line, std::string(key), "missing");
  }
  return *it;
}

}  // namespace

void for_each_jsonl_object(
    std::string_view text, const std::string& file,
    const std::function<void(const nlohmann::json&, std::size_t)>& on_object) {
  std::size_t line = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view row = text.substr(pos, end - pos);
    pos = end + 1;
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    if (row.find_first_not_of(" \t") == std::string_view::npos) continue;
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(row);
    } catch (const nlohmann::json::parse_error& e) {
      std::string what = e.what();
      // nlohmann prefixes "[json.exception.parse_error.101] "; keep the readable part.
      if (const auto cut = what.find("] "); cut != std::string::npos) what = what.substr(cut + 2);
      throw DataError(file, line, "", "invalid JSON: " + what);
    }
    if (!object.is_object()) throw DataError(file, line, "", "not a JSON object");
    on_object(object, line);
  }
}

std::string required_string(const nlohmann::json& object, std::string_view key,
                            const std::string& file, std::size_t line) {
  const nlohmann::json& value = field(object, key, file, line);
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  throw DataError(file, line, std::string(key), "not a string");
}

double required_number(const nlohmann::json& object, std::string_view key, const std::string& file,
                       std::size_t line) {
  const nlohmann::json& value = field(object, key, file, line);
  if (!value.is_number()) throw DataError(file, line, std::string(key), "not a number");
  const double x = value.get<double>();
  if (!std::isfinite(x)) throw DataError(file, line, std::string(key), "not finite");
  return x;
}

std::int64_t required_count(const nlohmann::json& object, std::string_view key,
                            const std::string& file, std::size_t line) {
  const nlohmann::json& value = field(object, key, file, line);
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
    throw DataError(file, line, std::string(key), "not a non-negative integer");
  }
  return value.get<std::int64_t>();
}

bool required_bool(const nlohmann::json& object, std::string_view key, const std::string& file,
                   std::size_t line) {
  const nlohmann::json& value = field(object, key, file, line);
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v == 0 || v == 1) return v == 1;
  }
  throw DataError(file, line, std::string(key), "not a boolean (true/false or 0/1)");
}

}  // namespace clearhouse::data
