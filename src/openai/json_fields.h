// Reading the fields of a client's JSON request body, shared by the request parsers (request.h,
// responses_request.h): each failure throws http::HttpError 400 whose `param` names the field, as
// OpenAI's own validation does.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "http/http.h"

namespace clearhouse::openai {

// Throws HttpError 400: "'<param>' <what>", with `param` set.
[[noreturn]] void reject_field(const std::string& param, const std::string& what);

// The member `key` of `object`; nullptr when absent or null (OpenAI treats null as absent).
[[nodiscard]] const nlohmann::json* json_field(const nlohmann::json& object, const char* key);

// An optional integer in [lo, hi] (512.0 counts as 512; 512.5 does not); rejects anything else
// with `param` (the key when empty).
[[nodiscard]] std::optional<std::int64_t> optional_int_field(const nlohmann::json& object,
                                                             const char* key, std::int64_t lo,
                                                             std::int64_t hi,
                                                             const std::string& param = {});

// An optional boolean (false when absent); rejects anything else with `param`.
[[nodiscard]] bool optional_bool_field(const nlohmann::json& object, const char* key,
                                       const std::string& param);

}  // namespace clearhouse::openai
