#include "openai/json_fields.h"

#include <cmath>

namespace clearhouse::openai {

using nlohmann::json;

void reject_field(const std::string& param, const std::string& what) {
  throw http::HttpError(400, "'" + param + "' " + what, {}, param);
}

const json* json_field(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::int64_t> optional_int_field(const json& object, const char* key, std::int64_t lo,
                                               std::int64_t hi, const std::string& param) {
  const json* value = json_field(object, key);
  if (value == nullptr) return std::nullopt;
  // 512.0 is an integer to OpenAI's validator too; 512.5 is not.
  if (value->is_number_float()) {
    const double d = value->get<double>();
    // The range first: converting a double outside int64's range (1e300) is undefined behaviour.
    if (d >= static_cast<double>(lo) && d <= static_cast<double>(hi) && d == std::floor(d)) {
      return static_cast<std::int64_t>(d);
    }
  }
  if (value->is_number_unsigned() &&
      value->get<std::uint64_t>() <= static_cast<std::uint64_t>(hi) &&
      static_cast<std::int64_t>(value->get<std::uint64_t>()) >= lo) {
    return static_cast<std::int64_t>(value->get<std::uint64_t>());
  }
  if (value->is_number_integer() && !value->is_number_unsigned()) {
    const std::int64_t v = value->get<std::int64_t>();
    if (v >= lo && v <= hi) return v;
  }
  reject_field(param.empty() ? std::string(key) : param,
               "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

bool optional_bool_field(const json& object, const char* key, const std::string& param) {
  const json* value = json_field(object, key);
  if (value == nullptr) return false;
  if (!value->is_boolean()) reject_field(param, "must be a boolean");
  return value->get<bool>();
}

}  // namespace clearhouse::openai
