// JSON Lines helpers: split a text into lines, parse each as a JSON object, and read typed fields
// with errors (DataError) that name the file, the 1-based line and the field. Blank lines are
// skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace clearhouse::data {

// Calls `on_object(object, line)` for every non-blank line of `text`; throws DataError(file, line)
// if a line is not valid JSON or not an object. `file` names the source in errors.
void for_each_jsonl_object(
    std::string_view text, const std::string& file,
    const std::function<void(const nlohmann::json&, std::size_t)>& on_object);

// Typed field access. `required_*` throw DataError naming file, line and key when the key is
// missing or has the wrong type. A string field also accepts an integer (written in decimal), since
// ids such as qid appear both ways in public data.
std::string required_string(const nlohmann::json& object, std::string_view key,
                            const std::string& file, std::size_t line);
double required_number(const nlohmann::json& object, std::string_view key, const std::string& file,
                       std::size_t line);
std::int64_t required_count(const nlohmann::json& object, std::string_view key,
                            const std::string& file, std::size_t line);
bool required_bool(const nlohmann::json& object, std::string_view key, const std::string& file,
                   std::size_t line);

}  // namespace clearhouse::data
